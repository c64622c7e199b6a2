"""Running an eval: draft every premise with every config, measure, judge, report.

The output folder is the record and the cache:

    OUT/eval.json                       the suite, each config (models, switches, fingerprint), the judge
    OUT/seasons/<config>/<premise>/     one season folder per config and premise (usage.jsonl inside)
    OUT/judge_usage.jsonl               the judge's calls
    OUT/results.jsonl                   every judgment as it is made (prompts hashed, raw verdicts kept)
    OUT/metrics.json                    model-free metrics of every season
    OUT/report.md  report.html  *.png   the report

Seasons are drafted side by side (`seasons` at once) and each premise is judged as soon as all its seasons
exist (evals/drafting.py). Run the same command again and it continues: finished seasons are reused (an
unfinished one resumes from its checkpoint), judgments already in results.jsonl are not made again. A
budget stop, a failing season or judge, or Ctrl-C keep everything finished so far.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cliffhanger.agents.errors import ModelError, UserError
from cliffhanger.agents.llm.call_limits import Budget, BudgetExhausted
from cliffhanger.agents.llm.crew import RoleModel
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.profiles import Price
from cliffhanger.agents.llm.usage import read_usage, usage_summary
from cliffhanger.agents.roles.continuity import script_text
from cliffhanger.agents.season.store import SeasonStore, atomic_write
from cliffhanger.evals.configs import EvalConfig
from cliffhanger.evals.drafting import Drafted, JudgeFailed, draft_and_judge, season_dir, season_name
from cliffhanger.evals.drafting import EvalStopped as EvalStopped  # re-exported: callers import it from here
from cliffhanger.evals.suites import Premise, Suite, judged_episodes
from cliffhanger.genres.loader import load_catalog

Progress = Callable[[str], None]


@dataclass(frozen=True)
class EvalRequest:
    suite: Suite
    configs: list[EvalConfig]
    judge: EndpointConfig | None
    out: Path
    budget_usd: float | None = None
    judge_policy: CallPolicy = field(default_factory=CallPolicy)
    judge_prices: dict[str, Price] = field(default_factory=dict)
    bootstrap: int = 1000
    embedding: Any = None          # None: the multilingual USE model
    judge_model: RoleModel | None = None  # a ready model (tests: a scripted judge); overrides `judge`
    progress: Progress = lambda _msg: None
    seasons: int = 4               # seasons drafted at once
    server: str | None = None      # a LangGraph server's URL: room seasons are drafted there (evals/on_server.py)


@dataclass(frozen=True)
class EvalOutcome:
    stop: str                      # done, budget
    message: str
    paths: list[Path]
    seasons: int
    judgments: int


def _check_manifest(req: EvalRequest) -> None:
    """A resumed eval must compare the same things: a changed config under the same name is refused."""
    path = req.out / "eval.json"
    described = {c.name: c.describe() for c in req.configs}
    old: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        for name, d in described.items():
            before = (old.get("configs") or {}).get(name)
            if before and before.get("fingerprint") != d["fingerprint"]:
                raise UserError(f"config {name} changed since {req.out} was started (models or pipeline differ): "
                                "use another --out, or give the changed config another name")
        if old.get("suite") not in (None, req.suite.name):
            raise UserError(f"{req.out} holds an eval of suite {old.get('suite')}, not {req.suite.name}: use another --out")
        described = {**(old.get("configs") or {}), **described}
    judge = f"{req.judge.provider}:{req.judge.model}" if req.judge else "scripted"
    if path.exists() and old.get("judge") not in (None, judge) and _records(req.out / "results.jsonl"):
        raise UserError(f"{req.out} was judged by {old['judge']}, not {judge}: use another --out, or move "
                        "results.jsonl away to judge everything again")
    atomic_write(path, json.dumps({"suite": req.suite.name, "configs": described, "judge": judge},
                                  ensure_ascii=False, indent=2) + "\n")


async def _check_server(url: str) -> None:
    """One line (with the fix) before anything is drafted when no season server answers at `url`."""
    try:
        from langgraph_sdk import get_client
    except ImportError:
        raise UserError('--server needs the serve extra: pip install "cliffhanger[serve]"') from None
    from cliffhanger.agents.server.client import check_server

    await check_server(get_client(url=url), url)


def _spent(out: Path) -> float:
    return usage_summary(r for p in out.rglob("*usage.jsonl") for r in read_usage(p)).cost_usd


def _records(path: Path) -> list[Any]:
    """Judgments so far, validated; a torn last line (a crash mid-write) is dropped and judged again."""
    from cliffhanger.evals.judge import RecordError, load_results

    try:
        return load_results(path)
    except RecordError as exc:
        raise UserError(f"{exc}: results.jsonl was edited or written by another version; move it away to "
                        "judge again") from None


def _append(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":  # a torn line from a crash must not swallow this record
                fh.write(b"\n")
        fh.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def _key(r: dict[str, Any]) -> tuple[str, ...]:
    if r["type"] == "pair":
        return ("pair", r["premise"], str(r["episode"]), r["a"], r["b"])
    return ("point", r["config"], r["premise"], str(r["episode"]))


def current_records(req: EvalRequest, stores: dict[tuple[str, str], SeasonStore],
                    premises: list[Premise] | None = None) -> list[dict[str, Any]]:
    """The last judgment of every (premise, episode, configs) that still matches its scripts and prompts, in
    the suite's order (premise, episode, config; a pair before the first config's point), whatever order
    the judgments were made in. Only `premises`' when given."""
    cands = _candidates(req, stores, premises)
    ids = {p.id: i for i, p in enumerate(req.suite.premises)}
    cfgs = {c.name: i for i, c in enumerate(req.configs)}
    latest: dict[tuple[str, ...], Any] = {}
    for j in _records(req.out / "results.jsonl"):
        latest[_key(j.as_record())] = j

    def order(key: tuple[str, ...]) -> tuple[int, ...]:
        if key[0] == "pair":
            return ids.get(key[1], len(ids)), int(key[2]), cfgs.get(key[3], len(cfgs)), 0, cfgs.get(key[4], len(cfgs))
        return ids.get(key[2], len(ids)), int(key[3]), cfgs.get(key[1], len(cfgs)), 1, 0

    out = []
    for key, j in sorted(latest.items(), key=lambda kv: order(kv[0])):
        if key[0] == "pair":
            a, b = cands.get((j.a, j.premise, j.episode)), cands.get((j.b, j.premise, j.episode))
            ok = a is not None and b is not None and j.matches(a, b)
        else:
            c = cands.get((j.config, j.premise, j.episode))
            ok = c is not None and j.matches(c)
        if ok:
            out.append(j.as_record())
    return out


