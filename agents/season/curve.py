"""The season curve: the shape of a season a producer reads before a line of script, as one series.

Per episode: the plan (the arc row's payoff intensity and kind, the cliffhanger's kind and strength) and,
once drafted, the critic's hook, payoff and cliffhanger-pull scores of the accepted revision; the money
plan (the 卡点集 before each paywall point and the 付费首集 behind it); antagonist tenures (the episodes
whose rows name them) with their downfall from the bible's ladder; reveals of secrets and cards; plants
joined to their payoffs; and the `arc check` findings on the episodes they name.

`build_curve` is pure (the artifacts in, the series out); `read_curve` reads them from a season folder.
An imported season (rows without intensity or payoff kind, no critic) and a season mid-plan or mid-draft
give a curve with those values None: every renderer (`curve_draw`, the board's sparklines, `status
--format json`) draws what is known and leaves the rest empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from cliffhanger.agents.season.arc_check import ArcAudit, plant_episodes
from cliffhanger.agents.season.artifacts import ArcRow, Bible, Review, SeasonSpec
from cliffhanger.agents.season.store_io import SeasonError

if TYPE_CHECKING:
    from cliffhanger.agents.season.store import SeasonStore

INTENSITY_LEVEL = {"small": 1, "medium": 2, "big": 3}
STRENGTH_MAX = 5  # Cliffhanger.strength
SCORE_MAX = 10  # CriterionScore.score
INTENSITY_MAX = 3


@dataclass(frozen=True)
class CurvePoint:
    """One episode. Plan values are None without an arc row (or, for intensity and payoff kind, in an imported
    or format-1 row); scores are None until the episode is accepted with a critic's review."""

    episode: int
    access: str  # SeasonSpec.episode_kind: ad, free, cut (the 卡点集), first_paid (付费首集), paid
    access_label: str  # its name in the season's language
    act: int | None = None
    logline: str = ""
    intensity: str | None = None  # small / medium / big
    payoff_kind: str | None = None
    cliffhanger_kind: str | None = None
    strength: int | None = None  # 1-5
    drafted: bool = False  # an accepted script is on disk
    hook: int | None = None  # 1-10, the accepted revision's critique
    payoff: int | None = None
    cliffhanger_pull: int | None = None
    overall: float | None = None
    findings: tuple[str, ...] = ()  # the rules of the arc audit's findings that name this episode

    @property
    def intensity_level(self) -> int | None:
        return INTENSITY_LEVEL.get(self.intensity or "")


@dataclass(frozen=True)
class Tenure:
    """An antagonist's stretch of the season: the first to the last episode whose row names them, and their
    downfall from the bible's ladder (None when the ladder has no episode for it)."""

    character: str
    name: str
    first: int
    last: int
    tier: int | None = None
    downfall_episode: int | None = None
    downfall: str = ""


@dataclass(frozen=True)
class RevealMark:
    episode: int
    id: str
    kind: str  # secret, card, or unknown (not in the bible)
    to: str | None  # a character id, "audience", or None (unknown in a format-1 row)


@dataclass(frozen=True)
class PlantLink:
    """A plant (伏笔) and its payoff, as the arc's rows place them (the bible's plan when no row names it);
    None: that end is not placed."""

    id: str
    what: str
    planted: int | None
    paid: int | None


@dataclass(frozen=True)
class FindingMark:
    rule: str
    episodes: tuple[int, ...]
    subject: str
    message: str


