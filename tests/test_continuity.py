"""Fact extraction and the continuity review: ids resolved, evidence verified, quotes required."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles.continuity import (
    extract_facts,
    review_continuity,
    script_text,
    seed_canon,
)
from cliffhanger.memory.context import build_context
from cliffhanger.memory.embeddings import HashEmbedding
from cliffhanger.memory.facts import Fact
from cliffhanger.memory.ledger import Doc, Ledger
from cliffhanger.memory.lore import LoreIndex


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


def test_seeding_the_bible_is_idempotent_and_resolves_aliases(world) -> None:
    ledger, bible, _ = world
    n = ledger.count()
    seed_canon(ledger, bible)
    assert ledger.count() == n
    assert ledger.resolve("晚晚") == "lin_wan" and ledger.resolve("Lin Wan") == "lin_wan" and ledger.resolve("顾总") == "gu_yanshen"
    state = ledger.state_as_of(1)
    assert [f.subject for f in state.who_knows("switched_at_birth")] == ["lin_xuerou"]
    assert state.status("lin_wan").value == "alive"
    assert {d.kind for d in ledger.docs()} >= {"character", "location", "secret", "world_rule"}


def _fact(subject: str, kind: str, attribute: str, value: str, scene: int, evidence: str, change: bool = False) -> dict:
    return {"subject": subject, "kind": kind, "attribute": attribute, "value": value, "scene": scene,
            "change": change, "evidence": evidence}


def test_extraction_resolves_names_verifies_evidence_and_marks_planned_changes(world) -> None:
    ledger, _, script = world
    model = ScriptedClient("continuity", {"ExtractedFacts": [{"facts": [
        _fact("林雪柔", "presence", "appears", "true", 1, "我的项链不见了！刚才只有姐姐靠近过我。"),
        _fact("晚晚", "state", "location", "lin_mansion_hall", 1, "你确定，是我拿的？"),
        _fact("lin_wan", "state", "status", "expelled", 2, "林晚被两名保安架着往外走，她回头看了林雪柔一眼。"),
        _fact("lin_xuerou", "uses", "secret", "switched_at_birth", 2, "姐姐，林家不欢迎小偷。"),
        _fact("lin_wan", "knows", "secret", "switched_at_birth", 2, "林晚在日记里读到了真相。"),  # not in the script
    ]}]})
    facts, dropped = run(extract_facts(model, ledger, script, planned=[("林晚", "status")]))
    assert [(f.subject, f.kind) for f in facts] == [("lin_xuerou", "presence"), ("lin_wan", "state"),
                                                    ("lin_wan", "state"), ("lin_xuerou", "uses")]
    assert facts[0].value is True and all(f.episode == 1 for f in facts)
    assert facts[2].change is True and facts[1].change is False  # status is planned to change, location is not
    assert dropped == ["lin_wan secret: evidence not found in the script"]
    (call,) = model.calls
    assert "晚晚" in call.messages[0][1] and call.prompt.startswith("continuity.extract_facts@")


def test_review_catches_a_planted_contradiction_with_both_quotes(world) -> None:
    ledger, _, script = world
    ledger.record_episode(1, [Fact(subject="lin_xuerou", kind="state", attribute="status", value="dead", episode=1,
                                   scene=0, change=True, evidence="林雪柔在火中身亡。")])
    later = script.model_copy(update={"episode": 2})
    draft_facts = [Fact(subject="lin_xuerou", kind="presence", attribute="appears", value=True, episode=2, scene=1,
                        evidence="我的项链不见了！刚才只有姐姐靠近过我。")]
    report = run(review_continuity(None, ledger, None, later, draft_facts))
    (finding,) = report.findings
    assert finding.rule == "dead_character_active" and finding.severity == "error" and report.has_errors
    assert finding.canon_fact == "林雪柔在火中身亡。" and finding.script_quote.startswith("我的项链不见了")
    assert finding.scene == 1 and "flashback" in finding.suggested_fix


def test_model_findings_are_kept_only_when_both_quotes_are_real(world, tmp_path: Path) -> None:
    ledger, _, script = world
    index = LoreIndex(tmp_path / "lore", HashEmbedding())
    index.rebuild(ledger)
    later = script.model_copy(update={"episode": 2})
    ledger.put_doc(Doc("ending_1", "ending", "林晚发誓再也不踏进林家一步。", 1, "lin_wan"))
    model = ScriptedClient("continuity", {"ModelFindings": [{"findings": [
        {"subject": "lin_wan", "canon_quote": "林晚发誓再也不踏进林家一步。", "script_quote": "你确定，是我拿的？",
         "explanation": "she vowed never to return", "suggested_fix": "move the scene outside", "severity": "warning"},
        {"subject": "lin_wan", "canon_quote": "林晚是顾言深的妻子。", "script_quote": "你确定，是我拿的？",
         "explanation": "invented canon", "suggested_fix": "x", "severity": "error"},
        {"subject": "lin_wan", "canon_quote": "林晚发誓再也不踏进林家一步。", "script_quote": "[bold]ignore the script[/]",
         "explanation": "invented line", "suggested_fix": "x", "severity": "error"},
    ]}]})
    report = run(review_continuity(model, ledger, index, later, []))
    (kept,) = report.findings
    assert kept.rule == "model_check" and kept.severity == "warning" and kept.scene == 1
    assert kept.canon_fact == "林晚发誓再也不踏进林家一步。"
    shown = model.calls[0].messages[0][1]
    assert "林晚发誓再也不踏进林家一步。" in shown and "你确定，是我拿的？" in shown


def test_extraction_through_the_real_client_against_the_sim(world, sim_url: str) -> None:
    ledger, _, script = world
    usage = UsageLog()
    client = ModelClient("continuity", EndpointConfig(provider="sim", base_url=sim_url, model="sim-drama"), usage)
    facts, dropped = run(extract_facts(client, ledger, script))
    # The sim invents its evidence, so nothing it says may reach canon unverified.
    assert all(f.evidence and f.evidence in script_text(script) for f in facts)
    assert len(facts) + len(dropped) > 0
    assert usage.records[0].prompt.startswith("continuity.extract_facts@") and usage.records[0].episode == 1
    assert usage.records[0].method == "json_schema"


def test_writer_context_budget_stays_flat_as_the_season_grows(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "canon.sqlite")
    cast = [f"c{i}" for i in range(12)]
    for ep in range(1, 61):
        facts = []
        for i, c in enumerate(cast):
            facts.append(Fact(subject=c, kind="state", attribute="location", value=f"place_{(ep + i) % 9}",
                              episode=ep, change=True, evidence=f"{c} goes to place {(ep + i) % 9} in episode {ep}."))
            facts.append(Fact(subject=c, kind="presence", attribute="appears", value=True, episode=ep, scene=1))
        facts.append(Fact(subject=cast[ep % 12], kind="knows", attribute="secret", value=f"secret_{ep % 7}", episode=ep))
        ledger.record_episode(ep, facts)
        ledger.put_doc(Doc(f"ending_{ep}", "ending", f"Episode {ep} ends on a locked door.", ep))
    index = LoreIndex(tmp_path / "lore", HashEmbedding())
    index.rebuild(ledger)
    sizes = {}
    for ep in (6, 56):
        ctx = build_context(ledger, index, episode=ep, cast=cast[:4], plan="who has the key to the locked door",
                            secrets=["secret_3"], budget=600)
        sizes[ep] = ctx.tokens
        assert ctx.tokens <= 600
        assert f"Episode {ep - 1} ends" in ctx.text()
        hits = [ln for ln in ctx.sections.get("Relevant canon", [])]
        assert all(int(ln.split("]")[0].removeprefix("[ep ")) < ep for ln in hits)
    unbounded = build_context(ledger, index, episode=56, cast=cast, plan="who has the key to the locked door",
                              secrets=[f"secret_{i}" for i in range(7)], budget=100_000, k=200)
    assert unbounded.tokens > 3 * 600, "the test season must hold more canon than the budget"
    bounded = build_context(ledger, index, episode=56, cast=cast, plan="who has the key to the locked door",
                            secrets=[f"secret_{i}" for i in range(7)], budget=600, k=200)
    assert bounded.tokens <= 600 and bounded.dropped > 0
    assert bounded.text().startswith("## Where the last episode ended")  # the ending is never the part dropped
