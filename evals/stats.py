"""Statistics over judged records: Bradley-Terry strengths, premise bootstrap, win rates, degradation.

Every function takes the records of results.jsonl as dicts (`PairJudgment.as_record()`,
`PointScore.as_record()`) and reads only the keys it needs: pair records `type`, `premise`, `a`, `b`,
`overall`, `criteria`, `position_consistent`; point records `type`, `config`, `premise`,
`relative_position`, `scores`. Records of other types, and pairs or points of configs not in
`configs`, are ignored. Where there is nothing to measure the value is NaN, never a made-up 0.

Strengths are Bradley-Terry log-strengths (natural log): P(i beats j) = 1 / (1 + exp(s_j - s_i)).
They are centred (mean 0), so `win_probability` of a config is its chance against an average config.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cliffhanger.evals.judge import CRITERIA

Record = Mapping[str, Any]
ALPHA = 0.1  # virtual wins each way between every two configs (see bradley_terry)
_ITERATIONS = 10_000


def _pairs(records: Iterable[Record], configs: list[str]) -> list[Record]:
    known = set(configs)
    return [r for r in records if r.get("type") == "pair" and r["a"] in known and r["b"] in known and r["a"] != r["b"]]


def _points(records: Iterable[Record], configs: list[str]) -> list[Record]:
    known = set(configs)
    return [r for r in records if r.get("type") == "point" and r["config"] in known]


def _wins(pairs: Iterable[Record], index: dict[str, int]) -> np.ndarray:
    """wins[i, j] = how often i beat j overall; a tie adds half a win each way."""
    wins = np.zeros((len(index), len(index)))
    for r in pairs:
        i, j = index[r["a"]], index[r["b"]]
        share = {"a": 1.0, "b": 0.0, "tie": 0.5}[r["overall"]]
        wins[i, j] += share
        wins[j, i] += 1.0 - share
    return wins


def _fit(wins: np.ndarray, alpha: float) -> np.ndarray:
    import choix  # imports scipy: only when a fit is asked for

    if len(wins) < 2:
        return np.zeros(len(wins))
    # choix's ILSR takes fractional counts, so a tie's half wins need no duplication. The prior is a
    # virtual tie between every two configs: unlike choix's own alpha (a rate added to the LSR chain),
    # it pulls a config without comparisons to the middle instead of somewhere arbitrary.
    prior = np.full_like(wins, alpha)
    np.fill_diagonal(prior, 0.0)
    theta = choix.ilsr_pairwise_dense(wins + prior, max_iter=_ITERATIONS, tol=1e-8)
    return theta - theta.mean()


def bradley_terry(records: Iterable[Record], configs: list[str], *, alpha: float = ALPHA) -> dict[str, float]:
    """Centred Bradley-Terry strengths from the overall outcomes of the pair records.

    A tie counts as half a win for each side. `alpha` is a small regularisation: `alpha` virtual wins
    each way between every two configs (a virtual tie), so a config that never won, or was never
    compared, gets a finite strength; with no pairs at all every strength is 0.
    """
    index = {c: i for i, c in enumerate(configs)}
    theta = _fit(_wins(_pairs(records, configs), index), alpha)
    return {c: float(theta[i]) for c, i in index.items()}


def win_probability(strengths: Mapping[str, float]) -> dict[str, float]:
    """Each config's chance of beating a config of mean strength (0.5 = average)."""
    return {c: 1.0 / (1.0 + math.exp(-s)) for c, s in strengths.items()}


def bootstrap(records: Iterable[Record], configs: list[str], n: int = 1000, seed: int = 0, ci: float = 0.95, *,
              alpha: float = ALPHA) -> dict[str, tuple[float, float]]:
    """Percentile intervals of the strengths, resampling premises with replacement.

    A drawn premise brings all of its pairs (every episode, every config pair), so the interval reflects
    how much the verdict depends on which premises were written, not the number of pairs judged. With
    no premises the interval is (NaN, NaN); with one it has zero width: report the premise count.
    """
    if not 0 < ci < 1 or n < 1:
        raise ValueError("ci must be between 0 and 1 and n at least 1")
    index = {c: i for i, c in enumerate(configs)}
    by_premise: dict[str, list[Record]] = defaultdict(list)
    for r in _pairs(records, configs):
        by_premise[r["premise"]].append(r)
    if not by_premise:
        return {c: (math.nan, math.nan) for c in configs}
    per_premise = np.stack([_wins(rs, index) for rs in by_premise.values()])
    rng = np.random.default_rng(seed)
    k = len(per_premise)
    fits = np.empty((n, len(configs)))
    for draw in range(n):
        counts = np.bincount(rng.integers(0, k, size=k), minlength=k)
        fits[draw] = _fit(np.tensordot(counts, per_premise, axes=1), alpha)
    lo, hi = np.percentile(fits, [100 * (1 - ci) / 2, 100 * (1 + ci) / 2], axis=0)
    return {c: (float(lo[i]), float(hi[i])) for c, i in index.items()}


