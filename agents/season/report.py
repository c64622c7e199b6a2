"""report.md and the season summary behind `cliffhanger status`: built from the season folder alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from cliffhanger.agents.llm.usage import read_usage, usage_summary
from cliffhanger.agents.season.arc_check import ArcAudit, ArcFinding, check_arc
from cliffhanger.agents.season.curve import INTENSITY_MAX, SCORE_MAX, STRENGTH_MAX, SeasonCurve, read_curve
from cliffhanger.agents.season.store import SeasonError, SeasonStore
from cliffhanger.genres.errors import GenreError

if TYPE_CHECKING:
    from cliffhanger.agents.season.artifacts import Review
    from cliffhanger.agents.season.video_budget import VideoPrice
    from cliffhanger.agents.state import RunContext
    from cliffhanger.genres.pack import GenrePack

AUDIT_SHOWN = 5  # findings printed one per line under the audit's counts; `cliffhanger arc check` lists them all


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
    arc_findings: list[str] = field(default_factory=list)  # "rule subject: message" of each arc audit finding
    access: str = ""  # SeasonSpec.episode_kind: ad, free, cut (the 卡点集), first_paid (付费首集), paid
    access_label: str = ""  # its name in the season's language (SeasonSpec.episode_label)

    @property
    def paywall_point(self) -> str:
        """The label of a 卡点集 or first paid episode, else ""."""
        return self.access_label if self.access in ("cut", "first_paid") else ""


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
    arc_checked: bool = False  # False: no arc yet, or the season's genre pack is not installed
    arc_findings: list[dict[str, object]] = field(default_factory=list)  # ArcFinding dicts
    arc_skipped: list[str] = field(default_factory=list)  # "rule: why" for rules the arc's fields cannot feed
    curve: SeasonCurve | None = None  # the season curve's series (agents.season.curve)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def audit_arc(store: SeasonStore, pack: GenrePack | None = None) -> ArcAudit | None:
    """The model-free arc audit (`check_arc`) of the season's arc and bible; None when there is no arc
    yet or the season's genre pack is not installed here."""
    arc = store.arc()
    if arc is None:
        return None
    spec = store.spec()
    if pack is None:
        from cliffhanger.genres.loader import load_catalog

        try:
            pack = load_catalog().get(spec.genre)
        except GenreError:
            return None
    try:
        bible = store.bible()
    except SeasonError:  # a damaged bible.json: the rules that need it are skipped (and say so)
        bible = None
    return check_arc(arc, bible, spec, pack)


def audit_lines(findings: Sequence[Mapping[str, object]], skipped: Sequence[str], *,
                shown: int = AUDIT_SHOWN) -> list[str]:
    """The audit as plain lines: the count per rule, then the first `shown` findings one a line
    (`ArcFinding.line`), then the rules that could not be applied."""
    if not findings:
        out = ["the arc audit found nothing"]
    else:
        per_rule = Counter(str(f["rule"]) for f in findings)
        out = [f"arc audit: {len(findings)} finding{'s' if len(findings) != 1 else ''} ("
               + ", ".join(f"{rule} {n}" for rule, n in per_rule.most_common()) + ")"]
        out += [f"  {ArcFinding.model_validate(f).line()}" for f in findings[:shown]]
        if len(findings) > shown:
            out.append(f"  ... and {len(findings) - shown} more")
    if skipped:
        out.append(f"  not checked ({len(skipped)}): " + "; ".join(skipped))
    return out


def summarise(store: SeasonStore, pack: GenrePack | None = None) -> SeasonSummary:
    """The season as the folder holds it; the arc audit with `pack` (default: the installed pack of the
    season's genre)."""
    spec = store.spec()
    arc = store.arc()
    usage = usage_summary(read_usage(store.usage_path))
    summary = SeasonSummary(
        title=spec.title, episodes=spec.episodes, accepted=0, with_shots=0,
        tokens_in=usage.tokens_in, tokens_out=usage.tokens_out, cost_usd=round(usage.cost_usd, 6),
        cost_unknown_calls=usage.cost_unknown_calls, calls=usage.calls, model_seconds=round(usage.latency_s, 1),
    )
    accepted = set(store.accepted_episodes())
    reviews: dict[int, Review] = {}
    for ep in range(1, spec.episodes + 1):
        row = arc.row(ep) if arc else None
        line = EpisodeLine(ep, row.logline if row else "", spec.is_paywall(ep),
                           row.cliffhanger.kind if row else "", "planned" if row else "-")
        line.access, line.access_label = spec.episode_kind(ep), spec.episode_label(ep, spec.language)
        line.revisions = len(store.revisions(ep))
        if line.revisions:
            line.status = "drafting"
        review = store.review(ep) if ep in accepted else None
        if review is not None:
            reviews[ep] = review
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
    audit = audit_arc(store, pack) if arc is not None else None
    if audit is not None:
        summary.arc_checked = True
        summary.arc_skipped = list(audit.skipped)
        for finding in audit.findings:
            summary.arc_findings.append(finding.model_dump(mode="json"))
            for ep in finding.episodes:
                if 1 <= ep <= len(summary.lines):
                    summary.lines[ep - 1].arc_findings.append(
                        f"{finding.rule} {finding.subject}: {finding.message}")
    summary.curve = read_curve(store, audit, reviews)
    return summary


