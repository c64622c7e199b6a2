"""report.md and the season summary behind `cliffhanger status`: built from the season folder alone."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cliffhanger.agents.llm.usage import read_usage
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
    usage = read_usage(store.usage_path)
    summary = SeasonSummary(
        title=spec.title, episodes=spec.episodes, accepted=0, with_shots=0,
        tokens_in=sum(int(r.get("tokens_in", 0)) for r in usage), tokens_out=sum(int(r.get("tokens_out", 0)) for r in usage),
        cost_usd=round(sum(float(r.get("cost_usd") or 0) for r in usage), 6),
        cost_unknown_calls=sum(1 for r in usage if r.get("cost_usd") is None), calls=len(usage),
        model_seconds=round(sum(float(r.get("latency_s", 0)) for r in usage), 1),
    )
    for ep in range(1, spec.episodes + 1):
        row = arc.row(ep) if arc else None
        line = EpisodeLine(ep, row.logline if row else "", spec.is_paywall(ep),
                           row.cliffhanger.kind if row else "", "planned" if row else "-")
        folder = store.episode_dir(ep)
        revs = sorted((folder / "revisions").glob("r*.draft.json")) if folder.is_dir() else []
        line.revisions = len(revs)
        if revs:
            line.status = "drafting"
        review_path = folder / "review.json"
        if (folder / "script.json").exists() and review_path.exists():
            review = json.loads(review_path.read_text(encoding="utf-8"))
            line.status = "accepted"
            line.accepted_revision = review.get("accepted_revision")
            revisions = review.get("revisions") or []  # imported episodes have no reviewed revisions
            if isinstance(line.accepted_revision, int) and line.accepted_revision < len(revisions):
                line.overall = revisions[line.accepted_revision].get("overall")
            line.open_findings = len(review.get("open_findings", []))
            summary.findings += [{"episode": ep, **f} for f in review.get("open_findings", [])]
            summary.accepted += 1
        shots = _count_shots(folder / "shots.json")
        if shots is not None:
            line.shots = shots
            summary.with_shots += 1
        summary.lines.append(line)
    return summary


def _count_shots(path: Path) -> int | None:
    """Shots in a shot list file without validating it (the board re-reads every few seconds)."""
    try:
        shots = json.loads(path.read_text(encoding="utf-8")).get("shots")
    except (OSError, ValueError, AttributeError):
        return None
    return len(shots) if isinstance(shots, list) else None


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
    ctx.store.write_text("report.md", report_markdown(summarise(ctx.store), stop, wall_s))
