"""The sim quotes: where a schema asks for evidence or a quote, the answer copies a line the prompt shows,
verbatim, and names characters by the ids the prompt lists. Same seed and request, same answer."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from canon_kit import FLOOR

from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles import writer
from cliffhanger.agents.roles.continuity import (
    ExtractedFacts,
    ModelFindings,
    extract_facts,
    quoted_in,
    review_continuity,
    script_lines,
    script_text,
)
from cliffhanger.agents.season.artifacts import ArcRow, Bible, DialogueLine, EpisodeScript, SeasonSpec
from cliffhanger.agents.sim.answers import answer
from cliffhanger.agents.sim.chat_request import parse_request
from cliffhanger.agents.sim.quoting import quote_source
from cliffhanger.genres.loader import builtin_catalog
from cliffhanger.memory.embeddings import HashEmbedding
from cliffhanger.memory.facts import Fact
from cliffhanger.memory.ledger import Ledger
from cliffhanger.memory.lore import LoreIndex

DEATH = "林雪柔从天台坠下，再也没有醒来。"


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


def _client(url: str, role: str = "continuity") -> ModelClient:
    return ModelClient(role, EndpointConfig(provider="sim", base_url=url, model="sim-drama"), UsageLog())


def _prompt(ledger: Ledger, script: EpisodeScript) -> str:
    """The extraction prompt the room sends for `script`."""
    spy = ScriptedClient("continuity", {"ExtractedFacts": [{"facts": []}]})
    run(extract_facts(spy, ledger, script))
    return spy.calls[0].messages[0][1]


def _body(prompt: str, schema: dict, mode: str) -> dict:
    body: dict = {"model": "sim-drama", "messages": [{"role": "user", "content": prompt}]}
    if mode == "json_schema":
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    elif mode == "tools":
        body["tools"] = [{"type": "function", "function": {"name": "answer", "parameters": schema}}]
        body["tool_choice"] = {"type": "function", "function": {"name": "answer"}}
    else:
        body["messages"][0]["content"] += "\n\nAnswer with JSON in this schema:\n```json\n" + json.dumps(schema) + "\n```"
        body["response_format"] = {"type": "json_object"}
    return body


def _value(body: dict, seed: int = 0) -> dict:
    out = answer(parse_request(body), seed, frozenset(), None)
    return json.loads(out.tool_call.arguments if out.tool_call else out.content)


def _with(script: EpisodeScript, scene: int, *elements: dict, episode: int | None = None,
          cast: tuple[str, ...] = ()) -> EpisodeScript:
    data = script.model_dump(mode="json")
    data["episode"] = episode or script.episode
    target = data["scenes"][scene - 1]
    target["elements"] += list(elements)
    target["cast"] = list(dict.fromkeys([*target["cast"], *cast]))
    return EpisodeScript.model_validate(data)


# ---- which fields quote -------------------------------------------------------------------------------------

def test_fields_that_quote_are_found_by_name_and_description() -> None:
    schema = ExtractedFacts.model_json_schema()["$defs"]["ExtractedFact"]["properties"]
    assert quote_source("evidence", schema["evidence"]) == "script"
    assert [quote_source(k, v) for k, v in schema.items() if k != "evidence"] == [None] * 6
    finding = ModelFindings.model_json_schema()["$defs"]["ModelFinding"]["properties"]
    assert quote_source("canon_quote", finding["canon_quote"]) == "canon"
    assert quote_source("script_quote", finding["script_quote"]) == "script"
    assert quote_source("explanation", finding["explanation"]) is None
    assert quote_source("line", {"type": "string", "description": "The line, copied verbatim from the script."}) == "script"
    assert quote_source("line", {"type": "string", "description": "What the character says."}) is None  # writing, not quoting
    assert quote_source("evidence", {"anyOf": [{"type": "string"}, {"type": "null"}]}) == "script"  # str | None
    assert quote_source("evidence", {"type": "integer"}) is None


# ---- fact extraction ----------------------------------------------------------------------------------------

def test_extraction_through_the_room_keeps_every_fact_the_sim_gives(world, sim_url: str) -> None:
    ledger, bible, script = world
    facts, dropped = run(extract_facts(_client(sim_url), ledger, script))
    assert dropped == [] and len(facts) >= FLOOR
    lines = set(script_lines(script)) | {(script.scenes[-1].number, script.ending_hook)}
    assert all((f.scene, f.evidence) in lines for f in facts)  # a whole line, verbatim, in its scene
    assert {f.subject for f in facts} <= {c.id for c in bible.characters}
    heard = {(el.speaker, s.number) for s in script.scenes for el in s.elements
             if isinstance(el, DialogueLine) and el.delivery != "VO"}
    assert heard <= {(f.subject, f.scene) for f in facts if f.kind == "presence"}  # everyone heard is present
    assert all(f.change for f in facts if f.kind == "state")  # a move is a change
    ledger.record_episode(1, facts)
    assert ledger.check([], replacing_episode=1) == []


@pytest.mark.parametrize("mode", ["json_schema", "tools", "json_object"])
def test_evidence_is_a_script_line_in_every_structured_mode(world, mode: str) -> None:
    ledger, bible, script = world
    prompt = _prompt(ledger, script)
    body = _body(prompt, ExtractedFacts.model_json_schema(), mode)
    value = _value(body)
    facts = ExtractedFacts.model_validate(value).facts
    assert len(facts) >= FLOOR
    text = script_text(script)
    assert all(quoted_in(f.evidence, text) and f.evidence in {t for _, t in script_lines(script)} | {script.ending_hook}
               for f in facts)
    listed = set(re.findall(r"^([a-z][a-z0-9_]*): ", prompt, re.MULTILINE))  # the prompt's entity ids
    assert {f.subject for f in facts} <= listed
    assert _value(body) == value  # same seed, same request: the same answer


def test_a_death_on_screen_is_extracted_and_the_dead_are_not_seen_after_it(world, sim_url: str) -> None:
    ledger, _, script = world
    died = _with(script, 1, {"type": "action", "text": DEATH}, {"type": "action", "text": "林晚看着林雪柔，一动不动。"})
    facts, dropped = run(extract_facts(_client(sim_url), ledger, died))
    assert dropped == []
    (death,) = [f for f in facts if f.attribute == "status"]
    assert (death.subject, death.value, death.change, death.evidence, death.scene) == ("lin_xuerou", "dead", True, DEATH, 1)
    after = facts[facts.index(death) + 1:]
    assert not [f for f in after if f.subject == "lin_xuerou" and f.kind == "presence"]
    ledger.record_episode(1, facts)
    assert ledger.state_as_of(1).status("lin_xuerou").value == "dead"


# ---- the model check ---------------------------------------------------------------------------------------

def _review_setup(world, tmp_path: Path) -> tuple[Ledger, LoreIndex, EpisodeScript]:  # noqa: ANN001
    ledger, _, script = world
    ledger.record_episode(1, [Fact(subject="lin_xuerou", kind="state", attribute="location", value="天台", episode=1,
                                   scene=1, change=True, evidence="林雪柔独自走上天台。")])
    index = LoreIndex(tmp_path / "lore", HashEmbedding())
    index.rebuild(ledger)
    return ledger, index, script


class _Spy:
    """A model that records the structured answers it passes on."""

    def __init__(self, inner: ModelClient) -> None:
        self.inner, self.answers = inner, []

    async def structured(self, schema, messages, **kw):  # noqa: ANN001, ANN003, ANN201
        out = await self.inner.structured(schema, messages, **kw)
        self.answers.append(out)
        return out


def test_sim_findings_quote_canon_and_script_verbatim_and_are_all_kept(world, tmp_path: Path, sim_url: str) -> None:
    ledger, index, script = _review_setup(world, tmp_path)
    spy = _Spy(_client(sim_url))
    raw = kept = 0
    for ep in range(2, 42):
        draft = script.model_copy(update={"episode": ep})
        report = run(review_continuity(spy, ledger, index, draft, []))
        raw += len(spy.answers[-1].findings)
        found = [f for f in report.findings if f.rule == "model_check"]
        kept += len(found)
        assert all(quoted_in(f.script_quote, script_text(draft)) and f.scene is not None for f in found)
    assert 0 < raw < 20  # mostly "consistent", sometimes a finding: 40 reviews at a 20% rate
    assert kept == raw  # every quote the sim gives is verbatim, so none is thrown away


def test_findings_take_the_canon_quote_from_the_canon_lines_of_the_prompt(world, tmp_path: Path) -> None:
    ledger, index, script = _review_setup(world, tmp_path)
    spy = ScriptedClient("continuity", {"ModelFindings": [{"findings": []}]})
    run(review_continuity(spy, ledger, index, script.model_copy(update={"episode": 2}), []))
    prompt = spy.calls[0].messages[0][1]
    canon = prompt.split("Canon as of the end of episode 1:\n", 1)[1].split("\n\nRules already checked", 1)[0]
    bullets = [line[2:] for line in canon.splitlines() if line.startswith("- ")]
    assert bullets
    body = _body(prompt, ModelFindings.model_json_schema(), "json_schema")
    findings = [f for seed in range(60) for f in ModelFindings.model_validate(_value(body, seed)).findings]
    assert 0 < len(findings) < 30
    for f in findings:
        assert f.canon_quote in bullets or any(b.startswith(f.canon_quote) for b in bullets)  # a canon line (or its start)
        assert f.script_quote in {t for _, t in script_lines(script)} | {script.ending_hook}
        assert quoted_in(f.canon_quote, canon) and quoted_in(f.script_quote, script_text(script))


# ---- the writer names the cast it is given ---------------------------------------------------------------------

def test_the_writer_draft_uses_only_the_cast_ids_of_its_prompt(sample, sim_url: str) -> None:
    bible = Bible.model_validate(sample("zh_bible"))
    spec = SeasonSpec.create(title="千金归来", logline="被调包的真千金回到豪门复仇。", genre="revenge", language="zh",
                             episodes=2, runtime_s=60, free_episodes=1)
    row = ArcRow.model_validate(sample("zh_arc")["rows"][0])
    ids = {c.id for c in bible.characters}
    for n in range(3):
        script, _ = run(writer.draft_episode(_client(sim_url, "writer"), spec=spec, pack=builtin_catalog().get("revenge"),
                                             bible=bible, row=row, canon="", previous_ending="",
                                             writer_notes=f"draft {n}"))
        speakers = {el.speaker for s in script.scenes for el in s.elements if isinstance(el, DialogueLine)}
        cast = [c for s in script.scenes for c in s.cast]
        assert speakers <= ids and set(cast) <= ids
        assert all(len(set(s.cast)) == len(s.cast) >= 2 for s in script.scenes)  # two or more people, none twice


def test_the_sim_reads_the_script_in_either_language_the_room_renders_it() -> None:
    from cliffhanger.agents.sim.script_reading import read_material

    script = EpisodeScript.model_validate({
        "episode": 5, "title": "订婚宴", "ending_hook": "门外有人敲门。",
        "scenes": [{"number": 1, "int_ext": "INT", "location": "banquet_hall", "time": "night",
                    "cast": ["lin_wan", "gu_chen"], "elements": [
                        {"type": "action", "text": "水晶灯忽然闪了一下。"},
                        {"type": "dialogue", "speaker": "lin_wan", "parenthetical": "冷笑", "line": "你确定，是我拿的？"},
                        {"type": "dialogue", "speaker": "xu_jia", "delivery": "OS", "line": "保安，搜她的包。"}]}],
    })
    zh, en = script_text(script, "zh"), script_text(script, "en")
    assert zh.startswith("第1场（5-1）内 banquet_hall，夜；出场：lin_wan, gu_chen") and "结尾钩子：门外有人敲门。" in zh
    for text in (zh, en):
        lines = read_material("剧本如下：\n" + text).script
        assert [(x.speaker, x.delivery, x.text) for x in lines] == [
            (None, None, "水晶灯忽然闪了一下。"), ("lin_wan", None, "你确定，是我拿的？"),
            ("xu_jia", "OS", "保安，搜她的包。"), (None, None, "门外有人敲门。")]
        assert all(x.cast == ("lin_wan", "gu_chen") and x.location == "banquet_hall" for x in lines)