def series_notes(suite: Suite, premise: Premise) -> str:
    """The judge's series notes: the suite's and the premise's `notes`, or, when neither has any, the genre
    pack's: its name and description, tone, payoff rhythm and the criteria its critic weighs most.
    """
    own = "\n".join(n.strip() for n in (suite.notes, premise.notes) if n.strip())
    if own:
        return own
    pack = load_catalog().get(premise.genre)
    top = sorted(pack.rubric_weights, key=lambda c: -pack.rubric_weights[c])[:3]
    lo, hi = pack.payoff_every_s
    return (f"Genre: {pack.names.en} ({pack.description}). Tone: {pack.tone.strip()} A payoff lands every {lo}-{hi} "
            f"seconds. The genre's critic weighs most: {', '.join(c.replace('_', ' ') for c in top)}.")


def _candidates(req: EvalRequest, stores: dict[tuple[str, str], SeasonStore],
                premises: list[Premise] | None = None) -> dict[tuple[str, str, int], Any]:
    """The judged episodes of `premises` (all) that are drafted, by (config, premise, episode)."""
    from cliffhanger.evals.judge import Candidate, previous_ending

    out = {}
    for premise in req.suite.premises if premises is None else premises:
        notes = series_notes(req.suite, premise)
        for judged in judged_episodes(premise.spec()):
            ep = judged.episode
            for cfg in req.configs:
                store = stores.get((cfg.name, premise.id))
                script = store.script(ep) if store is not None else None
                if store is not None and script is not None:
                    bible = store.bible()
                    before = store.script(ep - 1) if ep > 1 else None
                    out[(cfg.name, premise.id, ep)] = Candidate(
                        config=cfg.name, premise=premise.id, episode=ep, position=judged.label,
                        text=script_text(script), language=premise.language, episodes=premise.episodes,
                        logline=premise.logline, bible_premise=bible.premise if bible is not None else "",
                        previous_ending=previous_ending(before) if before is not None else "", notes=notes)
    return out


