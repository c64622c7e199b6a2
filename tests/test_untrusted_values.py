"""Values a model sends are checked once, where the answer enters, with the rules every later reader applies
(tracker issue 14): one id rule for every layer; a fact whose subject is a sentence is dropped at extraction
with a note and never reaches the ledger; a continuity finding can be built from anything the ledger holds;
a look too long for a shot is shortened where the bible comes in. The seasons that prove it end to end are in
test_long_sim_seasons.py."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.roles.bible_plan import repair_bible
from cliffhanger.agents.roles.continuity import (
    UNRESOLVED_SUBJECT,
    canon_subject,
    extract_facts,
    finding_from_violation,
    review_continuity,
    screen_facts,
    script_text,
    seed_canon,
)
from cliffhanger.agents.roles.shot_planner import bible_as_of
from cliffhanger.agents.roles.writer import repair_script
from cliffhanger.agents.season.artifacts import (
    DESCRIPTOR_LIMIT,
    Bible,
    Character,
    ContinuityFinding,
    EpisodeScript,
    VisualDescriptor,
    fit_look,
)
from cliffhanger.agents.season.shotlist import ShotCharacter
from cliffhanger.evals.suites import Premise, Suite
from cliffhanger.genres.ids import ID_PATTERN, Id, check_id, is_id, to_id
from cliffhanger.genres.loader import builtin_catalog
from cliffhanger.genres.pack import PACK_ID_MAX_LENGTH, GenrePack, PackId
from cliffhanger.memory.checker import RULES, Violation
from cliffhanger.memory.facts import Entity, EntityId, Fact
from cliffhanger.memory.ledger import Ledger, LedgerError

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "反派的动机需要在前两集埋下伏笔。"


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


# ---- one id rule -------------------------------------------------------------------------------------------

def _premise(**change: Any) -> dict[str, Any]:
    return {"id": "heiress", "title": "T", "logline": "A maid takes her name back.", "genre": "revenge",
            "language": "zh", "episodes": 4, "free": 2, **change}


def _pack(**change: Any) -> dict[str, Any]:
    return {**builtin_catalog().get("revenge").model_dump(), **change}


def _entity(value: str) -> object:
    return Entity(id=value)


# Every place that holds a snake_case id, each with the one rule (a pack id narrows it on purpose).
ID_HOLDERS: dict[str, Callable[[str], object]] = {
    "genres.ids.Id": TypeAdapter(Id).validate_python,
    "genres.ids.check_id": check_id,
    "genres.pack.PackId": TypeAdapter(PackId).validate_python,
    "GenrePack.id": lambda v: GenrePack.model_validate(_pack(id=v)),
    "memory.facts.EntityId": TypeAdapter(EntityId).validate_python,
    "memory.facts.Entity.id": _entity,
    "evals Premise.id": lambda v: Premise.model_validate(_premise(id=v)),
    "evals Premise.genre": lambda v: Premise.model_validate(_premise(genre=v)),
    "evals Suite.name": lambda v: Suite.model_validate({"name": v, "premises": [_premise()]}),
}
BAD_IDS = ["lin_xia\n", "lin_xia\r\n", " lin_xia", "1_lin_xia", "Lin_xia", "lin-xia", "林夏", "lin_xia\x00", "a" * 65, "",
           SENTENCE]


def accepts(holder: Callable[[str], object], value: str) -> bool:
    try:
        holder(value)
    except (ValidationError, ValueError):
        return False
    return True


@pytest.mark.parametrize("where", ID_HOLDERS)
@pytest.mark.parametrize("value", BAD_IDS)
def test_lin_xia_newline_is_not_an_id_anywhere(where: str, value: str) -> None:
    assert not is_id(value)
    assert not accepts(ID_HOLDERS[where], value)


@pytest.mark.parametrize("value", BAD_IDS)
def test_an_artifact_holds_no_id_but_an_id(value: str) -> None:
    """Artifacts strip every string before validating it (their contract), so ' lin_xia' comes out 'lin_xia';
    what they hold in an id field is an id, never 'lin_xia\n'."""
    finding = {"rule": "trait_changed", "severity": "error", "subject": value, "canon_fact": "a", "script_quote": "b",
               "episode": 1, "scene": None, "explanation": "c", "suggested_fix": "d"}
    try:
        held = ContinuityFinding.model_validate(finding).subject
    except ValidationError:
        return
    assert is_id(held) and held == value.strip()


@pytest.mark.parametrize("where", ID_HOLDERS)
def test_an_id_is_an_id_everywhere(where: str) -> None:
    value = "revenge" if "Pack" in where or "genre" in where else "lin_xia_2"
    assert is_id(value) and accepts(ID_HOLDERS[where], value)
    if where not in ("GenrePack.id", "genres.pack.PackId", "evals Premise.genre"):
        assert accepts(ID_HOLDERS[where], "a" * 64)


def test_a_pack_id_narrows_the_one_rule_on_purpose() -> None:
    narrow = TypeAdapter(PackId).validate_python
    assert accepts(narrow, "a" * PACK_ID_MAX_LENGTH) and not accepts(narrow, "a" * (PACK_ID_MAX_LENGTH + 1))
    assert is_id("a" * (PACK_ID_MAX_LENGTH + 1))  # narrower, never wider: every pack id is an Id


def test_artifacts_strip_whitespace_first_and_never_keep_a_newline_in_an_id(sample) -> None:
    data = sample("zh_bible")["characters"][0]
    assert Character.model_validate({**data, "id": "lin_wan\n"}).id == "lin_wan"  # artifacts strip every string
    with pytest.raises(ValidationError, match="not a valid id"):
        Character.model_validate({**data, "id": "lin\nwan"})
    assert TypeAdapter(Id).json_schema() == {"type": "string", "pattern": ID_PATTERN}


def test_the_id_rule_has_one_definition() -> None:
    """No layer writes its own id regex again, the simulator included (it reads ids with `ids.ID_BODY`)."""
    copies = []
    for layer in ("genres", "memory", "agents", "evals", "app"):
        for py in (ROOT / layer).rglob("*.py"):
            if py.name == "ids.py" and py.parent.name == "genres":
                continue
            if re.search(r"\[a-z\]\[a-z0-9_\]|\[a-z0-9\]\[a-z0-9_\]", py.read_text(encoding="utf-8")):
                copies.append(str(py.relative_to(ROOT)))
    assert copies == []


@pytest.mark.parametrize(("text", "want"), [
    ("lin_xia", "lin_xia"), ("lin_xia\n", "lin_xia"), (" Lin Xia ", "lin_xia"), ("LIN_XIA", "lin_xia"),
    ("Madame Qiao", "madame_qiao"), ("O'Brien", "o_brien"), (SENTENCE, None), ("林夏", None),
    ("The villain's motive has to be planted in the first two episodes.", None), ("../../etc/passwd", None),
    ("1st_guard", None), ("", None),
])
def test_to_id_repairs_names_and_refuses_sentences(text: str, want: str | None) -> None:
    assert to_id(text) == want


# ---- facts: validated at extraction --------------------------------------------------------------------------

def _fact(subject: str, kind: str, attribute: str, value: str, evidence: str, scene: int = 1) -> dict:
    return {"subject": subject, "kind": kind, "attribute": attribute, "value": value, "scene": scene,
            "change": False, "evidence": evidence}


def test_a_sentence_subject_is_dropped_at_extraction_with_a_note_and_never_reaches_the_ledger(world) -> None:
    ledger, _, script = world
    script = script.model_copy(update={"episode": 54})
    line = "你确定，是我拿的？"
    model = ScriptedClient("continuity", {"ExtractedFacts": [{"facts": [
        _fact(SENTENCE, "uses", "secret", "switched_at_birth", line),  # the fact of the report
        _fact("The villain's motive has to be planted early.", "state", "status", "dead", line),
        _fact("lin_wan\n", "presence", "appears", "true", line),       # an id with a stray newline
        _fact("Madame Qiao", "trait", "eye_colour", "grey", line),     # a new entity named in ascii
        _fact("林雪柔", "presence", "appears", "true", line),            # a known name
    ]}]})
    facts, dropped = run(extract_facts(model, ledger, script))
    assert [(f.subject, f.kind) for f in facts] == [("lin_wan", "presence"), ("madame_qiao", "trait"),
                                                    ("lin_xuerou", "presence")]
    assert dropped == [f"{SENTENCE!r} secret: the subject is not an entity id or a known name",
                       '"The villain\'s motive has to be planted…" status: the subject is not an entity id or a '
                       "known name"]
    report = run(review_continuity(None, ledger, None, script, facts))  # the crash of the report: no more
    assert all(is_id(f.subject) for f in report.findings)
    ledger.record_episode(54, facts)
    assert {f.subject for f in ledger.facts()} <= {e.id for e in ledger.entities()} | {"madame_qiao"}
    assert all(is_id(f.subject) for f in ledger.facts())


def test_the_ledger_refuses_a_subject_that_is_no_entity(world) -> None:
    ledger, _, _ = world
    with pytest.raises(LedgerError, match="neither an entity id nor a name of one"):
        ledger.record_episode(3, [Fact(subject=SENTENCE, kind="uses", attribute="secret", value="x", episode=3)])
    ledger.record_episode(3, [Fact(subject="晚晚", kind="presence", attribute="appears", value=True, episode=3)])
    assert [f.subject for f in ledger.facts() if f.episode == 3] == ["lin_wan"]  # an alias names its entity


def test_facts_read_back_from_an_older_revision_are_screened(world) -> None:
    ledger, _, _ = world
    old = [Fact(subject=SENTENCE, kind="state", attribute="mood", value="grim", episode=2),
           Fact(subject="Lin Wan", kind="state", attribute="mood", value="calm", episode=2)]
    kept, dropped = screen_facts(ledger, old)
    assert [f.subject for f in kept] == ["lin_wan"]
    assert dropped == [f"{SENTENCE!r} mood: the subject is not an entity id or a known name"]
    assert canon_subject(ledger, "顾总") == "gu_yanshen" and canon_subject(ledger, SENTENCE) is None


# ---- findings: built from anything the ledger holds ------------------------------------------------------------

ODD_FACTS = [
    {"subject": SENTENCE},
    {"subject": "The villain's motive has to be planted in the first two episodes, or nobody believes it."},
    {"subject": "x" * 120},
    {"subject": "Lin Xia"},
    {"subject": "lin_xia", "scene": 0, "episode": 0},
    {"subject": "lin_xia", "scene": 500, "episode": 1000},
    {"subject": "lin_xia", "evidence": ""},
    {"subject": "lin_xia", "evidence": "   \n  "},
    {"subject": "lin_xia", "evidence": "证" * 2000},
]


def _odd(kind: str = "state", **change: Any) -> Fact:
    base = {"kind": kind, "attribute": {"presence": "appears", "knows": "secret", "uses": "secret",
                                        "holds": "item"}.get(kind, "status"),
            "value": True if kind == "presence" else "dead", "episode": 54, "scene": 2, "evidence": "她倒下了。"}
    return Fact.model_validate({**base, **change})


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("odd", ODD_FACTS, ids=range(len(ODD_FACTS)))
def test_a_finding_can_be_built_from_any_violation(rule: str, odd: dict) -> None:
    others = (_odd(subject="gu_chen", evidence="bible"), _odd(subject="gu_chen", evidence=" "))
    for conflict in (None, _odd(**odd), *others, _odd(**{**odd, "evidence": ""})):
        finding = finding_from_violation(Violation(rule, _odd(**odd), conflict, "x" * 5000))  # type: ignore[arg-type]
        assert ContinuityFinding.model_validate(finding.model_dump()) == finding
        assert is_id(finding.subject) and finding.subject in (odd["subject"], to_id(odd["subject"]), UNRESOLVED_SUBJECT)


def test_a_finding_can_be_built_from_whatever_the_ledger_holds(world) -> None:
    """Canon written before subjects were checked (rows put straight into canon.sqlite) still yields findings."""
    ledger, _, script = world
    db = sqlite3.connect(ledger.path)
    with db:
        for i, odd in enumerate(ODD_FACTS):
            f = _odd("holds", **{**odd, "episode": 1 + i % 3, "scene": odd.get("scene", 1) % 400})
            db.execute("INSERT INTO facts (subject, kind, attribute, value, episode, scene, change, evidence, source) "
                       "VALUES (?, 'holds', 'item', ?, ?, ?, 0, ?, 'legacy')",
                       (f.subject, json.dumps("jade_pendant"), f.episode, f.scene, f.evidence))
            db.execute("INSERT INTO facts (subject, kind, attribute, value, episode, scene, change, evidence, source) "
                       "VALUES (?, 'state', 'status', ?, ?, ?, 0, ?, 'legacy')",
                       (f.subject, json.dumps("dead"), f.episode, f.scene, f.evidence))
    db.close()
    new = [_odd("holds", subject=odd["subject"], value="jade_pendant", episode=54, scene=1) for odd in ODD_FACTS]
    new += [_odd("presence", subject=odd["subject"], episode=54, scene=1) for odd in ODD_FACTS]
    new += [_odd("uses", subject=odd["subject"], value="switched_at_birth", episode=54, scene=1) for odd in ODD_FACTS]
    violations = ledger.check(new, replacing_episode=54)
    assert {v.rule for v in violations} >= {"item_in_two_hands", "dead_character_active", "knowledge_before_learning"}
    report = run(review_continuity(None, ledger, None, script.model_copy(update={"episode": 54}), new))
    assert len(report.findings) == min(50, len(violations))
    assert all(is_id(f.subject) for f in report.findings)


def test_a_model_finding_on_a_sentence_is_dropped_with_a_note_and_a_blank_one_is_repaired(world) -> None:
    ledger, _, script = world
    script = script.model_copy(update={"episode": 2})
    canon_line = "status = alive"  # "林晚: status = alive (since ep 0)": in the canon the model is shown
    model = ScriptedClient("continuity", {"ModelFindings": [{"findings": [
        {"subject": SENTENCE, "canon_quote": canon_line, "script_quote": "你确定，是我拿的？", "explanation": "x",
         "suggested_fix": "y", "severity": "warning"},
        {"subject": "晚晚", "canon_quote": canon_line, "script_quote": "你确定，是我拿的？", "explanation": "   ",
         "suggested_fix": "\t", "severity": "warning"},
    ]}]})
    notes: list[str] = []
    report = run(review_continuity(model, ledger, None, script, [], dropped=notes))
    (kept,) = report.findings
    assert kept.subject == "lin_wan" and kept.explanation == "contradicts canon" and kept.suggested_fix == "rewrite the line"
    assert notes == [f"model finding on {SENTENCE!r}: the subject is not an entity id or a known name"]


# ---- looks: fit one shot prompt where the bible comes in ---------------------------------------------------------

def _long_look() -> dict[str, str]:
    words = "a thin silver scar runs from the left brow to the jaw, catching every light, "
    return {k: (words * 5)[:300].strip() for k in ("face", "hair", "build", "wardrobe", "marks")} | {
        "age_look": "early twenties"}


def test_the_look_limit_is_the_one_a_shot_carries() -> None:
    meta = ShotCharacter.model_fields["descriptor"].metadata
    assert [m.max_length for m in meta if getattr(m, "max_length", None)] == [DESCRIPTOR_LIMIT]
    with pytest.raises(ValidationError, match="characters as one prompt"):
        VisualDescriptor.model_validate(_long_look())
    fitted = VisualDescriptor.model_validate(fit_look(_long_look()))
    assert 0.9 * DESCRIPTOR_LIMIT < len(fitted.as_prompt()) <= DESCRIPTOR_LIMIT
    small = {"face": "f", "hair": "h", "build": "b", "age_look": "a", "wardrobe": "w", "marks": ""}
    assert fit_look(small) == small and fit_look("not a look") == "not a look"  # type: ignore[arg-type]


def test_a_bible_with_a_look_too_long_for_a_shot_is_repaired_not_refused(sample) -> None:
    data = sample("zh_bible")
    data["characters"][0]["visual"] = _long_look()
    data["characters"][2]["id"] = " lin_xuerou\n"
    bible = Bible.model_validate(repair_bible(data))
    assert bible.characters[2].id == "lin_xuerou"
    assert bible.secrets[0].known_by == ("lin_xuerou",)  # compared as the bible holds it: not dropped as dangling
    assert ShotCharacter.from_character(bible.characters[0]).descriptor == bible.characters[0].visual.as_prompt()


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "C:\\refs\\a.png", "a/b/../../c", 7])
def test_a_reference_image_a_model_wrote_outside_the_season_is_dropped_not_refused(sample, path: object) -> None:
    data = sample("zh_bible")
    data["characters"][1]["reference_image"] = path
    data["characters"][0]["reference_image"] = "refs/lin_wan.png"  # a sound one stays
    bible = Bible.model_validate(repair_bible(data))
    assert bible.characters[1].reference_image is None
    assert bible.characters[0].reference_image == "refs/lin_wan.png"


def test_the_look_as_of_an_episode_still_fits_a_shot(world, tmp_path: Path) -> None:
    ledger, bible, _ = world
    long_value = "a jagged burn scar across the left cheek and neck, still red, " * 3
    facts = []
    for c in bible.characters:
        facts += [Fact(subject=c.id, kind="state", attribute="outfit", value=long_value[:200], episode=20, change=True),
                  Fact(subject=c.id, kind="trait", attribute="burn_scar", value=long_value[:200], episode=20),
                  Fact(subject=c.id, kind="trait", attribute="injury", value=long_value[:200], episode=20)]
    ledger.record_episode(20, facts)
    # Looks near the limit with a short wardrobe and no marks: canon's outfit and scars would push them over.
    near = {k: v for k, v in _long_look().items() if k in ("face", "hair", "build")}
    heavy = Bible.model_validate({**bible.model_dump(), "characters": [
        {**c.model_dump(), "visual": {**c.visual.model_dump(), **near, "wardrobe": "black suit", "marks": ""}}
        for c in bible.characters]})
    assert all(len(c.visual.as_prompt()) > 0.85 * DESCRIPTOR_LIMIT for c in heavy.characters)
    for c in bible_as_of(bible, ledger.state_as_of(20)).characters:
        assert "burn scar" in ShotCharacter.from_character(c).descriptor
    for c in bible_as_of(heavy, ledger.state_as_of(20)).characters:  # looks already at the limit: still fit
        assert len(ShotCharacter.from_character(c).descriptor) <= DESCRIPTOR_LIMIT


# ---- the bible into canon, and scripts ---------------------------------------------------------------------------

def test_a_nickname_that_is_another_characters_id_does_not_stop_seeding(tmp_path: Path, sample) -> None:
    data = sample("zh_bible")
    data["characters"][0]["aliases"].append(data["characters"][1]["id"])  # lin_wan nicknamed 'gu_yanshen'
    data["characters"][1]["aliases"].append("LIN_WAN")
    bible = Bible.model_validate(data)
    with Ledger(tmp_path / "canon.sqlite") as ledger:
        seed_canon(ledger, bible)
        seed_canon(ledger, bible)  # idempotent
        assert ledger.resolve("gu_yanshen") == "gu_yanshen" and ledger.resolve("lin_wan") == "lin_wan"
        with pytest.raises(LedgerError):  # strict callers are still told
            ledger.add_entity(Entity(id="lin_xuerou", aliases=("lin_wan",)))


def test_script_ids_are_repaired_as_the_script_will_hold_them(sample) -> None:
    data = sample("zh_script")
    scene = data["scenes"][0]
    scene["cast"] = ["lin_wan\n", "lin_wan", "林雪柔", "1_guard"]
    scene["elements"][1]["speaker"] = "lin_xuerou\n"
    script = EpisodeScript.model_validate(repair_script(data, 1))
    assert script.scenes[0].cast == ("lin_wan", "lin_xuerou")
    assert "lin_xuerou (捂着脖子): 我的项链" in script_text(script)

