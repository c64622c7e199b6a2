"""The catalogue for today's market (issue 18): at least 24 packs, each with its audience, its preferred
paywall mode, an antagonist ladder, cards, content-review notes, banned moves and two timed examples; the
ten genres added for the market each draft a 12-episode season against the sim with a clean arc check."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from season_kit import make_season, run, run_cli, sim_models

from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles.compliance import compliance_hits
from cliffhanger.agents.roles.critic import critique
from cliffhanger.agents.roles.plan_text import genre_brief
from cliffhanger.agents.roles.showrunner import decision_rules
from cliffhanger.agents.season.artifacts import ArcRow, ContinuityReport, EpisodeScript, SeasonSpec
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.genres.loader import load_catalog
from cliffhanger.genres.pack import AUDIENCE_GROUPS, RUBRIC_CRITERIA

PACKS = load_catalog(include_user_dir=False).packs
NEW = ("true_heiress", "era_drama", "cruel_love", "mind_reading", "divine_doctor", "period_sweet", "silver_romance",
       "secret_billionaire", "second_chance", "secret_baby")


def test_the_catalogue_holds_24_packs_and_the_new_genres() -> None:
    assert len(PACKS) >= 24
    assert set(NEW) <= set(PACKS)
    groups = {p.audience_group for p in PACKS.values()}
    assert groups == set(AUDIENCE_GROUPS), groups
    assert {p.paywall.preferred_mode for p in PACKS.values()} == {"paywall", "ad"}


@pytest.mark.parametrize("pid", sorted(PACKS))
def test_every_pack_carries_the_market_fields(pid: str) -> None:
    pack = PACKS[pid]
    assert pack.audience_group in AUDIENCE_GROUPS
    assert len(pack.ladder) >= 3 and len(pack.cards) >= 3 and len(pack.compliance) >= 3
    roles = {a.id: a.role for a in pack.archetypes}
    assert all(roles[r.archetype] in ("antagonist", "rival", "family") for r in pack.ladder)
    assert len(pack.moves.zh if pack.language == "zh" else pack.moves.en) >= 3
    assert pack.examples.opening_hook_s is not None and pack.examples.opening_hook_s >= 20  # the first ~30 s
    assert pack.examples.paywall_cliffhanger_s is not None
    assert pack.language == "en" or pack.audience_group != "overseas"


def test_no_two_packs_share_tropes_examples_or_cliffhanger_kinds() -> None:
    packs = list(PACKS.values())
    for attr in ("tropes", "examples", "kinds", "description", "tone"):
        values = [
            frozenset(t.name for t in p.tropes) if attr == "tropes"
            else (p.examples.opening_hook.strip(), p.examples.paywall_cliffhanger.strip()) if attr == "examples"
            else frozenset(k.id for k in p.cliffhanger_kinds) if attr == "kinds"
            else getattr(p, attr)
            for p in packs]
        assert len(set(values)) == len(values), attr
    openings = [p.examples.opening_hook.strip() for p in packs] + [p.examples.paywall_cliffhanger.strip() for p in packs]
    assert len(set(openings)) == len(openings)


def test_folklore_passes_review_and_war_god_has_moved_on() -> None:
    folk = PACKS["folklore_adventure"]
    notes = " ".join(c.rule for c in folk.compliance)
    assert "迷信" in notes
    war = PACKS["war_god"]  # the 2021-23 army god is banned, not written: no 北境 in what the room is shown to write
    shown = war.model_dump_json(include={"sample_loglines", "tropes", "acts", "examples", "tone", "archetypes"})
    assert "北境" not in shown and "北境之主" in war.avoid.zh


def test_genres_list_shows_audience_and_mode(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "genres", "list", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and len(rows) >= 24
    by_id = {r["id"]: r for r in rows}
    assert by_id["silver_romance"]["audience"] == "female" and by_id["divine_doctor"]["audience"] == "male"
    assert by_id["secret_baby"]["audience"] == "overseas"
    assert all(r["mode"] in ("paywall", "ad") for r in rows)
    code, out, _ = run_cli(capsys, "genres", "list")
    assert code == 0 and "audience" in out and "overseas" in out and "mode" in out


def test_new_without_a_genre_lists_them_by_audience(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "new", tmp_path / "s", "--logline", "真千金回家。")
    assert code == 2 and "--genre" in err and len(err.strip().splitlines()) == 1
    female, male, overseas = (out.index(t) for t in ("Female audience", "Male audience", "Overseas"))
    assert female < male < overseas
    assert female < out.index("true_heiress") < male < out.index("divine_doctor") < overseas < out.index("secret_baby")
    assert not (tmp_path / "s").exists()  # nothing was created


def test_genres_show_prints_the_review_notes_and_the_ladder(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "genres", "show", "divine_doctor")
    assert code == 0 and "Content review" in out and "Antagonist ladder" in out
    assert PACKS["divine_doctor"].compliance[0].id in out


@pytest.fixture(scope="module")
def sim_url() -> str:
    with run_in_thread(SimConfig()) as url:
        yield url


@pytest.mark.parametrize("pid", NEW)
def test_a_season_in_each_new_genre_drafts_and_its_arc_is_clean(pid: str, sim_url: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    pack = PACKS[pid]
    store = make_season(tmp_path / pid, 12, language=pack.language, genre=pid, free=4, runtime=60)
    assert run(store, sim_models(sim_url, UsageLog(store.usage_path))).stop == "done"
    assert all(store.script(ep) is not None for ep in range(1, 13))
    arc = store.arc()
    assert len(arc.rows) == 12 and any(r.payoff_kind for r in arc.rows)  # the check has a season to read
    assert {r.payoff_kind for r in arc.rows if r.payoff_kind} <= {k.id for k in pack.payoff_kinds}
    code, out, _ = run_cli(capsys, "arc", "check", store.root, "--format", "json")
    assert (code, json.loads(out)) == (0, [])


# ---- content review: the critic's must-fix, and by rule where a note has a pattern --------------------------

def _script(*lines: str) -> EpisodeScript:
    return EpisodeScript.model_validate({
        "episode": 3, "title": "t", "ending_hook": "门开了。",
        "scenes": [{"number": 1, "int_ext": "INT", "location": "clinic", "time": "day", "cast": ["lin_feng"],
                    "elements": [{"type": "action", "text": t} if t.startswith("△") else
                                 {"type": "dialogue", "speaker": "lin_feng", "line": t} for t in lines]}]})


def test_a_breach_of_a_review_rule_goes_back_to_the_writer_by_rule() -> None:
    pack = PACKS["divine_doctor"]
    breach = _script("△林峰按住老人的手腕。", "每天三次，每次十克，连吃七天。")
    clean = _script("△林峰按住老人的手腕。", "先去做头颅CT，别耽误。")
    assert [n.id for _, n, _ in compliance_hits(breach, pack)] == ["no_fake_cures"]
    assert compliance_hits(clean, pack) == []
    reasons = decision_rules(None, ContinuityReport(findings=()), 60, 60, pack, 7.0, script=breach, language="zh")
    assert reasons == [r for r in reasons if r.startswith("审核（no_fake_cures）")] and len(reasons) == 1
    assert "（3-1：“每次十克”）" in reasons[0]
    assert decision_rules(None, ContinuityReport(findings=()), 60, 60, pack, 7.0, script=clean, language="zh") == []


def test_the_critic_reads_the_review_rules_and_the_bible_planner_the_ladder_and_cards() -> None:
    pack = PACKS["divine_doctor"]
    spec = SeasonSpec.create(title="下山", logline="神医下山。", genre="divine_doctor", language="zh", episodes=12,
                             runtime_s=60, free_episodes=4)
    row = ArcRow.model_validate({
        "episode": 3, "act": 1, "logline": "林峰被当众赶出诊所。", "beats": ["羞辱", "诊断"], "payoff": "CT报告",
        "payoff_kind": None, "intensity": "medium", "antagonist": None, "opening_hook": "婚书被撕",
        "cliffhanger": {"kind": "x", "hook_line": "门开了。", "strength": 4}, "paywall": False, "reveals": [],
        "plants": [], "pays": [], "walk_ons": []})
    answer = {**{c: {"reason": "清楚。", "score": 7} for c in RUBRIC_CRITERIA}, "must_fix": [], "notes": ""}
    spy = ScriptedClient("critic", {"Critique": [answer]})
    asyncio.run(critique(spy, spec=spec, pack=pack, row=row, script=_script("△林峰推门进来。"), previous_cliffhanger=""))
    prompt = spy.calls[0].messages[0][1]
    section = prompt.split("## 审核红线", 1)[1].split("\n## ", 1)[0]
    assert len(pack.compliance) >= 3 and all(c.rule in section for c in pack.compliance)
    brief = genre_brief(pack, "zh")
    assert all(c.name in brief for c in pack.cards) and all(r.falls_by in brief for r in pack.ladder)
