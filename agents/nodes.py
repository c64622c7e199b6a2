"""Graph nodes: small typed functions that read and write the season folder and return only the
state keys they change. Every node is idempotent: run again after a crash, it finds its artifact on
disk and skips the model call, or rewrites the same files atomically.
"""

from __future__ import annotations

import json
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from cliffhanger.agents.roles import critic, showrunner, writer
from cliffhanger.agents.roles.continuity import extract_facts, review_continuity, screen_facts, seed_canon
from cliffhanger.agents.season.artifacts import ArcRow, ContinuityReport, Critique, EpisodeScript
from cliffhanger.agents.season.screenplay import bible_markdown, fountain
from cliffhanger.agents.season.store import atomic_write
from cliffhanger.agents.state import RunContext, SeasonState
from cliffhanger.memory.context import build_context
from cliffhanger.memory.facts import Fact
from cliffhanger.memory.ledger import Doc

Ctx = Runtime[RunContext]


def _check_stop(ctx: RunContext) -> None:
    if ctx.stop_requested.is_set():
        raise StopRequested()


class StopRequested(Exception):  # noqa: N818 - a signal, not an error
    """Ctrl-C or SIGTERM: the run stops at this step boundary and resumes from the last checkpoint."""


# ---- planning ----------------------------------------------------------------------------------

