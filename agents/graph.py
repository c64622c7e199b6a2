"""The season graph: wiring only. Routers are named, typed, unit-tested, and every loop is bounded.

    START -> plan_bible -> plan_acts -> plan_act_rows (act 1, 2, ... in order, each seeing the earlier acts'
          rows) -> assemble_arc (audit and repair) -> review_arc (interrupt with --review arc) -> gate
    gate -> draft_episode | finish
    draft_episode -> check_continuity + critique (in parallel) -> decide
    decide -> draft_episode (revise; bounded by max_revisions) | accept_episode -> gate

An accepted episode's shot list is planned beside the loop, not in a graph step (a step waits for all its
nodes, so a shot list there held up the next episode's reviews): accept_episode starts it as a task of the
run (`RunContext.beside`), the gate starts any an earlier run left undone, and finish waits for them all.
`plan_shots` stays as a node only for checkpoints written before (they may name it as the next step).

The act loop is bounded by the act count (each pass plans one act); the episode loop by the season's
episode count; the revision loop by max_revisions (decide accepts when the bound is reached).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from cliffhanger.agents import nodes
from cliffhanger.agents.state import RunContext, SeasonState

NODES = ("plan_bible", "plan_acts", "plan_act_rows", "assemble_arc", "review_arc", "gate", "draft_episode",
         "check_continuity", "critique", "decide", "accept_episode", "plan_shots", "finish")


def _bind(node: Callable[..., Awaitable[dict[str, Any]]], ctx: RunContext) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def bound(state: SeasonState, runtime: Runtime[Any]) -> dict[str, Any]:
        return await node(state, dataclasses.replace(runtime, context=ctx))

    bound.__name__ = node.__name__
    return bound


def route_start(state: SeasonState) -> str:
    if not state.get("planned"):
        return "plan_bible"
    if not state.get("arc_approved"):
        return "review_arc"
    return "gate"


def route_acts(state: SeasonState) -> str:
    """The next act's rows, in order, until every act is planned (bounded by act_count)."""
    return "plan_act_rows" if state.get("acts_planned", 0) < state.get("act_count", 0) else "assemble_arc"


def route_gate(state: SeasonState) -> str:
    return "finish" if state.get("stop") else "draft_episode"


def route_decision(state: SeasonState) -> str:
    return "draft_episode" if state.get("decision") == "revise" else "accept_episode"


def route_after_shots(state: SeasonState) -> str:
    return "gate" if state.get("stop") else END


def build_graph(checkpointer: Any = None, *, bound: RunContext | None = None, context_schema: type | None = None) -> Any:
    """The compiled season graph. The command line passes the run's `RunContext` as each run's context; the
    server's factory, whose runs carry a small JSON context (`SeasonRequest`), binds the nodes to the
    `RunContext` it opened (`bound`). Same nodes and edges either way."""
    g = StateGraph(SeasonState, context_schema=context_schema or RunContext)
    for name in NODES:
        node = getattr(nodes, name)
        g.add_node(name, node if bound is None else _bind(node, bound))
    g.add_conditional_edges(START, route_start, ["plan_bible", "review_arc", "gate"])
    g.add_edge("plan_bible", "plan_acts")
    g.add_conditional_edges("plan_acts", route_acts, ["plan_act_rows", "assemble_arc"])
    g.add_conditional_edges("plan_act_rows", route_acts, ["plan_act_rows", "assemble_arc"])
    g.add_edge("assemble_arc", "review_arc")
    g.add_edge("review_arc", "gate")
    g.add_conditional_edges("gate", route_gate, ["draft_episode", "finish"])
    g.add_edge("draft_episode", "check_continuity")
    g.add_edge("draft_episode", "critique")
    g.add_edge(["check_continuity", "critique"], "decide")
    g.add_conditional_edges("decide", route_decision, ["draft_episode", "accept_episode"])
    g.add_edge("accept_episode", "gate")
    g.add_conditional_edges("plan_shots", route_after_shots, ["gate", END])
    g.add_edge("finish", END)
    return g.compile(checkpointer=checkpointer)
