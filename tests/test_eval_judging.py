"""Judging, statistics and the report of `cliffhanger eval`: blind pairwise verdicts in both orders,
length control, Bradley-Terry with a premise bootstrap, win rates, degradation, and the report files."""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cliffhanger.agents.errors import ModelOutputError
from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles.continuity import script_text
from cliffhanger.agents.season.artifacts import EpisodeScript, count_units
from cliffhanger.evals import stats
from cliffhanger.evals.judge import (
    CRITERIA,
    CUT_MARK,
    Candidate,
    RecordError,
    judge_pair,
    judge_point,
    load_results,
    parse_record,
    same_family,
    truncate_common,
)
from cliffhanger.evals.report import write_report

ROOT = Path(__file__).resolve().parents[1]


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


def script(body: str, words: int = 0, hook: str = "Ending hook: the door opens.") -> str:
    filler = [f"  △ beat {i} " + " ".join(["she", "runs", "fast"]) for i in range(words // 5)]
    return "\n".join(["Scene 1 (1-1) INT office, day; cast: lin", f"  lin: {body}", *filler, hook])


def cand(config: str, text: str, *, episode: int = 5, episodes: int = 9, language: str = "en") -> Candidate:
    return Candidate(config=config, premise="heiress", episode=episode, position="paywall 5", text=text,
                     language=language, episodes=episodes)


def shown(messages: list) -> tuple[str, str]:
    """The two episode texts as the judge saw them, in prompt order."""
    text = messages[0][1]
    # Each draft is preceded by what it follows (the previous episode's ending), then the markers.
    return (re.search(r"## Episode 1\n.*?<<<\n(.*?)\n>>>", text, re.S).group(1),
            re.search(r"## Episode 2\n.*?<<<\n(.*?)\n>>>", text, re.S).group(1))


def verdict(choose: Callable[[str], str], overall: str) -> dict:
    return {**{c: {"analysis": f"on {c}", "choice": choose(c)} for c in CRITERIA},
            "overall_analysis": "overall", "overall": overall}


def prefers(marker: str) -> Callable[[list], dict]:
    """A fair judge: picks whichever episode holds `marker`, wherever it is shown."""
    def answer(messages: list) -> dict:
        one, _ = shown(messages)
        pick = "1" if marker in one else "2"
        return verdict(lambda c: pick, pick)
    return answer


# ---- pairwise: both orders, the tie rule, blindness ----------------------------------------------

def test_a_judge_that_always_picks_episode_1_yields_only_ties_and_is_inconsistent() -> None:
    judge = ScriptedClient("judge", {"PairVerdict": [lambda m: verdict(lambda c: "1", "1")]})
    j = run(judge_pair(judge, cand("alpha", script("Hello there.")), cand("beta", script("Go away now."))))
    assert j.criteria == dict.fromkeys(CRITERIA, "tie") and j.overall == "tie"
    assert j.position_consistent is False
    assert [o.first for o in j.orders] == ["alpha", "beta"] and len(judge.calls) == 2


@pytest.mark.parametrize("winner", ["a", "b"])
def test_a_fair_judge_gives_the_marked_draft_the_win_in_both_orders(winner: str) -> None:
    a_text, b_text = script("MARKER wins." if winner == "a" else "Plain."), script("MARKER wins." if winner == "b" else "Plain.")
    judge = ScriptedClient("judge", {"PairVerdict": [prefers("MARKER")]})
    j = run(judge_pair(judge, cand("alpha", a_text), cand("beta", b_text)))
    assert j.criteria == dict.fromkeys(CRITERIA, winner) and j.overall == winner and j.position_consistent
    assert [o.raw["overall"] for o in j.orders] == (["1", "2"] if winner == "a" else ["2", "1"])


def test_mixed_criteria_map_back_to_a_and_b() -> None:
    def answer(messages: list) -> dict:
        one, _ = shown(messages)
        hooky, talky = ("1" if "HOOKY" in one else "2"), ("1" if "TALKY" in one else "2")
        per = {"hook": hooky, "dialogue": talky, "surprise": "1", "pacing": "tie"}
        return verdict(lambda c: per.get(c, "tie"), hooky)

    judge = ScriptedClient("judge", {"PairVerdict": [answer]})
    j = run(judge_pair(judge, cand("alpha", script("HOOKY open.")), cand("beta", script("TALKY talk."))))
    assert j.criteria["hook"] == "a" and j.criteria["dialogue"] == "b"
    assert j.criteria["surprise"] == "tie"  # position bias on one criterion: a disagreement, so a tie
    assert j.criteria["pacing"] == "tie" and j.criteria["freshness"] == "tie"
    assert j.overall == "a" and j.position_consistent


def test_config_names_never_reach_the_judge_and_every_prompt_is_recorded() -> None:
    judge = ScriptedClient("judge", {"PairVerdict": [prefers("MARKER")]})
    a, b = cand("gpt-4o-house-style", script("MARKER.")), cand("deepseek-bold-v2", script("Plain."))
    j = run(judge_pair(judge, a, b))
    for call in judge.calls:
        text = call.messages[0][1]
        assert "gpt-4o-house-style" not in text and "deepseek-bold-v2" not in text
        assert "Episode 1" in text and "Episode 2" in text and "paywall 5" in text
        assert call.prompt.startswith("judge.pairwise@")
    assert [o.prompt for o in j.orders] == [c.prompt for c in judge.calls]
    assert all(re.fullmatch(r"[0-9a-f]{64}", o.prompt_sha256) for o in j.orders)
    assert j.orders[0].prompt_sha256 != j.orders[1].prompt_sha256  # the two orders are different prompts


def test_a_failed_call_surfaces_as_the_model_layer_raised_it() -> None:
    def answer(messages: list) -> dict:
        one, _ = shown(messages)
        if "BOOM" in one:
            raise ModelOutputError("judge: no valid PairVerdict in 3 attempts")
        return verdict(lambda c: "1", "1")

    judge = ScriptedClient("judge", {"PairVerdict": [answer]})
    with pytest.raises(ModelOutputError, match="no valid PairVerdict"):
        run(judge_pair(judge, cand("alpha", script("Fine.")), cand("beta", script("BOOM."))))
    assert len(judge.calls) == 2


def test_records_round_trip_and_tampered_or_stale_records_are_caught(tmp_path: Path) -> None:
    judge = ScriptedClient("judge", {"PairVerdict": [prefers("MARKER")]})
    a, b = cand("alpha", script("MARKER.")), cand("beta", script("Plain."))
    j = run(judge_pair(judge, a, b))
    record = json.loads(json.dumps(j.as_record()))
    assert record["type"] == "pair" and set(record) == {
        "type", "premise", "episode", "position", "a", "b", "criteria", "overall", "position_consistent", "orders",
        "lengths"}
    assert parse_record(record) == j
    assert j.matches(a, b) and not j.matches(a, cand("beta", script("Plain, rewritten."))) and not j.matches(b, a)
    with pytest.raises(RecordError, match="follow from the raw"):
        parse_record({**record, "overall": "b"})
    path = tmp_path / "results.jsonl"
    torn = json.dumps(record)[:40]
    path.write_text("\n".join([json.dumps(record), json.dumps({"type": "metric", "x": 1}), torn + json.dumps(record),
                               torn]) + "\n")
    assert load_results(path) == [j] and load_results(tmp_path / "none.jsonl") == []
    path.write_text(json.dumps({**record, "criteria": {"hook": "a"}}) + "\n")
    with pytest.raises(RecordError, match="results.jsonl:1"):
        load_results(path)


def test_pointwise_scores_every_criterion_with_its_relative_position() -> None:
    answer = {c: {"analysis": f"on {c}", "score": i} for i, c in enumerate(CRITERIA)}
    judge = ScriptedClient("judge", {"PointVerdict": [answer]})
    c = cand("alpha", script("Hello."), episode=5, episodes=9)
    p = run(judge_point(judge, c))
    assert p.scores == {c: i for i, c in enumerate(CRITERIA)} and p.relative_position == 0.5
    assert p.mean == 4.5 and p.prompt.startswith("judge.pointwise@") and p.matches(c)
    assert parse_record(json.loads(json.dumps(p.as_record()))) == p
    assert "0-2 broken" in judge.calls[0].messages[0][1] and "alpha" not in judge.calls[0].messages[0][1]


def test_the_judge_schemas_work_through_the_real_model_layer(sim_url: str, sample) -> None:
    text = script_text(EpisodeScript.model_validate(sample("zh_script")))
    judge = ModelClient("judge", EndpointConfig(provider="sim", base_url=sim_url, model="sim-drama"), UsageLog())
    a, b = cand("alpha", text, language="zh"), cand("beta", text[: len(text) // 2], language="zh")
    j = run(judge_pair(judge, a, b))
    p = run(judge_point(judge, a))
    assert parse_record(j.as_record()) == j and parse_record(p.as_record()) == p
    assert j.lengths.judged == count_units(b.text) < j.lengths.a
    assert len(judge.usage.records) == 3 and all(r.role == "judge" for r in judge.usage.records)
    assert {r.prompt for r in judge.usage.records} == {j.orders[0].prompt, p.prompt}


def test_both_prompt_files_name_every_criterion() -> None:
    for name in ("judge.pairwise", "judge.pointwise"):
        text = (ROOT / "agents" / "prompts" / f"{name}.md").read_text(encoding="utf-8")
        assert all(f"- {c}:" in text for c in CRITERIA), name


# ---- length control ------------------------------------------------------------------------------

def test_a_long_and_a_short_draft_are_judged_at_the_common_length() -> None:
    long, short = script("MARKER long.", words=300), script("Short one.", words=40)
    judge = ScriptedClient("judge", {"PairVerdict": [prefers("MARKER")]})
    j = run(judge_pair(judge, cand("alpha", long), cand("beta", short)))
    assert j.lengths.a == count_units(long) > j.lengths.b == count_units(short) == j.lengths.judged
    for call in judge.calls:
        one, two = shown(call.messages)
        assert count_units(one) <= j.lengths.judged and count_units(two) <= j.lengths.judged
        assert "equalised in length" in call.messages[0][1]
    one, two = shown(judge.calls[0].messages)
    assert two == short and CUT_MARK in one and one.endswith("Ending hook: the door opens.")
    assert count_units(one) >= 0.9 * j.lengths.judged
    assert j.as_record()["lengths"] == {"a": j.lengths.a, "b": j.lengths.b, "judged": j.lengths.judged}


def test_truncation_cuts_at_lines_where_it_can_and_inside_a_line_when_it_must() -> None:
    a, b, units = truncate_common("one two\nthree four\nfive six seven", "x y z", "en")
    assert (units, b) == (3, "x y z") and count_units(a) <= 3 and a.split("\n")[0] == "one two"
    a, b, units = truncate_common("Run. Hide now. Never look back at the house.", "one two three four", "en")
    assert a == f"Run. Hide now.\n{CUT_MARK}" and units == 4
    a, _, units = truncate_common("林晚推门而入。看见满地碎片，她愣住了。", "他来了吗", "zh")
    assert count_units(a) <= units == 4 and a.startswith("林晚推门")


# ---- Bradley-Terry and the premise bootstrap -----------------------------------------------------

TRUE = {"w0": 0.0, "w1": 0.5, "w2": 1.0, "w3": 2.0}


def simulated(premises: int, seed: int = 7, episodes: int = 3) -> list[dict]:
    rng = np.random.default_rng(seed)
    names, out = list(TRUE), []
    for p in range(premises):
        for e in range(episodes):
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    u, p_a = rng.random(), 1 / (1 + math.exp(TRUE[b] - TRUE[a]))
                    overall = "tie" if u < 0.15 else "a" if rng.random() < p_a else "b"
                    out.append({"type": "pair", "premise": f"p{p}", "episode": e + 1, "a": a, "b": b,
                                "overall": overall, "criteria": dict.fromkeys(CRITERIA, overall),
                                "position_consistent": overall != "tie"})
    return out


def test_bradley_terry_recovers_a_known_order_with_ties_in_the_data() -> None:
    records = simulated(30)
    s = stats.bradley_terry(records, list(TRUE))
    assert sorted(s, key=s.get) == ["w0", "w1", "w2", "w3"]
    assert abs(sum(s.values())) < 1e-9
    p = stats.win_probability(s)
    assert p["w3"] > 0.5 > p["w0"]


def test_ties_count_half_a_win_each_way_and_one_sided_data_stay_finite() -> None:
    pair = {"type": "pair", "premise": "p", "criteria": {}, "position_consistent": True}
    ties = [{**pair, "a": "x", "b": "y", "overall": "tie"}] * 5
    assert stats.bradley_terry(ties, ["x", "y"]) == pytest.approx({"x": 0.0, "y": 0.0}, abs=1e-6)
    # a win and a tie weigh like 1.5 wins to 0.5: stronger than one win and one loss, weaker than two wins
    mixed = stats.bradley_terry([{**pair, "a": "x", "b": "y", "overall": "a"}, ties[0]], ["x", "y"])
    sweep = stats.bradley_terry([{**pair, "a": "x", "b": "y", "overall": "a"}] * 2, ["x", "y"])
    assert 0 < mixed["x"] < sweep["x"]
    lopsided = stats.bradley_terry([{**pair, "a": "x", "b": "y", "overall": "b"}] * 50, ["x", "y", "z"])
    assert all(math.isfinite(v) for v in lopsided.values()) and lopsided["y"] > lopsided["z"] > lopsided["x"]
    assert lopsided["z"] == pytest.approx(0.0, abs=1e-6)  # never compared: pulled to the middle


def test_bootstrap_intervals_hold_the_estimate_and_widen_with_fewer_premises() -> None:
    configs = list(TRUE)
    many, few = simulated(30), simulated(6)
    est, ci_many, ci_few = stats.bradley_terry(many, configs), stats.bootstrap(many, configs, n=300), stats.bootstrap(few, configs, n=300)
    assert all(ci_many[c][0] <= est[c] <= ci_many[c][1] for c in configs)
    width = {k: np.mean([hi - lo for lo, hi in ci.values()]) for k, ci in (("many", ci_many), ("few", ci_few))}
    assert width["few"] > width["many"]
    assert stats.bootstrap(many, configs, n=50, seed=3) == stats.bootstrap(many, configs, n=50, seed=3)
    assert stats.premise_count(many, configs) == 30


def test_the_bootstrap_draws_premises_not_pairs() -> None:
    pair = {"type": "pair", "criteria": {}, "position_consistent": True, "a": "x", "b": "y"}
    # One premise with 60 pairs for x; nine premises with one pair each for y. Drawing pairs would keep
    # x ahead in nearly every resample; drawing premises leaves the heavy one out about a third of the time.
    records = [{**pair, "premise": "heavy", "overall": "a"}] * 60
    records += [{**pair, "premise": f"light{i}", "overall": "b"} for i in range(9)]
    s = stats.bradley_terry(records, ["x", "y"])
    lo, hi = stats.bootstrap(records, ["x", "y"], n=400)["x"]
    assert s["x"] > 0 and lo < 0 < hi


# ---- win rates, position consistency, degradation ------------------------------------------------

def test_win_rates_consistency_and_degradation_on_hand_made_records() -> None:
    def pair(a: str, b: str, overall: str, hook: str, consistent: bool) -> dict:
        return {"type": "pair", "premise": "p", "a": a, "b": b, "overall": overall,
                "criteria": {**dict.fromkeys(CRITERIA, "tie"), "hook": hook}, "position_consistent": consistent}

    records = [pair("x", "y", "a", "a", True), pair("x", "y", "tie", "b", False), pair("y", "x", "a", "a", True),
               pair("x", "z", "b", "tie", False)]
    rates = stats.win_rates(records, ["x", "y", "z", "w"])
    assert rates["x"]["overall"] == pytest.approx((1 + 0.5 + 0 + 0) / 4)
    assert rates["x"]["hook"] == pytest.approx((1 + 0 + 0 + 0.5) / 4)
    assert rates["y"]["overall"] == pytest.approx((0 + 0.5 + 1) / 3) and rates["z"]["overall"] == 1.0
    assert rates["x"]["dialogue"] == 0.5 and math.isnan(rates["w"]["overall"])
    assert stats.position_consistency(records) == 0.5 and math.isnan(stats.position_consistency([]))
    assert stats.pair_counts(records, ["x", "y", "z"]) == {"x": 4, "y": 3, "z": 1}

    def point(config: str, premise: str, rel: float, score: int) -> dict:
        return {"type": "point", "config": config, "premise": premise, "relative_position": rel,
                "scores": dict.fromkeys(CRITERIA, score)}

    points = [point("x", "p", 0.0, 8), point("x", "p", 0.5, 7), point("x", "p", 1.0, 6),
              point("x", "q", 0.0, 6), point("x", "q", 1.0, 4), point("y", "p", 0.0, 5), point("y", "p", 1.0, 5)]
    d = stats.degradation(points, ["x", "y", "z"])
    assert d["x"].first == 7.0 and d["x"].last == 5.0 and d["x"].n == 5
    assert d["x"].curve == ((0.0, 7.0), (0.5, 7.0), (1.0, 5.0))
    assert d["x"].slope == pytest.approx(-2.0) and d["y"].slope == pytest.approx(0.0)
    assert d["z"].n == 0 and math.isnan(d["z"].slope) and math.isnan(d["z"].first)


# ---- the report ----------------------------------------------------------------------------------

def test_report_writes_markdown_html_and_plots_with_every_name_escaped(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    rename = {"w0": evil, "w1": "base | $x$"}
    records = [{**r, "a": rename.get(r["a"], r["a"]), "b": rename.get(r["b"], r["b"])} for r in simulated(8)]
    configs = [rename.get(c, c) for c in TRUE]
    records += [{"type": "point", "config": c, "premise": "p0", "episode": e, "relative_position": rel,
                 "scores": dict.fromkeys(CRITERIA, 6 - i)} for i, c in enumerate(configs)
                for e, rel in ((1, 0.0), (9, 1.0))]
    runs = {c: {"cost_usd": 0.01 * (i + 1), "wall_s": 10.0 + i, "calls": 40, "tokens_in": 9000, "tokens_out": 3000,
                "seasons": 8, "episodes": 72} for i, c in enumerate(configs)}
    metrics = {c: {"hook_in_first_5s": 0.8, "runtime_error_s": 4.2} for c in configs}
    meta = {"suite": "smoke", "judge": "gpt-4o", "date": "2025-01-01", "bootstrap": 200, "premises": 8,
            "warnings": [f"judge gpt-4o shares a family with writer {evil}"],
            "configs": {c: {"models": {"writer": f"sim:{c}"}, "fingerprint": "abc"} for c in configs}}
    paths = write_report(tmp_path, records=records, configs=configs, runs=runs, metrics=metrics, meta=meta)
    names = {p.name for p in paths}
    assert names == {"report.md", "report.html", "strengths.png", "criteria.png", "degradation.png", "cost.png"}
    assert all(p.exists() for p in paths)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths if p.suffix == ".png")
    page = (tmp_path / "report.html").read_text()
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("data:image/png;base64,") == 4 and "src='strengths.png'" not in page
    md = (tmp_path / "report.md").read_text()
    assert "| Config | Strength | 95% CI | Win prob. vs mean | Pairs |" in md
    assert "| w3 | +" in md and "base \\| $x$" in md and evil not in md
    assert "writes the stronger micro-drama" in md and "Only 8 premise(s)" not in md
    assert "bootstrap over premises (200 resamples" in md and "hook\\_in\\_first\\_5s" in md
    assert "## Configs" in md and "| w3 | writer: sim:w3 | abc |" in md and "- premises: 8" in md


def test_report_without_judgments_says_so(tmp_path: Path) -> None:
    paths = write_report(tmp_path, records=[], configs=["a", "b"], runs={}, metrics={}, meta={"suite": "smoke"})
    assert {p.name for p in paths} == {"report.md", "report.html"}
    md = (tmp_path / "report.md").read_text()
    assert "no verdict" in md and "No pointwise scores" in md


# ---- judge independence --------------------------------------------------------------------------

@pytest.mark.parametrize(("judge", "writers", "same"), [
    ("gpt-4o", ["gpt-4o-mini"], True),
    ("openai/gpt-4o", ["o3-mini"], True),
    ("deepseek-chat", ["deepseek-reasoner"], True),
    ("qwen-max", ["qwen2.5-7b-instruct"], True),
    ("claude-3-5-sonnet", ["claude-3-haiku"], True),
    ("gemini-1.5-pro", ["gemma-3-270m"], True),
    ("llama3.1:70b", ["meta-llama/Llama-3.1-8B-Instruct"], True),
    ("sim-drama", ["sim-drama"], True),
    ("gpt-4o", ["deepseek-chat", "qwen-plus"], False),
    ("claude-3-5-sonnet", ["gpt-4o", "gemini-2.0-flash"], False),
    ("deepseek-chat", ["sim-drama", "gemma-3-270m"], False),
    ("deepseek-r1-distill-llama-70b", ["llama3.1:8b"], True),
    ("deepseek-r1-distill-qwen-32b", ["deepseek-chat"], True),
    ("chatgpt-4o-latest", ["gpt-4.1"], True),
    ("mistral-large", ["llama3.1:8b", "o1"], False),
    ("my-house-model", ["my-house-model"], True),
    ("my-house-model", ["other-model"], False),
])
def test_same_family(judge: str, writers: list[str], same: bool) -> None:
    assert same_family(judge, writers) is same