def premise_count(records: Iterable[Record], configs: list[str]) -> int:
    """How many premises the pair records cover: the sample size of the bootstrap."""
    return len({r["premise"] for r in _pairs(records, configs)})


def pair_counts(records: Iterable[Record], configs: list[str]) -> dict[str, int]:
    """How many pairwise judgments each config took part in."""
    counts = dict.fromkeys(configs, 0)
    for r in _pairs(records, configs):
        counts[r["a"]] += 1
        counts[r["b"]] += 1
    return counts


def win_rates(records: Iterable[Record], configs: list[str]) -> dict[str, dict[str, float]]:
    """Per config, per criterion and "overall": (wins + 0.5 ties) / comparisons; NaN without comparisons."""
    score: dict[str, dict[str, float]] = {c: defaultdict(float) for c in configs}
    seen: dict[str, int] = dict.fromkeys(configs, 0)
    for r in _pairs(records, configs):
        seen[r["a"]] += 1
        seen[r["b"]] += 1
        for criterion, outcome in [*r["criteria"].items(), ("overall", r["overall"])]:
            share = {"a": 1.0, "b": 0.0, "tie": 0.5}[outcome]
            score[r["a"]][criterion] += share
            score[r["b"]][criterion] += 1.0 - share
    keys = (*CRITERIA, "overall")
    return {c: {k: score[c][k] / seen[c] if seen[c] else math.nan for k in keys} for c in configs}


def position_consistency(records: Iterable[Record]) -> float:
    """Share of pair records whose two orders gave the same overall choice; NaN without pairs.

    A low rate means the judge mostly follows the order it reads in: its verdicts become ties.
    """
    flags = [bool(r["position_consistent"]) for r in records if r.get("type") == "pair"]
    return sum(flags) / len(flags) if flags else math.nan


@dataclass(frozen=True)
class Degradation:
    """How a config's pointwise scores (mean over criteria) move through the season.

    `curve`: (relative position, mean score) for each judged relative position, ascending.
    `first`/`last`: mean score of each premise's earliest and latest judged episode (premises with at
    least two judged positions). `slope`: least-squares change in score from episode 1 (0) to the last (1).
    """

    curve: tuple[tuple[float, float], ...]
    first: float
    last: float
    slope: float
    n: int


def degradation(records: Iterable[Record], configs: list[str]) -> dict[str, Degradation]:
    """Per config, the Degradation of its point records (all NaN and n=0 without any)."""
    rows: dict[str, list[tuple[str, float, float]]] = {c: [] for c in configs}
    for r in _points(records, configs):
        scores = list(r["scores"].values())
        rows[r["config"]].append((r["premise"], round(float(r["relative_position"]), 4), sum(scores) / len(scores)))
    out = {}
    for c, points in rows.items():
        at: dict[float, list[float]] = defaultdict(list)
        by_premise: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for premise, x, y in points:
            at[x].append(y)
            by_premise[premise].append((x, y))
        ends = [(min(ps)[1], max(ps)[1]) for ps in by_premise.values() if len({x for x, _ in ps}) > 1]
        xs = np.array([x for _, x, _ in points])
        ys = np.array([y for _, _, y in points])
        slope = float(np.polyfit(xs, ys, 1)[0]) if len(set(xs.tolist())) > 1 else math.nan
        out[c] = Degradation(
            curve=tuple((x, float(np.mean(at[x]))) for x in sorted(at)),
            first=float(np.mean([f for f, _ in ends])) if ends else math.nan,
            last=float(np.mean([t for _, t in ends])) if ends else math.nan,
            slope=slope, n=len(points))
    return out
