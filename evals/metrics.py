"""Model-free metrics of `cliffhanger eval`: numbers computed from the season folder alone, no model calls.

Per episode (`episode_metrics`) from the script, the spec, the previous script, the bible, the shot list
and the genre pack; per season (`season_metrics`) from a SeasonStore, adding what needs the whole
season: n-grams repeated across episodes, character presence and gaps, and the density of canon
violations found by replaying each accepted episode's facts through the deterministic checker.

Contracts
- Results are frozen dataclasses; `as_dict()` gives plain JSON types (tuples become lists).
- None means "not measurable here" (no previous episode, no shot list, no facts file), never zero.
- Directions for reports: HIGHER_IS_BETTER, LOWER_IS_BETTER and CLOSER_TO_ZERO name the fields; the
  others (counts, kinds, the dialogue/action ratio) are descriptive.
- Text and script rules live in `cliffhanger.evals.text_stats`, word lists in `cliffhanger.evals.lexicons`;
  the thresholds are below.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cliffhanger.agents.roles.continuity import seed_canon
from cliffhanger.agents.season.artifacts import Bible, EpisodeScript, SeasonSpec, count_units
from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S, TIMING_EPSILON_S, ShotList
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.evals import text_stats as ts
from cliffhanger.evals.lexicons import PAYOFF_STEPS, SLOP_PHRASES
from cliffhanger.evals.suites import judged_episodes
from cliffhanger.genres import cringe
from cliffhanger.genres.pack import GenrePack
from cliffhanger.memory.facts import Entity, Fact, FactFileError, read_jsonl
from cliffhanger.memory.ledger import Ledger, LedgerError

OPENING_S = 5.0  # DESIGN 1: the hook lands in the first 3-5 s
# Share of the previous ending's content words (en) / character bigrams (zh) that the first scene
# repeats. On 61 consecutive episode pairs of 40 DramaBench scripts split at 90 s by the importer, the
# median was 0.25 and half reached 0.25, against 3% of random pairs (shared names make up most of
# those). No Chinese human sample was at hand: zh's 0.2 is a judgment call on bigrams, not calibrated.
PAYOFF_THRESHOLD: dict[str, float] = {"en": 0.25, "zh": 0.2}
REPEAT_N: dict[str, int] = {"en": 4, "zh": 6}  # word 4-grams, character 6-grams: a phrase, not a name
LEAD_ROLES = ("protagonist", "antagonist")
MAX_LEAD_ABSENCE = 3  # a lead gone for more episodes in a row than this is flagged
TOP_REPEATED = 10

HIGHER_IS_BETTER = frozenset({
    "opening_hook", "cliffhanger_present", "payoff_score", "payoff_present", "distinct_1", "distinct_2",
    "format_pass_rate", "paywall_cliffhanger_rate", "payoff_built", "payoff_build_rate",
})
LOWER_IS_BETTER = frozenset({
    "runtime_abs_error_pct", "seconds_to_hook", "slop_hits", "slop_per_1000", "tic_hits", "slop_rate", "shot_off_grid",
    "repeated_ngram_share", "repeated_ngram_rate", "continuity_violations", "continuity_per_10k_units",
})
CLOSER_TO_ZERO = frozenset({"runtime_error_pct", "shot_runtime_error_pct"})
_NOT_AVERAGED = frozenset({"episode", "paywall", "paywall_cliffhanger"})


def _plain(value: object) -> object:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class EpisodeMetrics:
    """One episode's numbers. Percentages are signed (est - target) / target * 100 unless named abs.

    `repeated_ngram_share` and `continuity_violations` need the season and are None from
    `episode_metrics`; `season_metrics` fills them (still None for episode 1 / an unmeasured episode).
    """

    episode: int
    paywall: bool                 # first episode behind a paywall point
    paywall_cliffhanger: bool     # the next episode is a paywall episode: this ending sells it
    units: int                    # dialogue + action units (count_units)
    runtime_s: float
    runtime_error_pct: float
    runtime_abs_error_pct: float
    seconds_to_hook: float | None  # estimated start of the first hook element; None: no hook at all
    opening_hook: bool            # a hook element starts within OPENING_S
    ending_kind: str              # text_stats.ENDING_KINDS
    cliffhanger_present: bool
    payoff_score: float | None    # None for episode 1 or when the previous script is unknown
    payoff_present: bool | None
    dialogue_units: int
    action_units: int
    dialogue_action_ratio: float | None  # None when there is no action
    distinct_1: float
    distinct_2: float
    slop_hits: int
    slop_per_1000: float
    slop_found: tuple[str, ...]   # distinct phrases found, at most five
    tic_hits: int                 # AI-prose tics (genres.cringe families + the pack's own tics)
    slop_rate: float              # tic_hits per 1,000 units (CJK characters / latin words)
    tics_found: tuple[str, ...]   # distinct tics found, at most five
    payoff_steps: tuple[str, ...]  # text_stats.payoff_build: the steps of a built payoff found, in order
    payoff_built: bool            # all three (commitment, turn, price): a keyword proxy, see payoff_build
    format_checks: int
    format_pass_rate: float
    format_problems: tuple[str, ...]
    shot_total_s: float | None
    shot_runtime_error_pct: float | None
    shot_off_grid: int | None     # None without a shot list or a target with fixed clip lengths
    repeated_ngram_share: float | None = None
    continuity_violations: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def episode_metrics(script: EpisodeScript, spec: SeasonSpec, pack: GenrePack, *,
                    previous: EpisodeScript | None = None, bible: Bible | None = None,
                    shots: ShotList | None = None, target: str | None = None) -> EpisodeMetrics:
    """The metrics of one episode. `previous` is the script of the episode before (None for episode 1);
    `target` is the video model whose clip lengths shots must use (default: the shot list's own target).
    Raises ValueError for an unknown target.
    """
    if target is not None and target not in CLIP_LENGTHS_S:
        raise ValueError(f"unknown video target {target!r}: use one of {', '.join(CLIP_LENGTHS_S)}")
    lang = spec.language
    runtime = script.estimate_runtime_s(lang)
    error = (runtime - spec.runtime_s) / spec.runtime_s * 100
    hook_at = ts.seconds_to_hook(script, lang)
    kind = ts.classify_ending([ts.last_text(script), script.ending_hook], lang)
    payoff = ts.payoff_score(previous, script, lang) if previous is not None else None
    dialogue_units = sum(count_units(d.line) for d in script.dialogue())
    action_units = sum(count_units(a.text) for a in script.actions())
    segments = ts.segments(script)
    units = script.word_count()
    # Parentheticals are scanned too: "(嘴角勾起一抹冷笑)" is where stock phrasing hides.
    scanned = [ts.element_text(el) for s in script.scenes for el in s.elements] + [
        d.parenthetical for d in script.dialogue() if d.parenthetical]
    slop = [hit for text in scanned
            for hit in ts.lexicon_hits(text, SLOP_PHRASES[lang] + tuple(pack.avoid_list(lang)), lang)]
    extra = pack.tic_families()
    tics = [tic.text for text in scanned for tic in cringe.find_tics(text, lang, extra)]
    checks, failed, problems = ts.format_problems(script, spec, bible)
    steps = ts.payoff_build(script, lang, bible)
    shot_total = shot_error = off_grid = None
    if shots is not None:
        shot_total = shots.total_duration_s
        shot_error = round((shot_total - spec.runtime_s) / spec.runtime_s * 100, 1)
        lengths = CLIP_LENGTHS_S[target or shots.target]
        if lengths:
            off_grid = sum(1 for s in shots.shots
                           if not any(abs(s.duration_s - n) <= TIMING_EPSILON_S for n in lengths))
    return EpisodeMetrics(
        episode=script.episode, paywall=spec.is_paywall(script.episode),
        paywall_cliffhanger=spec.is_paywall_cliffhanger(script.episode), units=units,
        runtime_s=runtime, runtime_error_pct=round(error, 1), runtime_abs_error_pct=round(abs(error), 1),
        seconds_to_hook=hook_at, opening_hook=hook_at is not None and hook_at < OPENING_S,
        ending_kind=kind, cliffhanger_present=kind != "none",
        payoff_score=payoff, payoff_present=None if payoff is None else payoff >= PAYOFF_THRESHOLD[lang],
        dialogue_units=dialogue_units, action_units=action_units,
        dialogue_action_ratio=round(dialogue_units / action_units, 3) if action_units else None,
        distinct_1=round(ts.distinct_n(segments, 1), 3), distinct_2=round(ts.distinct_n(segments, 2), 3),
        slop_hits=len(slop), slop_per_1000=round(len(slop) / units * 1000, 2) if units else 0.0,
        slop_found=tuple(dict.fromkeys(slop))[:5],
        tic_hits=len(tics), slop_rate=round(len(tics) / units * 1000, 2) if units else 0.0,
        tics_found=tuple(dict.fromkeys(tics))[:5],
        payoff_steps=steps, payoff_built=len(steps) == len(PAYOFF_STEPS),
        format_checks=checks, format_pass_rate=round((checks - failed) / checks, 3), format_problems=tuple(problems),
        shot_total_s=shot_total, shot_runtime_error_pct=shot_error, shot_off_grid=off_grid,
    )


# ---- season -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CharacterPresence:
    """Where a character is on screen: in a scene's cast or speaking (OS and VO count)."""

    id: str
    role: str                   # the bible role; "unknown" for a season without a bible
    episodes: tuple[int, ...]
    share: float                # episodes present / episodes measured
    longest_absence: int        # longest run of consecutive measured episodes without the character
    flagged: bool               # a protagonist or antagonist absent more than MAX_LEAD_ABSENCE in a row


@dataclass(frozen=True)
class ContinuityNote:
    """A rule violation found when replaying an episode's facts over the canon before it."""

    episode: int
    rule: str
    subject: str
    message: str


@dataclass(frozen=True)
class SeasonMetrics:
    """A season's episodes and aggregates.

    - `means`: per-episode fields averaged over the episodes where they are not None (flags as shares).
    - `repeated_ngram_rate`: mean `repeated_ngram_share` over episodes 2..n; `top_repeated_ngrams` are
      (n-gram, episodes it occurs in), most widespread first.
    - Continuity counts only episodes with a facts file (`continuity_measured`); the others are listed
      in `continuity_not_measured`, and the density is None when nothing was measured.
    - `payoff_build_rate`: share of the judged episodes (`suites.judged_episodes`) that are accepted and
      whose payoff is built in three steps (`payoff_built`, a keyword proxy); None when none is accepted.
    - `by_position`: "first", "last", "paywall_N" for each paywall episode and "before_paywall_N" for the
      episode whose ending sells it (when those episodes are accepted).
    """

    title: str
    language: str
    episodes_planned: int
    episodes: tuple[EpisodeMetrics, ...]
    means: dict[str, float]
    paywall_cliffhanger_rate: float | None  # share of paywall-selling endings with a cliffhanger
    payoff_build_rate: float | None  # share of judged episodes with all three payoff steps (keyword proxy)
    repeated_ngram_rate: float | None
    top_repeated_ngrams: tuple[tuple[str, int], ...]
    characters: tuple[CharacterPresence, ...]
    absent_leads: tuple[str, ...]
    continuity_violations: int
    continuity_units: int
    continuity_per_10k_units: float | None
    continuity_measured: int
    continuity_not_measured: tuple[int, ...]
    continuity_findings: tuple[ContinuityNote, ...]
    by_position: dict[str, EpisodeMetrics]

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "episodes":
                out[f.name] = [m.as_dict() for m in value]
            elif f.name == "by_position":
                out[f.name] = {k: m.as_dict() for k, m in value.items()}
            elif f.name in ("characters", "continuity_findings"):
                out[f.name] = [_plain(dataclasses.asdict(x)) for x in value]
            else:
                out[f.name] = _plain(value)
        return out


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def repeated_ngrams(scripts: list[EpisodeScript], language: str) -> tuple[list[float | None], list[tuple[str, int]]]:
    """Per script, the share of its distinct n-grams (REPEAT_N; all-stop-word n-grams ignored) already
    seen in an earlier script (None for the first); and the n-grams found in more than one script.
    """
    n = REPEAT_N[language]
    seen: set[tuple[str, ...]] = set()
    spread: Counter[tuple[str, ...]] = Counter()
    shares: list[float | None] = []
    for i, script in enumerate(scripts):
        grams = {g for seg in ts.segments(script) for g in ts.ngrams(seg, n) if not ts.is_stop(g)}
        if i == 0:
            shares.append(None)  # nothing earlier to repeat
        else:
            shares.append(round(len(grams & seen) / len(grams), 4) if grams else 0.0)
        spread.update(grams)
        seen |= grams
    joiner = "" if language == "zh" else " "
    top = sorted(((joiner.join(g), c) for g, c in spread.items() if c > 1), key=lambda t: (-t[1], t[0]))
    return shares, top[:TOP_REPEATED]


def character_presence(scripts: list[EpisodeScript], bible: Bible | None) -> list[CharacterPresence]:
    """Presence per bible character (per id seen in the scripts when there is no bible)."""
    present = {s.episode: {*(c for sc in s.scenes for c in sc.cast), *(d.speaker for d in s.dialogue())}
               for s in scripts}
    roles = {c.id: c.role for c in bible.characters} if bible is not None else \
        {who: "unknown" for who in sorted(set().union(*present.values()))}
    out = []
    for who, role in roles.items():
        run = longest = 0
        for s in scripts:
            run = 0 if who in present[s.episode] else run + 1
            longest = max(longest, run)
        eps = tuple(s.episode for s in scripts if who in present[s.episode])
        out.append(CharacterPresence(id=who, role=role, episodes=eps,
                                     share=round(len(eps) / len(scripts), 3) if scripts else 0.0,
                                     longest_absence=longest,
                                     flagged=role in LEAD_ROLES and longest > MAX_LEAD_ABSENCE))
    return out


def _facts_of(store: SeasonStore, episode: int) -> tuple[list[Entity], list[Fact]] | None:
    """The accepted revision's entities and facts, or None when there is no readable facts file."""
    revision = store.meta(store.episode_dir(episode) / "script.json").get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool):
        return None
    path = store.revision_path(episode, revision, "facts")
    if not path.is_file():
        return None
    try:
        return read_jsonl(path)
    except FactFileError:
        return None


