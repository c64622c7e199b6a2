"""What a season's video will cost to generate: clips, seconds, price, jobs and reference images per target.

Contracts
- Everything is counted from the shot lists as each target takes them (`ShotList.for_target`, the path
  `export --format jobs` takes), so a target's clips, seconds and jobs are those of its jobs file, job for
  job, whatever target the season was planned for.
- Prices: `VIDEO_PRICES`, list prices dated `PRICES_AS_OF`, for the model each job names; the user's
  `[video_prices.TARGET]` in cliffhanger.toml replaces a target's entry (read at the edge, passed in as
  `prices`). A target without a price, or a clip length its per-clip price does not list, has its cost
  reported as unknown (None), never as zero.
- Reference images: one per bible character in the shots (the locked look, `Character.visual`) and one per
  bible location they use (`Location.visual`). Walk-ons carry a one-line look and take no reference image.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cliffhanger.agents.season.artifacts import Bible
from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S, TIMING_EPSILON_S, ShotList

TARGETS: tuple[str, ...] = tuple(CLIP_LENGTHS_S)
PRICES_AS_OF = "2025-12"
CONFIG_HINT = "[video_prices.{target}] in cliffhanger.toml"


@dataclass(frozen=True)
class VideoPrice:
    """US dollars for generated clips: per second of video, or per clip (`per_clip_usd` for any length,
    `per_length_usd` as (clip length in s, USD) pairs for a price per length). `source` says where the
    figure comes from."""

    per_second_usd: float | None = None
    per_clip_usd: float | None = None
    per_length_usd: tuple[tuple[float, float], ...] = ()
    source: str = ""

    def clip_cost(self, seconds: float) -> float | None:
        """The price of one clip of `seconds`; None when this price does not say."""
        if self.per_second_usd is not None:
            return self.per_second_usd * seconds
        if self.per_length_usd:
            return next((usd for n, usd in self.per_length_usd if abs(n - seconds) <= TIMING_EPSILON_S), None)
        return self.per_clip_usd

    def label(self) -> str:
        """'$0.10/s', '$1.40/5s, $2.80/10s' (a clip of that length), '$0.50/clip'."""
        if self.per_second_usd is not None:
            return f"{_money(self.per_second_usd)}/s"
        if self.per_length_usd:
            return ", ".join(f"{_money(usd)}/{n:g}s" for n, usd in sorted(self.per_length_usd))
        return f"{_money(self.per_clip_usd)}/clip" if self.per_clip_usd is not None else "unknown"


def _money(usd: float) -> str:
    return f"${usd:.2f}" if round(usd, 2) == usd else f"${usd:g}"


# List prices as of PRICES_AS_OF in USD, for the model each job names (export_shots.MODELS), at a vertical
# 720p-class frame, no extras. Checked against the providers' price pages and resellers that pass them on
# at cost; verify before a large spend. SkyReels has no public per-clip API price we could confirm and
# `generic` is no model: their cost is unknown until set with [video_prices.TARGET] in cliffhanger.toml.
VIDEO_PRICES: dict[str, VideoPrice] = {
    "kling": VideoPrice(per_length_usd=((5, 1.40), (10, 2.80)), source="kling-v2-1-master, Kling API price via fal.ai"),
    "runway": VideoPrice(per_second_usd=0.05, source="gen4_turbo, 5 credits a second at $0.01 (Runway API)"),
    "sora": VideoPrice(per_second_usd=0.10, source="sora-2 at 720x1280 (OpenAI API pricing)"),
    "veo": VideoPrice(per_second_usd=0.40, source="veo-3.0-generate-001 with audio (Vertex AI pricing)"),
    "hailuo": VideoPrice(per_length_usd=((6, 0.28), (10, 0.56)), source="MiniMax-Hailuo-02 at 768P (MiniMax API)"),
    "wan": VideoPrice(per_second_usd=0.10, source="wan2.2-t2v-plus / i2v-plus at 1080P, 480P is $0.02/s "
                                                  "(Alibaba Cloud Model Studio)"),
}


def price_of(target: str, prices: Mapping[str, VideoPrice] | None = None) -> VideoPrice | None:
    """`target`'s price: the user's override, else the list price, else None (unknown)."""
    return (prices or {}).get(target) or VIDEO_PRICES.get(target)


@dataclass(frozen=True)
class References:
    """The reference images the shots need: bible characters (with the ones that already have an image)
    and bible locations."""

    characters: tuple[str, ...]
    with_image: tuple[str, ...]
    locations: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.characters) + len(self.locations)

    def line(self) -> str:
        have = f", {len(self.with_image)} with an image already" if self.with_image else ""
        return (f"reference images: {self.count} ({_n(len(self.characters), 'character')}{have}; "
                f"{_n(len(self.locations), 'location')}), one per locked look in the shots")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def references(shot_lists: Iterable[ShotList], bible: Bible | None) -> References:
    chars = {c.id: c for c in bible.characters} if bible else {}
    places = {loc.id for loc in bible.locations} if bible else set()
    seen_chars: dict[str, None] = {}
    seen_places: dict[str, None] = {}
    for sl in shot_lists:
        for shot in sl.shots:
            seen_chars.update((c.id, None) for c in shot.characters if c.id in chars)
            if shot.location in places:
                seen_places[shot.location] = None
    return References(tuple(seen_chars), tuple(c for c in seen_chars if chars[c].reference_image),
                      tuple(seen_places))


@dataclass(frozen=True)
class EpisodeBudget:
    episode: int
    clips: int
    seconds: float
    cost_usd: float | None
    references: int  # bible characters and locations in the episode's shots


@dataclass(frozen=True)
class TargetBudget:
    """One target's budget over the shot lists given, episode by episode."""

    target: str
    price: VideoPrice | None
    episodes: tuple[EpisodeBudget, ...]
    planned_seconds: float = 0.0  # the shot lists' own length, as planned (for their own target)
    planned_for: tuple[str, ...] = ()  # the targets the shot lists were planned for

    @property
    def clips(self) -> int:
        return sum(e.clips for e in self.episodes)

    @property
    def jobs(self) -> int:
        """Generation jobs: one per clip, the lines `export --format jobs --target T` writes."""
        return self.clips

    @property
    def seconds(self) -> float:
        return round(sum(e.seconds for e in self.episodes), 3)

    @property
    def cost_usd(self) -> float | None:
        costs = [e.cost_usd for e in self.episodes]
        return None if not costs or None in costs else round(sum(c for c in costs if c is not None), 4)

    def drift_line(self) -> str | None:
        """A note when the re-cut clips run more than 10% off the planned runtime: shots far shorter than the
        target's shortest clip, or much longer than it covers in whole clips, are generated longer (or shorter)
        than planned and trimmed in the edit."""
        if not self.planned_seconds or abs(self.seconds - self.planned_seconds) <= 0.10 * self.planned_seconds:
            return None
        return (f"{self.target}: re-cut from shots planned for {', '.join(self.planned_for)}, its clips run "
                f"{self.seconds:,.0f} s against the {self.planned_seconds:,.0f} s planned (clips of "
                f"{', '.join(f'{n:g}' for n in CLIP_LENGTHS_S.get(self.target) or ())} s): plan with "
                f"`cliffhanger draft --target {self.target}` for clips that fit")

    def price_line(self) -> str:
        if self.price is None:
            return f"{self.target}: no price known; set {CONFIG_HINT.format(target=self.target)}"
        return f"{self.target}: {self.price.label()} ({self.price.source})"

    def as_dict(self) -> dict[str, object]:
        price = None if self.price is None else {
            "per_second_usd": self.price.per_second_usd, "per_clip_usd": self.price.per_clip_usd,
            "per_length_usd": {f"{n:g}": usd for n, usd in self.price.per_length_usd} or None,
            "source": self.price.source}
        return {"target": self.target, "price": price, "clips": self.clips, "seconds": self.seconds,
                "planned_seconds": self.planned_seconds, "warning": self.drift_line(),
                "cost_usd": self.cost_usd, "jobs": self.jobs,
                "episodes": [{"episode": e.episode, "clips": e.clips, "seconds": e.seconds, "cost_usd": e.cost_usd,
                              "references": e.references} for e in self.episodes]}


