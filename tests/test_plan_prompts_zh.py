"""A Chinese season's planning prompts are Chinese through and through, read from the sim's request log.

One 60-episode Chinese revenge season is planned against the sim to the arc review. The showrunner's bible,
act-plan and act-rows prompts must carry no English beyond what the model is asked to write as it is: ids
(the bible's, the arc's, the pack's kind ids, and the templates' example ids), the JSON keys and literal
values of the schemas the prompts ask for, the trade's abbreviations, the Latin a Chinese pack writes into
its own text (U盘, the overseas platforms' names), and the English examples (in ASCII quotes) of the fields
the prompt wants in English (`visual`, a walk-on's `look`). The prompts say in Chinese that every field is
Chinese but those, so the sim (and a model) write the rows in Chinese: later acts' prompts carry them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from season_kit import make_season, recorded_requests, run, sim_models

from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles import arc_digest
from cliffhanger.agents.roles.arc_rows import rows_schema
from cliffhanger.agents.roles.showrunner import SeasonOutline
from cliffhanger.agents.season.artifacts import AUDIENCE, Bible
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.genres.loader import builtin_catalog
from cliffhanger.genres.pack import GenrePack

EPISODES, CUT, RUNTIME = 60, 10, 90
# Latin words a Chinese prompt may carry besides ids, JSON keys and literals: the trade's abbreviations,
# and JSON's own literals the prompts name (null, true, false).
ALLOWED = {"OS", "VO", "SFX", "AI", "JSON", "id", "null", "true", "false"}
TEMPLATES = {"Bible": "showrunner.plan_bible.zh", "SeasonOutline": "showrunner.plan_acts.zh",
             "ActRows": "showrunner.plan_act_rows.zh"}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CJK = re.compile(r"[\u3400-\u9fff]")
_JSON_FENCE = re.compile(r"```json\s*\n.*?```", re.DOTALL)
_ASCII_QUOTED = re.compile(r'"[\x20-\x7e]*?"')  # an English example of a field the prompt wants in English


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[SeasonStore, Path]:
    root = tmp_path_factory.mktemp("plan_prompts_zh")
    store = make_season(root / "s", EPISODES, language="zh", genre="revenge", free=CUT, runtime=RUNTIME)
    log = root / "sim.jsonl"
    with run_in_thread(SimConfig(log_path=log, log_bodies=True)) as url:
        assert run(store, sim_models(url, UsageLog(store.usage_path)), review_arc=True).stop == "arc_review"
    return store, log


def _schema_words(schema: dict[str, Any]) -> Iterator[str]:
    """Every property name and enum or const value in a JSON schema, nested definitions included."""
    if isinstance(schema, dict):
        yield from schema.get("properties", {})
        yield from (str(v) for v in schema.get("enum", ()))
        if "const" in schema:
            yield str(schema["const"])
        for value in schema.values():
            yield from _schema_words(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _schema_words(value)


def _pack_text(pack: GenrePack) -> str:
    """The pack's own text the planning prompts carry."""
    parts = [pack.description, pack.tone, pack.audience, pack.paywall.first_paywall]
    parts += [f"{t.name} {t.how_it_plays}" for t in pack.tropes] + [f"{a.name} {a.description}" for a in pack.archetypes]
    parts += [f"{a.name} {a.job}" for a in pack.acts] + [b.description for b in pack.episode_beats]
    parts += [f"{k.name} {k.description}" for k in (*pack.payoff_kinds, *pack.cliffhanger_kinds)]
    return "\n".join(parts)


def _template_ids() -> set[str]:
    """The example ids the templates give (lin_wan, true_parentage): snake_case words of the templates' text,
    their `$variables` aside."""
    texts = (resources.files("cliffhanger.agents").joinpath("prompts", f"{t}.md").read_text(encoding="utf-8")
             for t in TEMPLATES.values())
    return {w for text in texts for w in re.findall(r"(?<![$\w])[a-z][a-z0-9]*(?:_[a-z0-9]+)+", text)}


def allowed_words(store: SeasonStore) -> set[str]:
    """Ids of the bible, the arc and the pack; the keys and literals of the schemas the prompts ask for;
    the Chinese pack's own Latin; the abbreviations."""
    bible, arc = store.bible(), store.arc()
    pack = builtin_catalog().get(store.spec().genre)
    assert pack.language == "zh"  # its own text is Chinese: the Latin it holds is the pack's choice
    ids = {x.id for group in (bible.characters, bible.locations, bible.secrets, bible.cards, bible.plants) for x in group}
    ids |= {w.id for r in arc.rows for w in r.walk_ons} | {r.secret for r in arc.rows for r in r.reveals}
    ids |= {p for r in arc.rows for p in (*r.plants, *r.pays)} | {r.antagonist for r in arc.rows if r.antagonist}
    ids |= {k.id for k in (*pack.payoff_kinds, *pack.cliffhanger_kinds)} | {AUDIENCE} | _template_ids()
    for schema in (Bible, SeasonOutline, rows_schema(1, pack, bible)):
        ids |= set(_schema_words(schema.model_json_schema()))
    return ids | set(_WORD.findall(_pack_text(pack))) | ALLOWED


