"""report.md and the season summary behind `cliffhanger status`: built from the season folder alone."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from cliffhanger.agents.llm.usage import read_usage, usage_summary
from cliffhanger.agents.season.store import SeasonStore

if TYPE_CHECKING:
    from cliffhanger.agents.state import RunContext


@dataclass
class EpisodeLine:
    episode: int
    title: str
    paywall: bool
    cliffhanger: str
    status: str            # planned / drafting / accepted
    revisions: int = 0
    accepted_revision: int | None = None
    overall: float | None = None
    open_findings: int = 0
    shots: int = 0


@dataclass
class SeasonSummary:
    title: str
    episodes: int
    accepted: int
    with_shots: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    cost_unknown_calls: int
    calls: int
    model_seconds: float
    lines: list[EpisodeLine] = field(default_factory=list)
    findings: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def summarise(store: SeasonStore) -> SeasonSummary:
    spec = store.spec()
    arc = store.arc()
    usage = usage_summary(read_usage(store.usage_path))
    summary = SeasonSummary(
        title=spec.title, episodes=spec.episodes, accepted=0, with_shots=0,
        tokens_in=usage.tokens_in, tokens_out=usage.tokens_out, cost_usd=round(usage.cost_usd, 6),
        cost_unknown_calls=usage.cost_unknown_calls, calls=usage.calls, model_seconds=round(usage.latency_s, 1),
    )
    accepted = set(store.accepted_episodes())
    for ep in range(1, spec.episodes + 1):
        row = arc.row(ep) if arc else None
        line = EpisodeLine(ep, row.logline if row else "", spec.is_paywall(ep),
                           row.cliffhanger.kind if row else "", "planned" if row else "-")
        line.revisions = len(store.revisions(ep))
        if line.revisions:
            line.status = "drafting"
        review = store.review(ep) if ep in accepted else None
        if review is not None:
            line.status = "accepted"
            line.accepted_revision = review.accepted_revision
            reviewed = review.accepted  # None for imported episodes: they have no reviewed revisions
            line.overall = reviewed.overall if reviewed is not None else None
            line.open_findings = len(review.open_findings)
            summary.findings += [{"episode": ep, **f.model_dump(mode="json")} for f in review.open_findings]
            summary.accepted += 1
        shots = store.shot_count(ep)
        if shots is not None:
            line.shots = shots
            summary.with_shots += 1
        summary.lines.append(line)
    return summary


def report_markdown(summary: SeasonSummary, stop: str, wall_s: float | None) -> str:
    out = [f"# {summary.title}: run report", "",
           f"- Stopped: {stop}", f"- Episodes accepted: {summary.accepted} / {summary.episodes}; "
           f"shot lists: {summary.with_shots}",
           f"- Model calls: {summary.calls}; tokens in/out: {summary.tokens_in:,} / {summary.tokens_out:,}",
           f"- Cost: ${summary.cost_usd:.4f}" + (f" (+ {summary.cost_unknown_calls} calls at an unknown price)"
                                                 if summary.cost_unknown_calls else "")]
    if wall_s is not None:
        out.append(f"- Wall time of the last run: {wall_s:.1f} s")
    out += ["", "| ep | status | paywall | cliffhanger | revisions | score | open findings | shots | logline |",
            "|---:|---|---|---|---:|---:|---:|---:|---|"]
    for ln in summary.lines:
        score = f"{ln.overall:.1f}" if ln.overall is not None else ""
        out.append(f"| {ln.episode} | {ln.status} | {'yes' if ln.paywall else ''} | {ln.cliffhanger} | {ln.revisions} "
                   f"| {score} | {ln.open_findings} | {ln.shots or ''} | {ln.title.replace('|', '/')} |")
    if summary.findings:
        out += ["", "## Open continuity findings", ""]
        for f in summary.findings:
            out.append(f"- ep {f['episode']} ({f.get('rule')}, {f.get('severity')}): {f.get('explanation')} "
                       f"Canon: «{f.get('canon_fact')}» Script: «{f.get('script_quote')}»")
    return "\n".join(out) + "\n"


def write_report(ctx: RunContext, stop: str, wall_s: float | None = None) -> None:
    ctx.store.write_report(report_markdown(summarise(ctx.store), stop, wall_s))
