"""Graph nodes: small typed functions that read and write the season folder and return only the
state keys they change. Every node is idempotent: run again after a crash, it finds its artifact on
disk and skips the model call, or rewrites the same files atomically.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from cliffhanger.agents.errors import StopRequested
from cliffhanger.agents.roles import critic, showrunner, writer
from cliffhanger.agents.roles import shot_planner as shots
from cliffhanger.agents.roles.continuity import extract_facts, review_continuity, screen_facts, seed_canon
from cliffhanger.agents.roles.review_context import score_floors
from cliffhanger.agents.season import arc_check, arc_repair
from cliffhanger.agents.season.artifacts import (
    ArcRow,
    ContinuityReport,
    Critique,
    EpisodeScript,
    Review,
    RevisionReview,
)
from cliffhanger.agents.season.report import write_report
from cliffhanger.agents.season.screenplay import fountain
from cliffhanger.agents.season.store import SeasonError
from cliffhanger.agents.state import RunContext, SeasonState
from cliffhanger.memory.context import build_context
from cliffhanger.memory.ledger import Doc

Ctx = Runtime[RunContext]
V = TypeVar("V")


async def off(work: Callable[..., V], *args: Any, **kwargs: Any) -> V:
    """Season-folder, canon and lore work in a worker thread: the event loop is shared with the run's other
    calls, the other seasons of the process, and on a server other runs (its blocking-call detector stays on)."""
    return await asyncio.to_thread(work, *args, **kwargs)


def _check_stop(ctx: RunContext) -> None:
    if ctx.stop_requested.is_set():
        raise StopRequested()


def _on_disk(value: V | None, what: str) -> V:
    """An artifact an earlier node wrote; a clear error when it is gone (deleted by hand mid-run)."""
    if value is None:
        raise SeasonError(f"{what} is missing from the season folder: run again to redo it")
    return value


# ---- planning ----------------------------------------------------------------------------------

async def plan_bible(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    _check_stop(ctx)
    bible = await off(ctx.store.bible)
    if bible is None:
        ctx.emit("step", None, "showrunner: bible")
        bible, ref = await showrunner.plan_bible(ctx.model("showrunner"), ctx.spec, ctx.pack)
        await off(ctx.store.write_bible, bible, {"prompt": ref})
    await off(_seed, ctx, bible)
    return {}


def _seed(ctx: RunContext, bible: Any) -> None:
    ctx.store.ensure_bible_markdown()  # when a kill fell between bible.json and bible.md
    seed_canon(ctx.ledger, bible)
    if ctx.index is not None:
        ctx.index.sync_episode(ctx.ledger, 0)


async def plan_acts(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    _check_stop(ctx)
    outline = await off(ctx.store.act_plan, showrunner.SeasonOutline)
    if outline is None:
        ctx.emit("step", None, "showrunner: act plan")
        outline, ref = await showrunner.plan_acts(ctx.model("showrunner"), ctx.spec, ctx.pack, await off(ctx.store.bible))
        await off(ctx.store.write_act_plan, outline, {"prompt": ref})
    return {"act_count": len(outline.acts), "acts_planned": 0}


def _planned_rows(ctx: RunContext, acts: int) -> list[ArcRow]:
    """The rows of acts 1..acts as on disk, an imported episode's own row in place of its planned one."""
    rows: list[ArcRow] = []
    for act in range(1, acts + 1):
        rows += list(_on_disk(ctx.store.act_rows(act, showrunner.ActRows), f"plan/act_{act}.json").rows)
    imported = ctx.store.imported_plan()
    if imported is not None:  # episodes imported from an existing script keep their own rows
        kept = {r.episode: r for r in imported.rows}
        rows = [kept.get(r.episode, r) for r in rows]
    return rows