def replay_continuity(store: SeasonStore, bible: Bible | None,
                      episodes: list[int]) -> tuple[dict[int, int], list[ContinuityNote]]:
    """Replay each episode's accepted facts, in order, over the bible's canon (`seed_canon`) in a
    throwaway ledger, the way the room records them: violating facts are reported and not kept.
    Returns violations per measured episode (unmeasured episodes are absent) and the findings.
    """
    counts: dict[int, int] = {}
    notes: list[ContinuityNote] = []
    with tempfile.TemporaryDirectory(prefix="cliffhanger-eval-") as tmp, Ledger(Path(tmp) / "canon.sqlite") as ledger:
        if bible is not None:
            seed_canon(ledger, bible)
        for ep in episodes:
            found = _facts_of(store, ep)
            if found is None:
                continue
            entities, facts = found
            for entity in entities:
                ledger.add_entity(entity, strict=False)
            try:
                violations = ledger.record_episode(ep, facts, source=f"eval episode {ep}")
            except LedgerError:  # facts stamped with another episode: the file is not this episode's
                continue
            counts[ep] = len(violations)
            notes += [ContinuityNote(ep, v.rule, v.fact.subject, v.message) for v in violations]
    return counts, notes


def _by_position(spec: SeasonSpec, episodes: list[EpisodeMetrics]) -> dict[str, EpisodeMetrics]:
    if not episodes:
        return {}
    by_number = {m.episode: m for m in episodes}
    out = {"first": episodes[0]}
    for point in spec.paywall.paywall_episodes:
        if point - 1 in by_number:
            out[f"before_paywall_{point}"] = by_number[point - 1]
        if point in by_number:
            out[f"paywall_{point}"] = by_number[point]
    out["last"] = episodes[-1]
    return out


