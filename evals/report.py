"""The eval report: report.md, a self-contained report.html and the PNG plots they show.

Both documents are rendered from one list of blocks, so they say the same thing. All text that came
from a user or a model (config names, metric names, warnings) is escaped: `html.escape` in the HTML,
markdown's table and emphasis characters plus `<`, `>`, `&` in the markdown, `$` (mathtext) in plots.
Plots use matplotlib's `Figure` directly (the Agg renderer, no pyplot, no GUI backend, nothing global),
imported only when a report is written.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cliffhanger.evals import stats
from cliffhanger.evals.judge import CRITERIA
from cliffhanger.evals.lexicons import PAYOFF_BUILD, PAYOFF_STEPS
from cliffhanger.evals.suites import JUDGED_ROLES, JUDGED_RULE, ROLE_LABELS, roles_of

RUN_COLUMNS = (("cost_usd", "Cost (USD)"), ("wall_s", "Wall (s)"), ("calls", "Calls"), ("tokens_in", "Tokens in"),
               ("tokens_out", "Tokens out"), ("seasons", "Seasons"), ("episodes", "Episodes"))
META_KEYS = ("suite", "judge", "date", "warnings", "length_control", "bootstrap", "seed")
LOW_PREMISES = 5
LOW_CONSISTENCY = 0.6


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Image:
    path: Path
    alt: str


Block = Heading | Para | Bullets | Table | Image


def _num(value: Any, fmt: str = "{:.2f}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if "+" in fmt and abs(value) < 0.005:
        value = 0.0  # no "-0.00"
    return fmt.format(value)


def _compact(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_compact(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_compact(v) for v in value)
    return str(value)


def _meta_sections(meta: Mapping[str, Any]) -> list[Block]:
    """Other meta entries: a mapping of mappings (e.g. configs -> description) becomes a table."""
    blocks: list[Block] = []
    for key, value in meta.items():
        if key in META_KEYS or not isinstance(value, Mapping) or not value:
            continue
        blocks.append(Heading(2, str(key).replace("_", " ").capitalize()))
        if all(isinstance(v, Mapping) for v in value.values()):
            cols = list(dict.fromkeys(c for v in value.values() for c in v))
            blocks.append(Table((str(key), *map(str, cols)), tuple(
                (str(k), *(_compact(v.get(c, "")) for c in cols)) for k, v in value.items())))
        else:
            blocks.append(Bullets(tuple(f"{k}: {_compact(v)}" for k, v in value.items())))
    return blocks


def _verdict(order: list[str], strengths: dict[str, float], ci: dict[str, tuple[float, float]], n_pairs: int) -> str:
    if n_pairs == 0 or len(order) < 2:
        return "No pairwise judgments between configurations: no verdict."
    best, runner = order[0], order[1]
    (b_lo, b_hi), (r_lo, r_hi) = ci[best], ci[runner]
    s = {c: _num(v, "{:+.2f}") for c, v in (("b", strengths[best]), ("bl", b_lo), ("bh", b_hi),
                                           ("r", strengths[runner]), ("rl", r_lo), ("rh", r_hi))}
    head = (f"{best} writes the stronger micro-drama (strength {s['b']}, 95% CI {s['bl']} to {s['bh']}) ahead of "
            f"{runner} ({s['r']}, {s['rl']} to {s['rh']}); ")
    if b_lo > r_hi:
        return head + "the intervals do not overlap: the lead is clear at 95%."
    return head + "the intervals overlap: the lead is not established; judge more premises to separate them."


def _by_role(records: list[dict], configs: list[str]) -> list[Block]:
    """Where seasons win and sag: per config and judged role (`suites.judged_episodes`), the mean pointwise
    score and the pairwise overall win rate of the episodes judged in that role."""
    rows = []
    for c in configs:
        for role in JUDGED_ROLES:
            mine = [r for r in records if role in roles_of(str(r.get("position", "")))]
            points = [sum(r["scores"].values()) / len(r["scores"]) for r in mine
                      if r.get("type") == "point" and r.get("config") == c and r.get("scores")]
            wins = stats.win_rates(mine, configs)[c]["overall"]
            if points or not math.isnan(wins):
                rows.append((c, ROLE_LABELS[role], str(len(points)),
                             _num(sum(points) / len(points) if points else None), _num(wins, "{:.0%}")))
    if not rows:
        return [Para("No judged episode carries a known position.")]
    return [Para("Mean pointwise score (0-10, all criteria) and pairwise overall win rate of the episodes judged "
                 "in each position; an episode in two positions counts in both."),
            Table(("Config", "Position", "Scored", "Mean score", "Pairwise win rate"), tuple(rows))]


def _craft(configs: list[str], metrics: Mapping[str, Mapping[str, float]]) -> list[Block]:
    """Slop rate and payoff build per config, with what the payoff-build proxy looks for."""
    rows = tuple((c, _num(metrics.get(c, {}).get("mean_slop_rate")),
                  _num(metrics.get(c, {}).get("payoff_build_rate"), "{:.0%}")) for c in configs)
    patterns = tuple((step, lang, "  ".join(PAYOFF_BUILD[step][lang])) for step in PAYOFF_STEPS for lang in ("zh", "en"))
    return [
        Para("Slop rate: AI-prose tics (genres.cringe families and the pack's own) per 1,000 units (CJK characters "
             "or words), mean over all episodes; lower is better. Payoff build: the share of judged episodes whose "
             "script holds, in order, a public commitment by the antagonist, a turn by proof, and a price paid. "
             "Payoff build is a keyword proxy: it finds the words below in order, not whether the scene lands."),
        Table(("Config", "Slop rate (per 1,000)", "Payoff build (judged episodes)"), rows),
        Table(("Step", "Language", "Patterns"), patterns),
    ]


def _blocks(out: Path, records: list[dict], configs: list[str], runs: Mapping[str, Mapping[str, Any]],
            metrics: Mapping[str, Mapping[str, float]], meta: Mapping[str, Any]) -> list[Block]:
    n_boot, seed = int(meta.get("bootstrap") or 1000), int(meta.get("seed") or 0)
    strengths = stats.bradley_terry(records, configs)
    ci = stats.bootstrap(records, configs, n=n_boot, seed=seed)
    probs = stats.win_probability(strengths)
    counts = stats.pair_counts(records, configs)
    rates = stats.win_rates(records, configs)
    consistency = stats.position_consistency(r for r in records if r.get("a") in configs and r.get("b") in configs)
    degradation = stats.degradation(records, configs)
    n_premises = stats.premise_count(records, configs)
    n_pairs = sum(counts.values()) // 2
    order = sorted(configs, key=lambda c: -strengths[c])
    plots = _plots(out, order, strengths, ci, rates, degradation, runs)

    blocks: list[Block] = [Heading(1, f"Eval report: {meta.get('suite', 'suite')}")]
    date = meta.get("date") or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts = [f"Judge: {meta.get('judge', 'n/a')}", f"Date: {date}",
             f"Configurations: {', '.join(configs)}", f"Premises judged: {n_premises}; pairwise judgments: {n_pairs}"]
    facts += [f"{k}: {_compact(v)}" for k, v in meta.items() if k not in META_KEYS and not isinstance(v, Mapping)]
    blocks += [Bullets(tuple(facts)), Heading(2, "Verdict"), Para(_verdict(order, strengths, ci, n_pairs)),
               *_meta_sections(meta)]

    blocks += [Heading(2, "Strengths (Bradley-Terry)"), Table(
        ("Config", "Strength", "95% CI", "Win prob. vs mean", "Pairs"),
        tuple((c, _num(strengths[c], "{:+.2f}"), f"{_num(ci[c][0], '{:+.2f}')} to {_num(ci[c][1], '{:+.2f}')}",
               _num(probs[c], "{:.0%}"), str(counts[c])) for c in order))]
    blocks += [Image(plots["strengths"], "Strengths with 95% intervals")] if "strengths" in plots else []

    keys = (*CRITERIA, "overall")
    blocks += [Heading(2, "Criterion win rates"),
               Para("Wins plus half the ties over comparisons; 50% is level with the field."),
               Table(("Config", *keys), tuple((c, *(_num(rates[c][k], "{:.0%}") for k in keys)) for c in order))]
    blocks += [Image(plots["criteria"], "Criterion win rates")] if "criteria" in plots else []

    blocks += [Heading(2, "Judge position consistency"), Para(
        f"{_num(consistency, '{:.0%}')} of {n_pairs} pairwise judgments gave the same overall choice in both "
        "orders; the rest count as ties.")]

    blocks += [Heading(2, "Degradation through the season")]
    if any(d.n for d in degradation.values()):
        blocks += [Para("Mean pointwise score (0-10, all criteria) of the first and last judged episode, and the "
                        "least-squares change from episode 1 to the finale."),
                   Table(("Config", "First", "Last", "Slope", "Scores"),
                         tuple((c, _num(d.first), _num(d.last), _num(d.slope, "{:+.2f}"), str(d.n))
                               for c, d in degradation.items()))]
        blocks += [Image(plots["degradation"], "Degradation curves")] if "degradation" in plots else []
    else:
        blocks += [Para("No pointwise scores were recorded.")]

    blocks += [Heading(2, "Where seasons win and sag"), *_by_role(records, configs)]
    blocks += [Heading(2, "Slop rate and payoff build"), *_craft(configs, metrics)]

    blocks += [Heading(2, "Cost and wall time"), Table(
        ("Config", *(label for _, label in RUN_COLUMNS)),
        tuple((c, *(_num(runs.get(c, {}).get(k), "{:.4f}" if k == "cost_usd" else "{:,.0f}" if k != "wall_s"
                         else "{:.1f}") for k, _ in RUN_COLUMNS)) for c in configs))]
    blocks += [Image(plots["cost"], "Cost and wall time")] if "cost" in plots else []

    names = list(dict.fromkeys(m for c in configs for m in metrics.get(c, {})))
    blocks += [Heading(2, "Metrics")]
    blocks += [Table(("Metric", *configs), tuple((m, *(_num(metrics.get(c, {}).get(m), "{:.3g}") for c in configs))
                                                 for m in names))] if names else [Para("No metrics were recorded.")]

    warnings = [str(w) for w in meta.get("warnings", ())]
    if n_pairs and n_premises < LOW_PREMISES:
        warnings.append(f"Only {n_premises} premise(s): the intervals are rough; use a larger suite to decide.")
    if n_pairs and consistency < LOW_CONSISTENCY:
        warnings.append(f"The judge agreed with itself across orders in only {consistency:.0%} of pairs: it follows "
                        "the reading order; use a stronger judge.")
    blocks += [Heading(2, "Warnings"), Bullets(tuple(warnings)) if warnings else Para("None.")]

    blocks += [Heading(2, "Method"), Bullets((
        "Pairwise and blind: two configurations' drafts of the same premise and episode, labelled Episode 1 and "
        "Episode 2 (never by configuration), judged once in each order.",
        "A criterion or the overall choice is won only when both orders agree; a disagreement is a tie.",
        str(meta.get("length_control") or "Length control: both drafts are cut to the shorter one's length "
            "(words or CJK characters) before judging, keeping the opening and the last line; the judge is told."),
        f"Bradley-Terry strengths from the overall outcomes (choix, log scale, centred at 0; a tie is half a win "
        f"each way; {stats.ALPHA} virtual wins each way per pair regularise). Win prob. vs mean = 1 / (1 + e^-s).",
        f"95% intervals: percentile bootstrap over premises ({n_boot} resamples, seed {seed}, {n_premises} "
        "premises); a drawn premise brings all of its pairs. Non-overlapping intervals mean a clear lead.",
        "Pointwise 0-10 scores are diagnostics (degradation), not part of the ranking.",
        JUDGED_RULE + " The judge sees the premise, the previous episode's ending in the same season and the "
        "series notes.",
    ))]
    return blocks


# ---- plots ---------------------------------------------------------------------------------------

def _label(text: str) -> str:
    return text.replace("$", r"\$")  # a "$" would start matplotlib mathtext


def _plots(out: Path, order: list[str], strengths: dict[str, float], ci: dict[str, tuple[float, float]],
           rates: dict[str, dict[str, float]], degradation: dict[str, stats.Degradation],
           runs: Mapping[str, Mapping[str, Any]]) -> dict[str, Path]:
    from matplotlib.figure import Figure

    def save(fig: Figure, name: str) -> None:
        paths[name] = out / f"{name}.png"
        fig.savefig(paths[name], dpi=110)

    paths: dict[str, Path] = {}
    shown = list(reversed(order))
    if all(not math.isnan(ci[c][0]) for c in order):
        fig = Figure(figsize=(6.5, 1.2 + 0.45 * len(order)), layout="constrained")
        ax = fig.subplots()
        ax.errorbar([strengths[c] for c in shown], range(len(shown)), fmt="o", capsize=4,
                    xerr=[[strengths[c] - ci[c][0] for c in shown], [ci[c][1] - strengths[c] for c in shown]])
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(range(len(shown)), [_label(c) for c in shown])
        ax.set_xlabel("Bradley-Terry strength (log scale, 0 = mean config), 95% interval")
        save(fig, "strengths")
    if any(not math.isnan(v) for c in order for v in rates[c].values()):
        keys = (*CRITERIA, "overall")
        fig = Figure(figsize=(9, 1.6 + 0.45 * len(order)), layout="constrained")
        ax = fig.subplots()
        grid = [[rates[c][k] for k in keys] for c in order]
        image = ax.imshow(grid, cmap="RdBu", vmin=0, vmax=1, aspect="auto")
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                ax.text(j, i, _num(v, "{:.0%}"), ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(keys)), [k.replace("_", " ") for k in keys], rotation=35, ha="right")
        ax.set_yticks(range(len(order)), [_label(c) for c in order])
        fig.colorbar(image, ax=ax, label="win rate")
        save(fig, "criteria")
    if any(d.curve for d in degradation.values()):
        fig = Figure(figsize=(6.5, 4), layout="constrained")
        ax = fig.subplots()
        for c, d in degradation.items():
            if d.curve:
                ax.plot([x for x, _ in d.curve], [y for _, y in d.curve], marker="o", label=_label(c))
        ax.set_xlabel("position in the season (0 = episode 1, 1 = finale)")
        ax.set_ylabel("mean pointwise score (0-10)")
        ax.set_ylim(0, 10)
        ax.legend()
        save(fig, "degradation")
    configs = [c for c in shown if c in runs]
    if configs:
        fig = Figure(figsize=(9, 1.2 + 0.45 * len(configs)), layout="constrained")
        for ax, (key, label) in zip(fig.subplots(1, 2), (("cost_usd", "cost (USD)"), ("wall_s", "wall time (s)")),
                                    strict=True):
            ax.barh(range(len(configs)), [float(runs[c].get(key) or 0.0) for c in configs])
            ax.set_yticks(range(len(configs)), [_label(c) for c in configs])
            ax.set_xlabel(label)
        save(fig, "cost")
    return paths


# ---- rendering -----------------------------------------------------------------------------------

def _md(text: str) -> str:
    text = html.escape(" ".join(text.split()), quote=False)
    for ch in "\\|*`_[]":
        text = text.replace(ch, "\\" + ch)
    return text


def _markdown(blocks: Sequence[Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            lines += ["#" * b.level + " " + _md(b.text), ""]
        elif isinstance(b, Para):
            lines += [_md(b.text), ""]
        elif isinstance(b, Bullets):
            lines += [*("- " + _md(i) for i in b.items), ""]
        elif isinstance(b, Table):
            lines += ["| " + " | ".join(_md(h) for h in b.headers) + " |",
                      "|" + "|".join("---" for _ in b.headers) + "|",
                      *("| " + " | ".join(_md(v) for v in row) + " |" for row in b.rows), ""]
        else:
            lines += [f"![{_md(b.alt)}]({b.path.name})", ""]
    return "\n".join(lines)


_CSS = ("body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "th:first-child,td:first-child{text-align:left}img{max-width:100%}")


def _html(blocks: Sequence[Block], title: str) -> str:
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
             f"<style>{_CSS}</style></head><body>"]
    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            parts.append(f"<p>{e(b.text)}</p>")
        elif isinstance(b, Bullets):
            parts.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{e(h)}</th>" for h in b.headers)
            body = "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>" for row in b.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            data = base64.b64encode(b.path.read_bytes()).decode("ascii")
            parts.append(f"<p><img alt='{e(b.alt)}' src='data:image/png;base64,{data}'></p>")
    return "\n".join([*parts, "</body></html>"])


def write_report(out: Path, *, records: list[dict], configs: list[str], runs: dict[str, dict],
                 metrics: dict[str, dict[str, float]], meta: dict) -> list[Path]:
    """Write report.md, report.html and the plots into `out`; returns every path written.

    `records`: results.jsonl records (pair and point; others ignored). `runs`: per config `cost_usd`,
    `wall_s`, `calls`, `tokens_in`, `tokens_out`, `seasons`, `episodes` (missing or None shows n/a).
    `metrics`: per config, metric name -> mean. `meta`: `suite`, `judge`, `date` (default: now),
    `warnings` (list of str, e.g. the same-family warning), `length_control` (a note replacing the
    default), `bootstrap` (resamples, default 1000) and `seed` (default 0); any other key is listed as a
    fact, or, when its value is a mapping (e.g. `configs`: name -> description), gets its own section.
    A plot without data (no pair or point records, no runs) is not written.
    """
    if len(set(configs)) != len(configs):
        raise ValueError(f"configs must be distinct: {configs}")
    out.mkdir(parents=True, exist_ok=True)
    blocks = _blocks(out, records, configs, runs, metrics, meta)
    md, page = out / "report.md", out / "report.html"
    md.write_text(_markdown(blocks), encoding="utf-8")
    page.write_text(_html(blocks, f"Eval report: {meta.get('suite', 'suite')}"), encoding="utf-8")
    return [md, page, *(b.path for b in blocks if isinstance(b, Image))]