async def plan_act_rows(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    """The next act's rows, planned with every earlier act's rows (from disk) in view; the graph loops here
    once per act, in order. An act already on disk is not asked again, so a killed run resumes at the
    first act not on disk."""
    ctx = runtime.context
    _check_stop(ctx)
    act = state.get("acts_planned", 0) + 1
    if not await off(ctx.store.has_act_rows, act):
        ctx.emit("step", None, f"showrunner: arc rows, act {act}")
        outline, bible, earlier = await off(lambda: (
            _on_disk(ctx.store.act_plan(showrunner.SeasonOutline), "plan/acts.json"), ctx.store.bible(),
            _planned_rows(ctx, act - 1)))
        rows, ref = await showrunner.plan_act_rows(ctx.model("showrunner"), ctx.spec, ctx.pack, bible, outline, act,
                                                   earlier)
        await off(ctx.store.write_act_rows, act, showrunner.ActRows(rows=rows), {"prompt": ref})
    return {"acts_planned": act}


async def assemble_arc(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    """The arc from the acts' rows, audited by the arc rules and repaired where a rule can repair; what
    remains is kept in arc.json's _meta as notes for the showrunner and reported as a notice."""
    ctx = runtime.context
    findings = await off(_assemble, ctx, state.get("act_count", 0))
    _notice_findings(ctx, "arc audit after repair", findings)
    return {"planned": True}


def _assemble(ctx: RunContext, acts: int) -> tuple[arc_check.ArcFinding, ...]:
    if ctx.store.arc() is not None:
        return ()
    bible = ctx.store.bible()
    arc = showrunner.assemble_arc(ctx.spec, ctx.pack, _planned_rows(ctx, acts))
    arc, audit = arc_repair.repair_arc(arc, bible, ctx.spec, ctx.pack)
    arc.validate_against(ctx.spec, bible)
    notes = [f.model_dump(mode="json") for f in audit.findings]
    ctx.store.write_arc(arc, {"audit": notes, "skipped": list(audit.skipped)})
    return audit.findings


def _notice_findings(ctx: RunContext, what: str, findings: tuple[arc_check.ArcFinding, ...]) -> None:
    if findings:
        shown = "; ".join(f"{f.rule} (episodes {', '.join(map(str, f.episodes))}): {f.message}" for f in findings[:5])
        more = f"; and {len(findings) - 5} more" if len(findings) > 5 else ""
        ctx.emit("notice", None, f"{what}: {len(findings)} finding(s) for the showrunner: {shown}{more}")


async def review_arc(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    """With --review arc: pause for a human (LangGraph interrupt); resuming approves the arc on disk."""
    ctx = runtime.context
    if ctx.settings.review_arc and not state.get("arc_approved"):
        ctx.end.stop = "arc_review"  # what the run's teardown reports if the run pauses here
        interrupt({"review": "arc", "path": str(ctx.store.arc_path)})
    _notice_findings(ctx, "arc audit of the reviewed arc", await off(_recheck_arc, ctx))
    return {"arc_approved": True}


def _recheck_arc(ctx: RunContext) -> tuple[arc_check.ArcFinding, ...]:
    """What the arc rules find in the arc as on disk (re-read: the writer may have edited it while the run
    was paused) when it is not what the assembly already reported; it never blocks the run (the edited arc
    is the writer's call)."""
    arc = ctx.store.arc()
    if arc is None:
        return ()
    bible = ctx.store.bible()
    arc.validate_against(ctx.spec, bible)
    findings = arc_check.check_arc(arc, bible, ctx.spec, ctx.pack).findings
    if [f.model_dump(mode="json") for f in findings] == ctx.store.meta(ctx.store.arc_path).get("audit"):
        return ()
    return findings


# ---- the episode loop -----------------------------------------------------------------------------

async def gate(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    """Choose the next episode, or why to stop; start the shot list of every accepted episode that lacks one
    (on resume; in a run, accept_episode starts its own) beside the episode loop."""
    ctx = runtime.context
    ctx.beside.raise_failure()  # a shot list that failed fails the run at this step, as its node once did
    # The season folder is the record: an episode reopened for a redraft (see SeasonStore.reopen_episode)
    # is no longer accepted, whatever the checkpoint remembers.
    accepted, done_shots = await off(lambda: (
        set(acc := ctx.store.accepted_episodes()), {e for e in acc if ctx.store.shots(e) is not None}))
    nxt = next((e for e in range(1, ctx.spec.episodes + 1) if e not in accepted), None)
    stop = ""
    if ctx.stop_requested.is_set():
        stop = "interrupted"
    elif nxt is None:
        stop = "done"
    elif ctx.settings.until is not None and nxt > ctx.settings.until:
        stop = "until"
    if stop != "interrupted":
        start_shots(ctx, sorted(accepted - done_shots))
    update: dict[str, Any] = {"stop": stop, "accepted": sorted(accepted), "shots_done": sorted(done_shots)}
    if not stop and (nxt != state.get("episode") or state.get("decision") == "accept"):
        update |= {"episode": nxt, "revision": 0, "decision": ""}
    return update


def _row(ctx: RunContext, episode: int) -> ArcRow:
    return ctx.store.arc().row(episode)


def _previous_ending(ctx: RunContext, episode: int) -> str:
    prev = ctx.store.script(episode - 1) if episode > 1 else None
    return prev.ending_hook if prev else ""


def _canon(ctx: RunContext, episode: int, row: ArcRow) -> str:
    if not ctx.settings.canon_memory:
        return ""
    bible = ctx.store.bible()
    cast = [c.id for c in bible.characters] if bible else []
    plan = f"{row.logline} {' '.join(row.beats)} {row.cliffhanger.hook_line}"
    return build_context(ctx.ledger, ctx.index, episode=episode, cast=cast[:8], plan=plan, secrets=list(row.revealed),
                         budget=ctx.settings.canon_budget, language=ctx.spec.language).text()


def _writer_context(ctx: RunContext, episode: int) -> writer.WriterContext:
    """The season around an episode as the folder holds it; wardrobe from canon only with canon memory on."""
    arc = ctx.store.arc()
    rows = len(arc.rows)
    return writer.WriterContext(
        previous=ctx.store.script(episode - 1) if episode > 1 else None,
        recent_rows=tuple(arc.row(e) for e in range(max(1, episode - 3), min(episode, rows + 1))),
        next_row=arc.row(episode + 1) if episode < rows else None,
        state=ctx.ledger.state_as_of(episode - 1) if ctx.settings.canon_memory else None,
    )


async def draft_episode(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    _check_stop(ctx)
    ep, rev = state["episode"], state.get("revision", 0)
    if await off(ctx.store.has_revision, ep, rev):
        return {}
    if ctx.index is not None:  # the last accepted episode's lore is written in a thread: shots' call goes meanwhile
        await ctx.index.settled()
    first, job = await off(_writer_job, ctx, ep, rev)
    if first:
        ctx.emit("step", ep, "writer: draft")
        script, ref = await writer.draft_episode(ctx.model("writer"), **job)
    else:
        ctx.emit("step", ep, f"writer: revision {rev}")
        script, ref = await writer.revise_episode(ctx.model("writer"), **job)
    await off(ctx.store.write_revision, ep, rev, "draft", script, {"prompt": ref, "revision": rev})
    return {}


def _writer_job(ctx: RunContext, ep: int, rev: int) -> tuple[bool, dict[str, Any]]:
    """(a first draft?, the writer's arguments), from the season folder and canon."""
    row = _row(ctx, ep)
    canon = _canon(ctx, ep, row)
    brief = ctx.store.brief(ep)  # the head writer's note for this episode (a redraft asked for in chat)
    base = ctx.store.brief_base(ep) if brief else None
    common = {"spec": ctx.spec, "pack": ctx.pack, "bible": ctx.store.bible(), "row": row, "canon": canon}
    if rev == 0 and base is None:
        return True, {**common, "previous_ending": _previous_ending(ctx, ep), "writer_notes": brief.note if brief else "",
                      "context": _writer_context(ctx, ep)}
    before = base if rev == 0 else _draft(ctx, ep, rev - 1)
    notes = [brief.note] if brief else []
    return False, {**common, "draft": before, "notes": [*notes, *(relayed_notes(ctx, ep, rev - 1) if rev else [])]}


def _draft(ctx: RunContext, ep: int, rev: int) -> EpisodeScript:
    return _on_disk(ctx.store.revision(ep, rev, "draft", EpisodeScript), f"episode {ep}'s draft r{rev:02d}")


async def check_continuity(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    _check_stop(ctx)
    ep, rev = state["episode"], state.get("revision", 0)
    if await off(ctx.store.has_revision, ep, rev, "continuity"):
        return {}
    ctx.emit("step", ep, "continuity check")
    script, row, planned = await off(lambda: (_draft(ctx, ep, rev), r := _row(ctx, ep), planned_changes(ctx, r)))
    facts, dropped = await extract_facts(ctx.model("continuity"), ctx.ledger, script, planned=planned)
    await off(ctx.store.write_facts, ep, rev, facts)
    dropped_findings: list[str] = []
    if ctx.settings.canon_memory:
        report = await review_continuity(ctx.model("continuity"), ctx.ledger, ctx.index, script, facts,
                                         planned=[f"secret {r.secret} is revealed" + (f" to {r.to}" if r.to else "")
                                                  for r in row.reveals],
                                         budget=ctx.settings.canon_budget, dropped=dropped_findings)
    else:  # no memory to check against: facts are still recorded, so evals can measure what slipped
        report = ContinuityReport(findings=())
    # What the model said that could not be kept is noted here and in review.json, never raised.
    await off(ctx.store.write_revision, ep, rev, "continuity", report,
              {"dropped_facts": dropped, "dropped_findings": dropped_findings})
    return {}


def planned_changes(ctx: RunContext, row: ArcRow) -> list[tuple[str, str]]:
    """(subject, attribute) pairs the arc plans to change in this episode: a reveal episode may flip
    identities and statuses (the faked death, the true heir) without that being a continuity error."""
    if not row.reveals:
        return []
    bible = ctx.store.bible()
    people = [c.id for c in bible.characters] if bible else []
    return [(c, attr) for c in people for attr in ("identity", "status", "true_identity", "parentage")]


async def critique(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    _check_stop(ctx)
    ep, rev = state["episode"], state.get("revision", 0)
    if not ctx.settings.critic or await off(ctx.store.has_revision, ep, rev, "critique"):
        return {}
    ctx.emit("step", ep, "critic")
    job = await off(lambda: {"row": _row(ctx, ep), "script": _draft(ctx, ep, rev),
                             "previous_cliffhanger": _previous_ending(ctx, ep), "bible": ctx.store.bible(),
                             "previous": ctx.store.script(ep - 1) if ep > 1 else None})
    review, ref = await critic.critique(ctx.model("critic"), spec=ctx.spec, pack=ctx.pack, **job)
    await off(ctx.store.write_revision, ep, rev, "critique", review, {"prompt": ref})
    return {}


def _reviews(ctx: RunContext, ep: int, rev: int) -> tuple[EpisodeScript, Critique | None, ContinuityReport]:
    """The draft and its reviews; the critique is None when the run has no critic."""
    s = ctx.store
    return (_draft(ctx, ep, rev),
            s.revision(ep, rev, "critique", Critique) if ctx.settings.critic else None,
            _on_disk(s.revision(ep, rev, "continuity", ContinuityReport), f"episode {ep}'s continuity r{rev:02d}"))


def _overall(ctx: RunContext, review: Critique | None) -> float | None:
    return review.overall(ctx.pack.rubric_weights) if review is not None else None


def _rule_reasons(ctx: RunContext, ep: int, rev: int) -> list[str]:
    script, review, report = _reviews(ctx, ep, rev)
    return showrunner.decision_rules(review, report, script.estimate_runtime_s(ctx.spec.language),
                                     ctx.spec.runtime_s, ctx.pack, ctx.settings.accept_threshold,
                                     script=script, language=ctx.spec.language,
                                     floors=score_floors(ctx.spec, _row(ctx, ep)))


def relayed_notes(ctx: RunContext, ep: int, rev: int) -> list[str]:
    """The notes revision `rev`'s decision sends to the writer, read back from the season folder (the graph
    state holds no text): the rules' reasons always; of the critic's must-fix items only those the showrunner
    kept in its notes (a decision from before `dropped` relays them all, as it did then)."""
    made = ctx.store.revision(ep, rev, "decision", showrunner.Decision)
    if made is None:
        return []
    review = ctx.store.revision(ep, rev, "critique", Critique)
    reasons = _rule_reasons(ctx, ep, rev)
    relayed = list(review.must_fix) if review is not None and made.dropped is None else []
    notes = list(dict.fromkeys([*reasons, *made.notes, *relayed]))
    return notes[:max(10, len(reasons))]


async def decide(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    """Accept, or send back with notes; rules first, so a model cannot wave a continuity error through."""
    ctx = runtime.context
    ep, rev = state["episode"], state.get("revision", 0)
    if rev >= ctx.settings.max_revisions:
        return {"decision": "accept"}
    made = await off(ctx.store.revision, ep, rev, "decision", showrunner.Decision)
    if made is None:
        (script, review, report), reasons, row = await off(lambda: (_reviews(ctx, ep, rev), _rule_reasons(ctx, ep, rev),
                                                                   _row(ctx, ep)))
        ctx.emit("step", ep, "showrunner: decision")
        made, ref = await showrunner.decide(ctx.model("showrunner"), episode=ep, revision=rev,
                                            max_revisions=ctx.settings.max_revisions, row=row, critique=review,
                                            continuity=report, reasons=reasons, script=script)
        if reasons and made.decision == "accept":
            made = made.model_copy(update={"decision": "revise", "notes": [*reasons, *made.notes][:8]})
        await off(ctx.store.write_revision, ep, rev, "decision", made, {"prompt": ref, "rule_reasons": reasons})
    if made.decision == "accept":
        return {"decision": "accept"}
    return {"decision": "revise", "revision": rev + 1}


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def best_revision(ctx: RunContext, ep: int, last: int) -> int:
    """The revision to keep: fewest continuity errors, then the highest weighted critic score, then the latest."""
    def key(rev: int) -> tuple[int, float, int]:
        _, review, report = _reviews(ctx, ep, rev)
        return (-len(report.errors()), _overall(ctx, review) or 0.0, rev)

    return max(range(last + 1), key=key)


async def accept_episode(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    ep = state["episode"]
    ctx.emit("step", ep, "accept")
    score = await off(_accept, ctx, ep, state.get("revision", 0))
    ctx.emit("accepted", ep, f"overall {score:.1f}" if score is not None else "no critic")
    start_shots(ctx, [ep])
    return {"accepted": [ep]}


def _accept(ctx: RunContext, ep: int, last: int) -> float | None:
    """The best revision made the episode: review.json, canon, lore, then the script (its presence marks the
    episode accepted on disk); the critic's overall score of it."""
    rev = best_revision(ctx, ep, last)
    script, review, report = _reviews(ctx, ep, rev)
    facts = _on_disk(ctx.store.facts(ep, rev), f"episode {ep}'s facts r{rev:02d}")
    facts, unfit = screen_facts(ctx.ledger, facts)  # only facts written before extraction checked subjects
    history = []
    for r in range(last + 1):
        _, rv, rp = _reviews(ctx, ep, r)
        score = _overall(ctx, rv)
        meta = ctx.store.revision_meta(ep, r, "continuity")
        notes = [*_strings(meta.get("dropped_facts")), *_strings(meta.get("dropped_findings")),
                 *(unfit if r == rev else [])]
        history.append(RevisionReview(revision=r, critique=rv, continuity=rp,
                                      overall=round(score, 2) if score is not None else None, dropped=notes))
    ctx.store.write_review(ep, Review(accepted_revision=rev, revisions=history, open_findings=report.findings))
    ctx.ledger.record_episode(ep, facts, source=f"episode {ep} r{rev}")
    ctx.ledger.put_doc(Doc(f"ending_{ep}", "ending", script.ending_hook, ep))
    ctx.ledger.put_doc(Doc(f"summary_{ep}", "summary", f"Episode {ep}: {_row(ctx, ep).logline}", ep))
    if ctx.index is not None:
        ctx.index.sync_episode(ctx.ledger, ep)
    # script.fountain, then script.json: its presence is what marks the episode accepted on disk.
    ctx.store.write_script(ep, script, fountain(script, ctx.store.bible(), ctx.spec.title),
                           {**ctx.store.revision_meta(ep, rev), "revision": rev})
    return _overall(ctx, review)


def start_shots(ctx: RunContext, episodes: list[int]) -> None:
    """Plan each episode's shot list beside the episode loop (`RunContext.beside`); the graph's next steps do
    not wait for it, the run's end does."""
    for ep in episodes:
        ctx.beside.start(ep, lambda ep=ep: _plan_shots(ctx, ep))


async def _plan_shots(ctx: RunContext, ep: int) -> None:
    _check_stop(ctx)
    job = await off(_shots_job, ctx, ep)
    if job is None:
        return
    ctx.emit("step", ep, "shots")
    notes: list[str] = []
    shot_list, ref = await shots.plan_shots(ctx.model("shots"), spec=ctx.spec, pack=ctx.pack, target=ctx.settings.target,
                                            notes=notes, **job)
    await off(ctx.store.write_shots, ep, shot_list, {"prompt": ref, "notes": notes})


def _shots_job(ctx: RunContext, ep: int) -> dict[str, Any] | None:
    if ctx.store.shots(ep) is not None:
        return None
    return {"script": ctx.store.script(ep), "bible": shots.bible_as_of(ctx.store.bible(), ctx.ledger.state_as_of(ep)),
            "row": _row(ctx, ep)}


async def plan_shots(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    """Reached only from a checkpoint written before shot lists ran beside the loop (it named this node as
    the next step): starts the shot lists still to plan, as the gate does."""
    ctx = runtime.context
    _check_stop(ctx)
    start_shots(ctx, await off(lambda: [e for e in ctx.store.accepted_episodes() if ctx.store.shots(e) is None]))
    return {}


async def finish(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    await ctx.beside.drain()  # the shot lists still being planned are part of this run
    ctx.end.stop = state.get("stop") or "done"
    await off(_report, ctx)
    return {}


def _report(ctx: RunContext) -> None:
    from cliffhanger.agents.llm.crew import Crew

    Crew.of(ctx.models).flush_usage()  # the report counts what usage.jsonl holds
    write_report(ctx, ctx.end.stop)