def season_metrics(store: SeasonStore, pack: GenrePack, target: str | None = None) -> SeasonMetrics:
    """The metrics of a season's accepted episodes (see SeasonMetrics). `target` as in `episode_metrics`."""
    spec, bible = store.spec(), store.bible()
    numbers = store.accepted_episodes()
    scripts = [s for s in (store.script(n) for n in numbers) if s is not None]
    by_number = {s.episode: s for s in scripts}
    shares, top = repeated_ngrams(scripts, spec.language)
    counts, notes = replay_continuity(store, bible, [s.episode for s in scripts])
    episodes = [
        dataclasses.replace(
            episode_metrics(s, spec, pack, previous=by_number.get(s.episode - 1), bible=bible,
                            shots=store.shots(s.episode), target=target),
            repeated_ngram_share=share, continuity_violations=counts.get(s.episode))
        for s, share in zip(scripts, shares, strict=True)
    ]
    means: dict[str, float] = {}
    for f in dataclasses.fields(EpisodeMetrics):
        values = [float(v) for m in episodes if isinstance(v := getattr(m, f.name), int | float)]
        if f.name not in _NOT_AVERAGED and (mean := _mean(values)) is not None:
            means[f.name] = mean
    selling = [m.cliffhanger_present for m in episodes if m.paywall_cliffhanger]
    judged = {j.episode for j in judged_episodes(spec)}
    built = [float(m.payoff_built) for m in episodes if m.episode in judged]
    characters = character_presence(scripts, bible)
    measured_units = sum(m.units for m in episodes if m.continuity_violations is not None)
    violations = sum(counts.values())
    return SeasonMetrics(
        title=spec.title, language=spec.language, episodes_planned=spec.episodes, episodes=tuple(episodes),
        means=means, paywall_cliffhanger_rate=_mean([float(x) for x in selling]), payoff_build_rate=_mean(built),
        repeated_ngram_rate=_mean([x for x in shares if x is not None]), top_repeated_ngrams=tuple(top),
        characters=tuple(characters), absent_leads=tuple(c.id for c in characters if c.flagged),
        continuity_violations=violations, continuity_units=measured_units,
        continuity_per_10k_units=round(violations / measured_units * 10_000, 2) if measured_units else None,
        continuity_measured=len(counts),
        continuity_not_measured=tuple(s.episode for s in scripts if s.episode not in counts),
        continuity_findings=tuple(notes), by_position=_by_position(spec, episodes),
    )