def report_markdown(summary: SeasonSummary, stop: str, wall_s: float | None, curve: Sequence[str] = ()) -> str:
    """The report; `curve` is its season curve section (`curve_markdown`), after the run's figures."""
    out = [f"# {summary.title}: run report", "",
           f"- Stopped: {stop}", f"- Episodes accepted: {summary.accepted} / {summary.episodes}; "
           f"shot lists: {summary.with_shots}",
           f"- Model calls: {summary.calls}; tokens in/out: {summary.tokens_in:,} / {summary.tokens_out:,}",
           f"- Cost: ${summary.cost_usd:.4f}" + (f" (+ {summary.cost_unknown_calls} calls at an unknown price)"
                                                 if summary.cost_unknown_calls else "")]
    if wall_s is not None:
        out.append(f"- Wall time of the last run: {wall_s:.1f} s")
    out += curve
    out += ["", "| ep | status | paywall | cliffhanger | revisions | score | open findings | arc | shots | logline |",
            "|---:|---|---|---|---:|---:|---:|---:|---:|---|"]
    for ln in summary.lines:
        score = f"{ln.overall:.1f}" if ln.overall is not None else ""
        out.append(f"| {ln.episode} | {ln.status} | {ln.paywall_point} | {ln.cliffhanger} | {ln.revisions} "
                   f"| {score} | {ln.open_findings} | {len(ln.arc_findings) or ''} | {ln.shots or ''} "
                   f"| {ln.title.replace('|', '/')} |")
    if summary.arc_checked:
        out += ["", "## Arc audit", "", *(f"- {ln.strip()}" for ln in audit_lines(summary.arc_findings,
                                                                                  summary.arc_skipped, shown=50))]
    if summary.findings:
        out += ["", "## Open continuity findings", ""]
        for f in summary.findings:
            out.append(f"- ep {f['episode']} ({f.get('rule')}, {f.get('severity')}): {f.get('explanation')} "
                       f"Canon: «{f.get('canon_fact')}» Script: «{f.get('script_quote')}»")
    return "\n".join(out) + "\n"


def write_report(ctx: RunContext, stop: str, wall_s: float | None = None) -> None:
    """report.md; a failed or budget-stopped run's one-line reason follows its stop (`RunContext.end`), so a
    client of the server can show it."""
    end = getattr(ctx, "end", None)
    why = f" ({end.message})" if end is not None and end.message and stop in ("failed", "budget") else ""
    summary = summarise(ctx.store, ctx.pack)
    markdown = report_markdown(summary, stop + why, wall_s, curve_section(ctx.store, summary.curve))
    ctx.store.write_report(markdown + video_budget_markdown(ctx.store, ctx.settings.video_prices))


# ---- the season curve -------------------------------------------------------------------------------

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None], top: float) -> str:
    """One character per value on a 0..top scale; an unknown value is a space."""
    return "".join(" " if v is None else _BARS[min(len(_BARS) - 1, max(0, round(v / top * (len(_BARS) - 1))))]
                   for v in values)


def curve_markdown(curve: SeasonCurve, picture: str | None, note: str | None) -> list[str]:
    """The report's season curve: the picture (`picture`, a file name beside report.md) or the one-line `note`
    saying why there is none, then the curve's main series as text, one character per episode."""
    pts = curve.points
    out = ["", "## Season curve", "", f"![season curve]({picture})" if picture else f"*{note}*", "", "```"]
    rows = [("cliffhanger strength", [p.strength for p in pts], STRENGTH_MAX),
            ("payoff intensity", [p.intensity_level for p in pts], INTENSITY_MAX),
            ("critic: hook", [p.hook for p in pts], SCORE_MAX), ("critic: payoff", [p.payoff for p in pts], SCORE_MAX),
            ("critic: pull", [p.cliffhanger_pull for p in pts], SCORE_MAX)]
    out += [f"{name:21}|{sparkline(values, top)}|" for name, values, top in rows]
    money = "".join("$" if p.episode in curve.first_paid else "^" if p.episode in curve.cuts else " " for p in pts)
    if money.strip():
        out.append(f"{'^ cut  $ first paid':21}|{money}|")
    return [*out, "```"]


def curve_section(store: SeasonStore, curve: SeasonCurve | None) -> list[str]:
    """Paint season_curve.png beside report.md and return the report's section on it (a missing or failed
    picture is a one-line note; the report is written anyway)."""
    if curve is None:
        return []
    from cliffhanger.agents.season.curve_png import write_curve_png

    note = write_curve_png(store, curve)
    return curve_markdown(curve, None if note else store.curve_png_path.name, note)


def video_budget_markdown(store: SeasonStore, prices: Mapping[str, VideoPrice] | None = None) -> str:
    """report.md's "Video budget" section (`SeasonBudget.markdown`) for the shot lists in the folder;
    "" while there are none."""
    from cliffhanger.agents.season.video_budget import season_budget

    try:
        bible = store.bible()
        lists = [sl for e in range(1, store.spec().episodes + 1) if (sl := store.shots(e)) is not None]
    except SeasonError:  # a damaged file is named by the run and by `status`; the report goes without a budget
        return ""
    if not lists:
        return ""
    return "\n" + "\n".join(season_budget(lists, bible, prices=prices).markdown()) + "\n"