def target_budget(shot_lists: Iterable[ShotList], bible: Bible | None, target: str,
                  prices: Mapping[str, VideoPrice] | None = None) -> TargetBudget:
    """`target`'s budget for `shot_lists` (in episode order), priced with `prices` over the list prices."""
    price = price_of(target, prices)
    rows = []
    lists = sorted(shot_lists, key=lambda s: s.episode)
    for sl in lists:
        cut = sl.for_target(target)  # type: ignore[arg-type]  # TARGETS are VideoTarget values
        costs = [price.clip_cost(s.duration_s) if price else None for s in cut.shots]
        cost = None if None in costs else round(sum(c for c in costs if c is not None), 4)
        rows.append(EpisodeBudget(sl.episode, len(cut.shots), cut.total_duration_s, cost,
                                  references([sl], bible).count))
    return TargetBudget(target, price, tuple(rows), round(sum(sl.total_duration_s for sl in lists), 3),
                        tuple(sorted({sl.target for sl in lists})))


@dataclass(frozen=True)
class SeasonBudget:
    """Budgets of several targets over the same shot lists, and the reference images those need."""

    targets: tuple[TargetBudget, ...]
    references: References

    @property
    def episodes(self) -> list[int]:
        return [e.episode for e in self.targets[0].episodes] if self.targets else []

    def as_dict(self) -> dict[str, object]:
        refs = self.references
        return {"prices_as_of": PRICES_AS_OF, "episodes": self.episodes,
                "references": {"count": refs.count, "characters": list(refs.characters),
                               "characters_with_image": list(refs.with_image), "locations": list(refs.locations)},
                "targets": [t.as_dict() for t in self.targets]}

    def markdown(self, heading: str = "##") -> list[str]:
        """A "Video budget" section: one row per target (clips, seconds, price, cost, jobs), the reference
        images, and where the prices come from. Ids are `Id`s (snake_case ascii), safe in Markdown."""
        out = [f"{heading} Video budget", ""]
        eps = self.episodes
        if not eps:
            return [*out, "No shot lists yet: the budget is counted from them."]
        out += [f"Episodes with shot lists: {len(eps)} ({eps[0]}-{eps[-1]}); each target's clips as its jobs file "
                "cuts them.", "", "| target | clips | seconds | price | cost (USD) | jobs |",
                "|---|---:|---:|---|---:|---:|"]
        out += [f"| {b.target} | {b.clips:,} | {b.seconds:,.0f} | {b.price.label() if b.price else 'unknown'} "
                f"| {usd(b.cost_usd)} | {b.jobs:,} |" for b in self.targets]
        unknown = [b.target for b in self.targets if b.cost_usd is None]
        refs = self.references.line()
        out += ["", *(f"- Drift: {w}" for b in self.targets if (w := b.drift_line())), f"- {refs[0].upper()}{refs[1:]}",
                f"- Prices: list prices as of {PRICES_AS_OF} unless set with {CONFIG_HINT.format(target='TARGET')}"
                + (f"; unknown for {', '.join(unknown)}" if unknown else "")]
        return out


def season_budget(shot_lists: Iterable[ShotList], bible: Bible | None, targets: Sequence[str] = TARGETS,
                  prices: Mapping[str, VideoPrice] | None = None) -> SeasonBudget:
    lists = list(shot_lists)
    return SeasonBudget(tuple(target_budget(lists, bible, t, prices) for t in targets), references(lists, bible))


def usd(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.2f}"
