"""The catalogue for today's market (issue 18): at least 24 packs, each with its audience, its preferred
paywall mode, an antagonist ladder, cards, content-review notes, banned moves and two timed examples; the
ten genres added for the market each draft a 12-episode season against the sim with a clean arc check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from season_kit import make_season, run, run_cli, sim_models

from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.genres.loader import load_catalog
from cliffhanger.genres.pack import AUDIENCE_GROUPS

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
    assert "北境" not in PACKS["war_god"].model_dump_json()


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