async def _judge_premise(req: EvalRequest, judge: RoleModel, premise: Premise,
                         stores: dict[tuple[str, str], SeasonStore], slots: asyncio.Semaphore) -> int:
    """Pairwise (both orders) and pointwise judgments of the premise's judged episodes without a current one,
    at most `slots` at once; each is appended to results.jsonl whole when it is made. JudgeFailed when the
    judge fails (the judgments made before it are kept)."""
    from cliffhanger.evals.judge import judge_pair, judge_point

    results = req.out / "results.jsonl"
    have = {_key(r) for r in current_records(req, stores, [premise])}
    cands = _candidates(req, stores, [premise])
    names = [c.name for c in req.configs]
    made = 0

    async def one(what: str, ep: int, make: Any) -> None:
        nonlocal made
        async with slots:
            try:
                record = (await make).as_record()
            except BudgetExhausted:
                raise
            except ModelError as exc:
                raise JudgeFailed(f"{premise.id} episode {ep} ({what})", exc) from None
        _append(results, record)
        made += 1

    jobs = []
    for ep, _roles in judged_episodes(premise.spec()):
        for i, a in enumerate(names):
            ca = cands.get((a, premise.id, ep))
            for b in names[i + 1:]:
                cb = cands.get((b, premise.id, ep))
                if ca and cb and ("pair", premise.id, str(ep), a, b) not in have:
                    req.progress(f"judging {premise.id} ep {ep}: {a} vs {b}")
                    jobs.append(one(f"{a} vs {b}", ep, judge_pair(judge, ca, cb)))
            if ca and ("point", a, premise.id, str(ep)) not in have:
                jobs.append(one(a, ep, judge_point(judge, ca)))
    tasks = [asyncio.ensure_future(j) for j in jobs]
    try:
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for t in tasks:
            t.cancel()
    for kind in (BudgetExhausted, JudgeFailed, BaseException):  # the budget first: it ends the eval
        for o in outcomes:
            if isinstance(o, kind):
                raise o
    return made


def _metrics(req: EvalRequest, stores: dict[tuple[str, str], SeasonStore]) -> dict[str, dict[str, float]]:
    """Mean of every numeric season-level metric per config; every season's metrics into metrics.json."""
    from cliffhanger.evals.metrics import season_metrics

    per_season: dict[str, dict[str, Any]] = {}
    by_config: dict[str, list[dict[str, Any]]] = {}
    for cfg in req.configs:
        for premise in req.suite.premises:
            store = stores[(cfg.name, premise.id)]
            m = season_metrics(store, load_catalog().get(premise.genre), cfg.pipeline.target).as_dict()
            per_season[f"{cfg.name}/{premise.id}"] = m
            flat = {**m, **{f"mean_{k}": v for k, v in (m.get("means") or {}).items()}}
            by_config.setdefault(cfg.name, []).append(flat)
    atomic_write(req.out / "metrics.json", json.dumps(per_season, ensure_ascii=False, indent=2, default=str) + "\n")
    means: dict[str, dict[str, float]] = {}
    for name, rows in by_config.items():
        keys = sorted({k for r in rows for k, v in r.items() if isinstance(v, int | float) and not isinstance(v, bool)})
        means[name] = {k: round(sum(float(r[k]) for r in rows if isinstance(r.get(k), int | float)) /
                                max(1, sum(1 for r in rows if isinstance(r.get(k), int | float))), 4) for k in keys}
    return means