async def plan_bible(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    _check_stop(ctx)
    bible = ctx.store.bible()
    if bible is None:
        ctx.emit("step", None, "showrunner: bible")
        bible, ref = await showrunner.plan_bible(ctx.model("showrunner"), ctx.spec, ctx.pack)
        ctx.store.write_model(ctx.store.root / "bible.json", bible, {"prompt": ref})
    if not (ctx.store.root / "bible.md").exists():  # also when a kill fell between the two writes
        ctx.store.write_text("bible.md", bible_markdown(bible, ctx.spec.title))
    seed_canon(ctx.ledger, bible)
    if ctx.index is not None:
        ctx.index.sync_episode(ctx.ledger, 0)
    return {}


async def plan_acts(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    _check_stop(ctx)
    path = ctx.store.root / "plan" / "acts.json"
    if not path.exists():
        ctx.emit("step", None, "showrunner: act plan")
        outline, ref = await showrunner.plan_acts(ctx.model("showrunner"), ctx.spec, ctx.pack, ctx.store.bible())
        ctx.store.write_model(path, outline, {"prompt": ref})
    outline = ctx.store.read_model(path, showrunner.SeasonOutline)
    return {"act_count": len(outline.acts)}


async def plan_act_rows(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    """One act's rows (runs once per act, in parallel). Previous-act context comes from disk when ready."""
    ctx = runtime.context
    _check_stop(ctx)
    act = state["act"]
    path = ctx.store.root / "plan" / f"act_{act}.json"
    if not path.exists():
        ctx.emit("step", None, f"showrunner: arc rows, act {act}")
        outline = ctx.store.read_model(ctx.store.root / "plan" / "acts.json", showrunner.SeasonOutline)
        rows, ref = await showrunner.plan_act_rows(ctx.model("showrunner"), ctx.spec, ctx.pack, ctx.store.bible(),
                                                   outline, act, [])
        ctx.store.write_model(path, showrunner.ActRows(rows=rows), {"prompt": ref})
    return {}


async def assemble_arc(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    if ctx.store.arc() is None:
        rows: list[ArcRow] = []
        for act in range(1, state.get("act_count", 0) + 1):
            rows += list(ctx.store.read_model(ctx.store.root / "plan" / f"act_{act}.json", showrunner.ActRows).rows)
        imported = ctx.store.root / "plan" / "imported.json"
        if imported.exists():  # episodes imported from an existing script keep their own rows
            data = json.loads(imported.read_text(encoding="utf-8"))
            kept = {r.episode: r for r in (ArcRow.model_validate(row) for row in data.get("rows", []))}
            rows = [kept.get(r.episode, r) for r in rows]
        arc = showrunner.assemble_arc(ctx.spec, ctx.pack, rows)
        arc.validate_against(ctx.spec, ctx.store.bible())
        ctx.store.write_model(ctx.store.root / "arc.json", arc)
    return {"planned": True}


async def review_arc(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    """With --review arc: pause for a human (LangGraph interrupt); resuming approves the arc on disk."""
    ctx = runtime.context
    if ctx.settings.review_arc and not state.get("arc_approved"):
        interrupt({"review": "arc", "path": str(ctx.store.root / "arc.json")})
    arc = ctx.store.arc()  # re-read: the writer may have edited it while the run was paused
    if arc is not None:
        arc.validate_against(ctx.spec, ctx.store.bible())
    return {"arc_approved": True}


# ---- the episode loop -----------------------------------------------------------------------------

async def gate(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    """Choose the next episode, or why to stop; and which accepted episode still needs its shot list."""
    ctx = runtime.context
    # The season folder is the record: an episode reopened for a redraft (see SeasonStore.reopen_episode)
    # is no longer accepted, whatever the checkpoint remembers.
    accepted = set(ctx.store.accepted_episodes())
    done_shots = {e for e in accepted if ctx.store.shots(e) is not None}
    pending = min(accepted - done_shots, default=0)
    nxt = next((e for e in range(1, ctx.spec.episodes + 1) if e not in accepted), None)
    stop = ""
    if ctx.stop_requested.is_set():
        stop = "interrupted"
    elif nxt is None:
        stop = "done"
    elif ctx.settings.until is not None and nxt > ctx.settings.until:
        stop = "until"
    update: dict[str, Any] = {"stop": stop, "shots_pending": pending, "accepted": sorted(accepted),
                              "shots_done": sorted(done_shots)}
    if not stop and (nxt != state.get("episode") or state.get("decision") == "accept"):
        update |= {"episode": nxt, "revision": 0, "notes": [], "decision": ""}
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
    return build_context(ctx.ledger, ctx.index, episode=episode, cast=cast[:8], plan=plan, secrets=row.reveals,
                         budget=ctx.settings.canon_budget).text()


async def draft_episode(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    _check_stop(ctx)
    ep, rev = state["episode"], state.get("revision", 0)
    path = ctx.store.revision_path(ep, rev)
    if path.exists():
        return {}
    row = _row(ctx, ep)
    canon = _canon(ctx, ep, row)
    brief = ctx.store.brief(ep)  # the head writer's note for this episode (a redraft asked for in chat)
    base = ctx.store.brief_base(ep) if brief else None
    if rev == 0 and base is None:
        ctx.emit("step", ep, "writer: draft")
        script, ref = await writer.draft_episode(ctx.model("writer"), spec=ctx.spec, pack=ctx.pack,
                                                 bible=ctx.store.bible(), row=row, canon=canon,
                                                 previous_ending=_previous_ending(ctx, ep),
                                                 writer_notes=brief.note if brief else "")
    else:
        ctx.emit("step", ep, f"writer: revision {rev}")
        before = base if rev == 0 else ctx.store.read_model(ctx.store.revision_path(ep, rev - 1), EpisodeScript)
        notes = [brief.note] if brief else []
        script, ref = await writer.revise_episode(ctx.model("writer"), spec=ctx.spec, pack=ctx.pack, row=row,
                                                  canon=canon, draft=before,
                                                  notes=[*notes, *state.get("notes", [])])
    ctx.store.write_model(path, script, {"prompt": ref, "revision": rev})
    return {}


async def check_continuity(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    _check_stop(ctx)
    ep, rev = state["episode"], state.get("revision", 0)
    path = ctx.store.revision_path(ep, rev, "continuity")
    if not path.exists():
        ctx.emit("step", ep, "continuity check")
        script = ctx.store.read_model(ctx.store.revision_path(ep, rev), EpisodeScript)
        row = _row(ctx, ep)
        facts, dropped = await extract_facts(ctx.model("continuity"), ctx.ledger, script,
                                             planned=planned_changes(ctx, row))
        ctx.store.write_text(str(ctx.store.revision_path(ep, rev, "facts").relative_to(ctx.store.root)),
                             "".join(f.model_dump_json() + "\n" for f in facts))
        dropped_findings: list[str] = []
        if ctx.settings.canon_memory:
            report = await review_continuity(ctx.model("continuity"), ctx.ledger, ctx.index, script, facts,
                                             planned=[f"secret {r} is revealed" for r in row.reveals],
                                             budget=ctx.settings.canon_budget, dropped=dropped_findings)
        else:  # no memory to check against: facts are still recorded, so evals can measure what slipped
            report = ContinuityReport(findings=())
        # What the model said that could not be kept is noted here and in review.json, never raised.
        ctx.store.write_model(path, report, {"dropped_facts": dropped, "dropped_findings": dropped_findings})
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
    path = ctx.store.revision_path(ep, rev, "critique")
    if not ctx.settings.critic:
        return {}
    if not path.exists():
        ctx.emit("step", ep, "critic")
        script = ctx.store.read_model(ctx.store.revision_path(ep, rev), EpisodeScript)
        review, ref = await critic.critique(ctx.model("critic"), spec=ctx.spec, pack=ctx.pack, row=_row(ctx, ep),
                                            script=script, previous_cliffhanger=_previous_ending(ctx, ep))
        ctx.store.write_model(path, review, {"prompt": ref})
    return {}


def _reviews(ctx: RunContext, ep: int, rev: int) -> tuple[EpisodeScript, Critique | None, ContinuityReport]:
    """The draft and its reviews; the critique is None when the run has no critic."""
    s = ctx.store
    critique_path = s.revision_path(ep, rev, "critique")
    return (s.read_model(s.revision_path(ep, rev), EpisodeScript),
            s.read_model(critique_path, Critique) if ctx.settings.critic and critique_path.exists() else None,
            s.read_model(s.revision_path(ep, rev, "continuity"), ContinuityReport))


def _overall(ctx: RunContext, review: Critique | None) -> float | None:
    return review.overall(ctx.pack.rubric_weights) if review is not None else None


async def decide(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    """Accept, or send back with notes; rules first, so a model cannot wave a continuity error through."""
    ctx = runtime.context
    ep, rev = state["episode"], state.get("revision", 0)
    script, review, report = _reviews(ctx, ep, rev)
    reasons = showrunner.decision_rules(review, report, script.estimate_runtime_s(ctx.spec.language),
                                        ctx.spec.runtime_s, ctx.pack, ctx.settings.accept_threshold)
    if rev >= ctx.settings.max_revisions:
        return {"decision": "accept"}
    path = ctx.store.revision_path(ep, rev, "decision")
    if path.exists():
        made = ctx.store.read_model(path, showrunner.Decision)
    else:
        ctx.emit("step", ep, "showrunner: decision")
        made, ref = await showrunner.decide(ctx.model("showrunner"), episode=ep, revision=rev,
                                            max_revisions=ctx.settings.max_revisions, row=_row(ctx, ep), critique=review,
                                            continuity=report, reasons=reasons)
        if reasons and made.decision == "accept":
            made = showrunner.Decision(decision="revise", notes=[*reasons, *made.notes][:8])
        ctx.store.write_model(path, made, {"prompt": ref, "rule_reasons": reasons})
    if made.decision == "accept":
        return {"decision": "accept"}
    notes = [*(list(review.must_fix) if review else []), *made.notes, *reasons][:10]
    return {"decision": "revise", "revision": rev + 1, "notes": notes}


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
    ep, last = state["episode"], state.get("revision", 0)
    ctx.emit("step", ep, "accept")
    rev = best_revision(ctx, ep, last)
    script, review, report = _reviews(ctx, ep, rev)
    folder = ctx.store.episode_dir(ep)
    facts_path = ctx.store.revision_path(ep, rev, "facts")
    facts = [Fact.model_validate_json(line) for line in facts_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    facts, unfit = screen_facts(ctx.ledger, facts)  # only facts written before extraction checked subjects
    history = []
    for r in range(last + 1):
        _, rv, rp = _reviews(ctx, ep, r)
        score = _overall(ctx, rv)
        meta = ctx.store.meta(ctx.store.revision_path(ep, r, "continuity"))
        notes = [*_strings(meta.get("dropped_facts")), *_strings(meta.get("dropped_findings")),
                 *(unfit if r == rev else [])]
        history.append({"revision": r, "critique": rv.model_dump(mode="json") if rv else None,
                        "continuity": rp.model_dump(mode="json"),
                        "overall": round(score, 2) if score is not None else None, "dropped": notes})
    atomic_write(folder / "review.json", json.dumps({"accepted_revision": rev, "revisions": history,
                                                     "open_findings": [f.model_dump(mode="json") for f in report.findings]},
                                                    ensure_ascii=False, indent=2) + "\n")
    ctx.ledger.record_episode(ep, facts, source=f"episode {ep} r{rev}")
    ctx.ledger.put_doc(Doc(f"ending_{ep}", "ending", script.ending_hook, ep))
    ctx.ledger.put_doc(Doc(f"summary_{ep}", "summary", f"Episode {ep}: {_row(ctx, ep).logline}", ep))
    if ctx.index is not None:
        ctx.index.sync_episode(ctx.ledger, ep)
    ctx.store.write_text(str((folder / "script.fountain").relative_to(ctx.store.root)),
                         fountain(script, ctx.store.bible(), ctx.spec.title))
    # script.json last: its presence is what marks the episode accepted on disk.
    ctx.store.write_model(folder / "script.json", script, {**ctx.store.meta(ctx.store.revision_path(ep, rev)),
                                                           "revision": rev})
    score = _overall(ctx, review)
    ctx.emit("accepted", ep, f"overall {score:.1f}" if score is not None else "no critic")
    return {"accepted": [ep]}


async def plan_shots(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    ctx = runtime.context
    _check_stop(ctx)
    ep = state.get("shots_pending", 0)
    if not ep or ctx.store.shots(ep) is not None:
        return {"shots_done": [ep] if ep else []}
    from cliffhanger.agents.roles import shot_planner as shots

    ctx.emit("step", ep, "shots")
    bible = shots.bible_as_of(ctx.store.bible(), ctx.ledger.state_as_of(ep))
    notes: list[str] = []
    shot_list, ref = await shots.plan_shots(ctx.model("shots"), script=ctx.store.script(ep), bible=bible,
                                            spec=ctx.spec, pack=ctx.pack, target=ctx.settings.target, notes=notes)
    ctx.store.write_model(ctx.store.episode_dir(ep) / "shots.json", shot_list, {"prompt": ref, "notes": notes})
    return {"shots_done": [ep]}


async def finish(state: SeasonState, runtime: Ctx) -> dict[str, Any]:
    from cliffhanger.agents.season.report import write_report

    write_report(runtime.context, state.get("stop", "done"))
    return {}
