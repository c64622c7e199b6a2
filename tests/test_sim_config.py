"""Sim configuration: --faults and --quirks parsing, fault plans, SimConfig checks."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from cliffhanger.agents.sim.config import (
    FAULT_KINDS,
    QUIRKS,
    FaultPlan,
    SimConfig,
    parse_faults,
    parse_quirks,
)
from cliffhanger.agents.sim.faults import draw_fault, malform


def test_parse_faults_reads_every_kind() -> None:
    plan = parse_faults("429:0.1, 500:0.05,timeout:0.02,malformed:0.05,truncate:0.03,THINK:0.1")
    assert dict(plan.probabilities) == {"429": 0.1, "500": 0.05, "timeout": 0.02, "malformed": 0.05,
                                        "truncate": 0.03, "think": 0.1}
    assert parse_faults("") == FaultPlan() and not parse_faults(" ")


@pytest.mark.parametrize(("spec", "says"), [
    ("oops:0.1", "unknown fault 'oops' in --faults: use KIND:PROBABILITY with KIND one of 429, 500, timeout"),
    ("429", "has no probability"),
    ("429:lots", "not a number"),
    ("500:1.5", "between 0 and 1"),
    ("500:-0.1", "between 0 and 1"),
    ("500:nan", "between 0 and 1"),
    ("500:0.1,500:0.2", "twice"),
    ("429:0.6,500:0.6", "add up to 1.2"),
])
def test_bad_fault_specs_say_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        parse_faults(spec)
    message = str(info.value)
    assert says in message and "\n" not in message


def test_parse_quirks() -> None:
    assert parse_quirks("no-json-schema, think") == frozenset({"no-json-schema", "think"})
    assert parse_quirks("") == frozenset()
    assert set(QUIRKS) == {"no-json-schema", "no-tools", "json-object-only", "no-usage", "no-stream-usage", "think",
                           "html", "run-on"}
    with pytest.raises(ValueError) as info:
        parse_quirks("think,no-jason")
    assert str(info.value).startswith("unknown quirk 'no-jason' in --quirks: use a comma list of no-json-schema")


def test_sim_config_defaults_and_checks(tmp_path: Path) -> None:
    config = SimConfig()
    assert (config.host, config.port, config.seed, config.tps, config.ttft_ms, config.max_concurrency) == (
        "127.0.0.1", 0, 0, 0.0, 0, 0)
    assert config.faults == FaultPlan() and config.quirks == frozenset() and config.log_path is None
    assert config.api_key is None and config.hang_s == 120.0 and config.models == ("sim-drama",)
    assert "sk-" not in repr(SimConfig(api_key="sk-hidden"))
    with pytest.raises(ValueError, match="unknown quirk"):
        SimConfig(quirks=frozenset({"bogus"}))
    with pytest.raises(ValueError):
        SimConfig(tps=-1)
    with pytest.raises(ValueError, match="unknown fault"):
        FaultPlan((("boom", 0.1),))


def test_fault_draws_follow_the_probabilities() -> None:
    plan = parse_faults("429:0.2,500:0.3")
    draws = [draw_fault(plan, 0, "{}", n) for n in range(4000)]
    assert abs(draws.count("429") / 4000 - 0.2) < 0.03
    assert abs(draws.count("500") / 4000 - 0.3) < 0.03
    assert draws == [draw_fault(plan, 0, "{}", n) for n in range(4000)]
    assert draws != [draw_fault(plan, 1, "{}", n) for n in range(4000)]
    for kind in FAULT_KINDS:
        assert draw_fault(FaultPlan(((kind, 1.0),)), 0, "x", 0) == kind
    assert draw_fault(FaultPlan(), 0, "x", 0) is None


@pytest.mark.parametrize("text", ['{"a": 1}', "{}", "[]", '[{"a": [1]}]', '"str"', "5"])
def test_malform_never_parses(text: str) -> None:
    import json

    for seed in range(10):
        with pytest.raises(json.JSONDecodeError):
            json.loads(malform(text, random.Random(seed)))


def test_entry_points_are_importable_where_callers_look_for_them() -> None:
    from cliffhanger.agents.sim import config, faults, runner, server

    assert faults.parse_faults is config.parse_faults and faults.parse_quirks is config.parse_quirks
    assert faults.FaultPlan is config.FaultPlan and server.SimConfig is config.SimConfig
    # the runners live in runner.py only: server.py re-exporting them made an import circle
    assert callable(runner.run_in_thread) and callable(runner.serve) and callable(server.create_app)
    assert not hasattr(server, "run_in_thread")