def _stop_unfinished(req: EvalRequest, state: Drafted) -> None:
    """EvalStopped (one line) when a budget stop, a failed season or the judge kept the eval from finishing."""
    if state.budget_stop:
        raise EvalStopped(f"{state.budget_stop}; finished seasons and judgments are kept in {req.out}")
    kept = len(_records(req.out / "results.jsonl"))
    parts = []
    if state.failed:
        order = [(c.name, p.id) for p in req.suite.premises for c in req.configs]
        named = "; ".join(f"{season_name(k)} ({state.failed[k]})" for k in order if k in state.failed)
        parts.append(f"{len(state.failed)} of {len(req.suite.premises) * len(req.configs)} seasons failed: {named}")
    if state.judge_error is not None:
        parts.append(f"the judge failed on {state.judge_error.where} ({state.judge_error.cause})")
    if parts:
        again = "fix the judge and run the same command" if not state.failed else "fix them and run the same command"
        seasons = "the other seasons" if state.failed else "the seasons"
        raise EvalStopped(f"{'; '.join(parts)}; {seasons} and {kept} judgments are kept in {req.out}: {again}")


def _runs(req: EvalRequest) -> dict[str, dict[str, float]]:
    out = {}
    for cfg in req.configs:
        usage = usage_summary(r for p in req.suite.premises
                              for r in read_usage(SeasonStore(season_dir(req.out, cfg.name, p.id)).usage_path))
        wall = 0.0
        episodes = 0
        for p in req.suite.premises:
            season = SeasonStore(season_dir(req.out, cfg.name, p.id))
            wall += season.eval_wall_s()
            episodes += len(season.accepted_episodes())
        out[cfg.name] = {"cost_usd": round(usage.cost_usd, 6), "wall_s": round(wall, 1), "calls": usage.calls,
                         "tokens_in": usage.tokens_in, "tokens_out": usage.tokens_out,
                         "seasons": len(req.suite.premises), "episodes": episodes}
    return out


async def run_eval(req: EvalRequest) -> EvalOutcome:
    """Draft, measure, judge and report; EvalStopped/BudgetExhausted (one line) when it cannot finish."""
    from cliffhanger.evals.judge import same_family
    from cliffhanger.evals.report import write_report

    if len(req.configs) < 2:
        raise UserError("an eval compares configurations: pass at least two --config files")
    if req.seasons < 1:
        raise UserError(f"--seasons {req.seasons}: must be at least 1 (seasons drafted at once)")
    if len({c.name for c in req.configs}) != len(req.configs):
        raise UserError("two configs have the same name: give each a distinct `name` (or file name)")
    try:
        req.out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UserError(f"--out {req.out} is a file (or lies under one): give a folder for the eval") from None
    _check_manifest(req)
    if req.server:
        await _check_server(req.server)
    budget = Budget(req.budget_usd, _spent(req.out)) if req.budget_usd is not None else None
    try:
        state = await draft_and_judge(req, budget, lambda judge, premise, stores, slots: _judge_premise(
            req, judge, premise, stores, slots))
    except BudgetExhausted as exc:  # one typical call does not fit at the start (the judge's crew)
        raise EvalStopped(f"{exc}; finished seasons and judgments are kept in {req.out}") from None
    _stop_unfinished(req, state)
    stores, judged = state.stores, state.judged
    metrics = _metrics(req, stores)
    writers = sorted({e.model for c in req.configs for e in c.endpoints.values()})
    judge_name = req.judge.model if req.judge else "scripted"
    warnings = [f"the judge ({judge_name}) is of the same model family as a model of the room ({', '.join(writers)}): "
                "expect it to favour its own family"] if req.judge and same_family(judge_name, writers) else []
    records = current_records(req, stores)
    paths = write_report(req.out, records=records, configs=[c.name for c in req.configs], runs=_runs(req),
                         metrics=metrics, meta={"suite": req.suite.name, "judge": judge_name, "warnings": warnings,
                                                "configs": {c.name: c.describe() for c in req.configs},
                                                "bootstrap": req.bootstrap})
    return EvalOutcome("done", f"report: {req.out / 'report.md'}", paths, len(stores), judged)