@dataclass(frozen=True)
class SeasonCurve:
    title: str
    language: str
    episodes: int
    mode: str  # paywall / ad
    points: tuple[CurvePoint, ...]
    cuts: tuple[int, ...] = ()  # 卡点集: the episode before each paywall point
    first_paid: tuple[int, ...] = ()  # 付费首集: the first episode behind each paywall point
    tenures: tuple[Tenure, ...] = ()
    reveals: tuple[RevealMark, ...] = ()
    plants: tuple[PlantLink, ...] = ()
    findings: tuple[FindingMark, ...] = ()

    @property
    def planned(self) -> bool:
        """True when at least one episode has a row of the plan."""
        return any(p.strength is not None for p in self.points)

    @property
    def drafted(self) -> int:
        return sum(p.drafted for p in self.points)

    def payoff_kinds(self) -> tuple[str, ...]:
        """The payoff kinds of the plan, each once, in order of first use (markers and their legend)."""
        return tuple(dict.fromkeys(p.payoff_kind for p in self.points if p.payoff_kind))

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def build_curve(spec: SeasonSpec, rows: Sequence[ArcRow], bible: Bible | None, reviews: Mapping[int, Review],
                audit: ArcAudit | None = None, drafted: Sequence[int] = ()) -> SeasonCurve:
    """The curve of a season: `rows` are the arc's rows (any subset, by episode number), `reviews` the
    review.json of each accepted episode, `drafted` the accepted episodes (those with a review count as
    drafted too), `audit` the arc audit. Rows and reviews outside 1..spec.episodes are ignored."""
    n = spec.episodes
    by_ep = {r.episode: r for r in rows if 1 <= r.episode <= n}
    done = {e for e in (*drafted, *reviews) if 1 <= e <= n}
    on_episode: dict[int, list[str]] = {}
    for f in audit.findings if audit is not None else ():
        for ep in dict.fromkeys(f.episodes):
            on_episode.setdefault(ep, []).append(f.rule)
    points = []
    for ep in range(1, n + 1):
        row, review = by_ep.get(ep), reviews.get(ep)
        critique = review.accepted.critique if review is not None and review.accepted is not None else None
        overall = review.accepted.overall if review is not None and review.accepted is not None else None
        points.append(CurvePoint(
            episode=ep, access=spec.episode_kind(ep), access_label=spec.episode_label(ep, spec.language),
            act=row.act if row else None, logline=row.logline if row else "",
            intensity=row.intensity if row else None, payoff_kind=row.payoff_kind if row else None,
            cliffhanger_kind=row.cliffhanger.kind if row else None, strength=row.cliffhanger.strength if row else None,
            drafted=ep in done, hook=critique.hook.score if critique else None,
            payoff=critique.payoff.score if critique else None,
            cliffhanger_pull=critique.cliffhanger_pull.score if critique else None,
            overall=overall, findings=tuple(on_episode.get(ep, ()))))
    ordered = [by_ep[e] for e in sorted(by_ep)]
    return SeasonCurve(
        title=spec.title, language=spec.language, episodes=n, mode=spec.paywall.mode, points=tuple(points),
        cuts=tuple(e for e in range(1, n + 1) if spec.is_paywall_cliffhanger(e)),
        first_paid=tuple(e for e in spec.paywall.paywall_episodes if e <= n),
        tenures=_tenures(ordered, bible), reveals=_reveals(ordered, bible), plants=_plants(ordered, bible, n),
        findings=tuple(FindingMark(f.rule, tuple(f.episodes), f.subject, f.message)
                       for f in (audit.findings if audit is not None else ())))


def _tenures(rows: Sequence[ArcRow], bible: Bible | None) -> tuple[Tenure, ...]:
    span: dict[str, list[int]] = {}
    for row in rows:
        if row.antagonist:
            span.setdefault(row.antagonist, []).append(row.episode)
    names = {c.id: c.name for c in bible.characters} if bible else {}
    out = []
    for who, eps in span.items():
        ladder = bible.antagonist(who) if bible else None
        out.append(Tenure(who, names.get(who, who), min(eps), max(eps), ladder.tier if ladder else None,
                          ladder.downfall_episode if ladder else None, ladder.downfall if ladder else ""))
    return tuple(sorted(out, key=lambda t: (t.first, t.character)))


def _reveals(rows: Sequence[ArcRow], bible: Bible | None) -> tuple[RevealMark, ...]:
    secrets = {s.id for s in bible.secrets} if bible else set()
    cards = {c.id for c in bible.cards} if bible else set()
    return tuple(RevealMark(row.episode, r.secret, "secret" if r.secret in secrets else
                            "card" if r.secret in cards else "unknown", r.to)
                 for row in rows for r in row.reveals)


def _plants(rows: Sequence[ArcRow], bible: Bible | None, episodes: int) -> tuple[PlantLink, ...]:
    planted, paid = plant_episodes(rows)
    plan = {p.id: p for p in bible.plants} if bible else {}
    out = []
    for pid in dict.fromkeys([*planted, *paid, *plan]):
        p = plan.get(pid)
        if pid in planted or pid in paid:  # placed by the rows: an end they leave out stays open
            out.append(PlantLink(pid, p.what if p else "", planted.get(pid), paid.get(pid)))
        elif p is not None:  # no row places it (an older arc, or none yet): the bible's plan stands in
            out.append(PlantLink(pid, p.what, *(e if e <= episodes else None
                                                for e in (p.planted_episode, p.payoff_episode))))
    return tuple(out)


def read_curve(store: SeasonStore, audit: ArcAudit | None = None,
               reviews: Mapping[int, Review] | None = None) -> SeasonCurve:
    """The curve of the season in `store`: the rows of arc.json (else the imported episodes' own rows), the
    bible (None when damaged), the reviews of the accepted episodes (read when not given) and `audit`."""
    spec = store.spec()
    arc = store.arc()
    if arc is not None:
        rows: Sequence[ArcRow] = arc.rows
    else:
        imported = store.imported_plan()
        rows = imported.rows if imported is not None else ()
    try:
        bible = store.bible()
    except SeasonError:
        bible = None
    accepted = store.accepted_episodes()
    if reviews is None:
        reviews = {e: r for e in accepted if (r := store.review(e)) is not None}
    return build_curve(spec, rows, bible, reviews, audit, accepted)