def english_left(prompt: str, allowed: set[str]) -> list[str]:
    """Latin words of `prompt` once a ```json block and the English examples in ASCII quotes are taken out,
    less the allowed ones."""
    prose = _ASCII_QUOTED.sub(" ", _JSON_FENCE.sub(" ", prompt))
    return [w for w in _WORD.findall(prose) if w not in allowed]


def planning_prompts(log: Path) -> list[tuple[str, str]]:
    return [(r.schema, r.prompt) for r in recorded_requests(log) if r.schema in TEMPLATES]


def test_a_chinese_seasons_planning_prompts_hold_no_english(season: tuple[SeasonStore, Path]) -> None:
    store, log = season
    allowed = allowed_words(store)
    prompts = planning_prompts(log)
    kinds = [schema for schema, _ in prompts]
    assert kinds.count("Bible") >= 1 and kinds.count("SeasonOutline") >= 1 and kinds.count("ActRows") >= 4, kinds
    for n, (schema, prompt) in enumerate(prompts):
        assert len(prompt) > 1000, (schema, len(prompt))
        left = english_left(prompt, allowed)
        assert not left, (n, schema, sorted(set(left))[:30])


def test_the_act_rows_prompt_asks_for_chinese_and_reads_the_season_in_chinese(season: tuple[SeasonStore, Path]) -> None:
    _, log = season
    acts = [prompt for schema, prompt in planning_prompts(log) if schema == "ActRows"]
    for prompt in acts:
        assert "每个字段都用中文写" in prompt and "转折点：" in prompt and "收尾：" in prompt
        assert "卡点级，强度5）" in prompt and "- 钩子 0-" in prompt
    assert acts[0].count("（无：全季从本幕开始）") == 1 and "（无：本幕就是全季最后一幕）" in acts[-1]
    later = acts[-1]  # the last act reads every earlier act in Chinese
    for needle in ("### 全季至今（第1-", "- 已用的爽点类型：", "### 更早各幕概要", "逐集", "### 最近几集（完整）",
                   "  一句话梗概：", "施压反派"):
        assert needle in later, needle


def test_the_sim_writes_a_chinese_seasons_rows_in_chinese(season: tuple[SeasonStore, Path]) -> None:
    store, _ = season
    arc = json.loads(store.arc_path.read_text(encoding="utf-8"))
    assert len(arc["rows"]) == EPISODES
    for row in arc["rows"]:
        for text in (row["logline"], row["payoff"], row["opening_hook"], row["cliffhanger"]["hook_line"], *row["beats"]):
            assert _CJK.search(text), (row["episode"], text)


def test_the_ladder_card_stages_and_plants_read_in_chinese_too(season: tuple[SeasonStore, Path]) -> None:
    """The sim's bible has no ladder and no card stages: a bible that has them reads in Chinese as well."""
    store, _ = season
    data = store.bible().model_dump(mode="json")
    cast = [c["id"] for c in data["characters"]]
    data["antagonists"] = [
        {"character": cast[1], "tier": 1, "act": 1, "downfall_episode": 12, "downfall": "当众被董事会免职。"},
        {"character": cast[-1], "tier": 2, "act": 2, "downfall_episode": None, "downfall": "卷款出逃。"}]
    data["cards"] = [{**c, "stages": [{"episode": 5, "to": cast[0]}, {"episode": 30, "to": AUDIENCE}]}
                     for c in data["cards"]]
    bible = Bible.model_validate(data)
    assert bible.cards and bible.plants
    ladder, cards = arc_digest.ladder(bible, 2, "zh"), arc_digest.cards_text(bible, "zh")
    due = arc_digest.due_in_act(bible, 1, EPISODES, "zh")
    digest = arc_digest.earlier_rows_digest(list(store.arc().rows)[:45], 4, bible, "zh")
    assert f"- 第2级 {cast[-1]}（主导第2幕；本季不倒台）  ← 主导本幕" in ladder and "第12集倒台：当众被董事会免职。" in ladder
    assert f"第5集→{cast[0]}、第30集→观众" in cards and "埋伏笔" in due and "回收伏笔" in due
    assert f"已倒台：{cast[1]}（第12集）" in digest
    allowed = allowed_words(store)
    for text in (ladder, cards, due, digest):
        assert not english_left(text, allowed), sorted(set(english_left(text, allowed)))
