"""Sixty-episode seasons against the sim, drafted to the end whatever the models say (tracker issue 14).

`cliffhanger draft S --dry-run --provider deepseek` stopped at episode 54 with `internal error:
ValidationError ... ContinuityFinding subject '反派的动机需要在前两集埋下伏笔。' is not a valid id`: the model (in
a dry run the simulator, whose note bank holds that line) named a fact's subject with a sentence, the ledger
took it, and the finding built from it refused it.
Here every season's continuity model says that (and more of its kind) on a share of the episodes, the way
a real model does: before the room's repair and validation see the answer. The bible's model gives a
character a look too long for one shot prompt and another character's id as a nickname. One season
also runs against the sim's hostile faults (injected markup and instructions, huge and nested answers).

Each season must reach episode 60 with no exception out of the run; what could not be kept is noted in
the episode's review.json, and canon holds entity ids only.

Cost: instant sim, hash embedding, concurrency 4, max_revisions 0 (1 for the hostile season). Measured on
2 cores shared with other test runs (load average 4-7): 21-33 s a season, 3.0-4.1 min for all seven
(about 100 s of CPU; the lore index's chromadb upserts are the largest share).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.role_names import ROOM_ROLES as ROLES
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.run import run_season
from cliffhanger.agents.season.artifacts import DESCRIPTOR_LIMIT, ContinuityFinding, SeasonSpec
from cliffhanger.agents.season.shotlist import ShotList
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.sim.config import SimConfig, parse_faults
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.agents.state import RunSettings
from cliffhanger.genres.ids import is_id
from cliffhanger.memory.embeddings import HashEmbedding
from cliffhanger.memory.ledger import Ledger

EPISODES = 60
SENTENCE_ZH = "反派的动机需要在前两集埋下伏笔。"  # the subject of the report (a line of the sim's note bank)
OTHER_ZH = "她为什么突然原谅继妹，这里还没交代清楚。"  # in no bank, so never a bible alias
SENTENCE_EN = "The villain's motive has to be planted in the first two episodes."
NEW_NAME = "Madame Qiao"  # an ascii name of an entity canon does not know yet: repaired to madame_qiao
LOGLINE = {"zh": "被陷害入狱的女总裁重生回到订婚宴，当众揭穿未婚夫和继妹的阴谋。",
           "en": "Framed and jailed, a CEO wakes up at her engagement party and exposes her fiancé and stepsister."}


def bent(episode: int | None) -> bool:
    """Episodes whose continuity answers carry untrusted values: 54 (the episode of the report) and every sixth."""
    return episode is not None and (episode == 54 or episode % 6 == 0)


_SCRIPT_LINE = re.compile(r"^  (?:△ |[a-z][a-z0-9_]{0,63}(?: \([^)\n]*\))?(?: \[(?:OS|VO)\])?: )(.{4,})$", re.M)
_ENTITY = re.compile(r"^([a-z][a-z0-9_]{0,63}): ", re.M)


def _script_lines(prompt: str) -> list[str]:
    return [m.group(1) for m in _SCRIPT_LINE.finditer(prompt)]


def _canon_lines(prompt: str) -> list[str]:
    head = prompt.find("Canon as of the end of episode")
    tail = prompt.find("The draft of episode", head)  # the canon block runs up to the draft
    if head < 0 or tail < 0:
        return []
    block = prompt[head:tail].splitlines()[1:]
    return [ln.strip().removeprefix("- ").strip() for ln in block if len(ln.strip()) > 8]


def bend(schema: str, episode: int | None, prompt: str, data: Any) -> Any:
    """`data` (a model's parsed answer) with the values real models send that pass the answer's own schema."""
    if not isinstance(data, dict):
        return data
    if schema == "Bible" and isinstance(data.get("characters"), list):
        chars = [c for c in data["characters"] if isinstance(c, dict)]
        if chars and isinstance(chars[0].get("visual"), dict):
            words = "a thin silver scar runs from the left brow to the jaw, catching every light, "
            for key in ("face", "hair", "build", "wardrobe", "marks"):
                chars[0]["visual"][key] = (words * 5)[:290].strip()
        if len(chars) > 1 and isinstance(chars[0].get("aliases"), list) and isinstance(chars[1].get("id"), str):
            chars[0]["aliases"] = [*chars[0]["aliases"][:8], chars[1]["id"]]  # another character's id as a nickname
    elif schema == "ExtractedFacts" and bent(episode) and isinstance(data.get("facts"), list):
        lines = _script_lines(prompt)
        known = _ENTITY.findall(prompt.split("Fact kinds:")[0])
        if lines:
            extra = [
                {"subject": SENTENCE_ZH, "kind": "uses", "attribute": "secret", "value": "villain_motive",
                 "scene": 1, "change": False, "evidence": lines[0]},
                {"subject": OTHER_ZH, "kind": "uses", "attribute": "secret", "value": "stepsister_plot",
                 "scene": 1, "change": False, "evidence": lines[-1]},
                {"subject": SENTENCE_EN, "kind": "state", "attribute": "status", "value": "dead", "scene": 1,
                 "change": False, "evidence": lines[-1]},
                {"subject": NEW_NAME, "kind": "trait", "attribute": "eye_colour", "value": "grey", "scene": 1,
                 "change": False, "evidence": lines[0]},
            ]
            if known:
                extra.append({"subject": f"{known[0]}\n", "kind": "presence", "attribute": "appears",
                              "value": "true", "scene": 1, "change": False, "evidence": lines[0]})
            data["facts"] = [*data["facts"][: 120 - len(extra)], *extra]
    elif schema == "ModelFindings" and bent(episode) and isinstance(data.get("findings"), list):
        lines, canon = _script_lines(prompt), _canon_lines(prompt)
        known = re.findall(r"^  ([a-z][a-z0-9_]{0,63})(?: \(|: )", prompt, re.M)
        if lines and canon:
            extra = [{"subject": OTHER_ZH, "canon_quote": canon[0][:300], "script_quote": lines[0][:300],
                      "explanation": "motive unclear", "suggested_fix": "plant it earlier", "severity": "warning"}]
            if known:
                extra.append({"subject": known[0], "canon_quote": canon[-1][:300], "script_quote": lines[-1][:300],
                              "explanation": "   ", "suggested_fix": " ", "severity": "warning"})
            data["findings"] = [*data["findings"][: 20 - len(extra)], *extra]
    elif schema == "EpisodeScript" and isinstance(data.get("scenes"), list):
        for scene in data["scenes"]:
            if isinstance(scene, dict) and isinstance(scene.get("cast"), list) and scene["cast"]:
                scene["cast"] = [f"{c}\n" if isinstance(c, str) else c for c in scene["cast"]]
    return data


class Untrusted(ModelClient):
    """The room's model client; answers are bent (`bend`) as they arrive, before repair and validation."""

    async def structured(self, schema: Any, messages: Any, *, episode: int | None = None, prompt: str | None = None,
                         repair: Any = None) -> Any:
        text = messages[0][1] if messages and isinstance(messages[0], tuple) else ""

        def bent_then_repaired(data: Any) -> Any:
            data = bend(schema.__name__, episode, text, data)
            return repair(data) if repair else data

        return await super().structured(schema, messages, episode=episode, prompt=prompt, repair=bent_then_repaired)


def draft_season(root: Path, language: str, seed: int, faults: str = "", max_revisions: int = 0) -> SeasonStore:
    spec = SeasonSpec.create(title="重生归来" if language == "zh" else "Second Chance", logline=LOGLINE[language],
                             genre="revenge" if language == "zh" else "revenge_us", language=language,
                             episodes=EPISODES)
    store = SeasonStore.create(root, spec)
    usage = UsageLog(store.usage_path)
    with run_in_thread(SimConfig(seed=seed, faults=parse_faults(faults))) as url:
        endpoint = EndpointConfig(provider="sim", base_url=url, model="sim-drama")
        # Five tries a call: with hostile faults a call may meet several refused answers in a row.
        policy = CallPolicy(max_attempts=5, backoff_base_s=0.01, backoff_max_s=0.05)
        models = {r: Untrusted(r, endpoint, usage, policy) for r in ROLES}
        result = asyncio.run(run_season(store, models, RunSettings(
            concurrency=4, max_revisions=max_revisions, embedding=HashEmbedding())))
    assert result.stop == "done", (result.stop, result.message)
    assert result.accepted == list(range(1, EPISODES + 1))
    return store


def review(store: SeasonStore, episode: int) -> dict[str, Any]:
    return json.loads((store.episode_dir(episode) / "review.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("language", "seed", "faults", "max_revisions"), [
    ("zh", 1, "", 0), ("zh", 2, "", 0), ("zh", 3, "", 0),
    ("en", 1, "", 0), ("en", 2, "", 0), ("en", 3, "", 0),
    ("zh", 7, "hostile:0.3", 1),
], ids=["zh-1", "zh-2", "zh-3", "en-1", "en-2", "en-3", "zh-hostile"])
def test_a_sixty_episode_season_reaches_the_end_whatever_the_models_say(
        tmp_path: Path, language: str, seed: int, faults: str, max_revisions: int) -> None:
    store = draft_season(tmp_path / "season", language, seed, faults, max_revisions)

    # Canon holds entity ids only, and every fact's subject names the entity it is about.
    with Ledger(store.ledger_path) as ledger:
        facts = ledger.facts()
        assert facts and all(is_id(f.subject) for f in facts)
        assert not [f for f in facts if f.subject in (SENTENCE_ZH, OTHER_ZH, SENTENCE_EN)]
        # The sim's bible may list the report's sentence among a character's aliases: then it names that character.
        sentence_names = ledger.resolve(SENTENCE_ZH)
        bible = store.bible()
        assert bible is not None
        first, second = bible.characters[0], bible.characters[1]
        assert ledger.resolve(second.id) == second.id  # the id beats the nickname another character took
        assert any(f.subject == "madame_qiao" for f in facts)  # an ascii name of a new entity: repaired, kept
    assert 0.9 * DESCRIPTOR_LIMIT < len(first.visual.as_prompt()) <= DESCRIPTOR_LIMIT  # shortened to fit, not refused

    # What extraction kept (every revision's facts file) is canon already: ids only, checked where it came in.
    for path in store.root.glob("episodes/*/revisions/*.facts.json"):
        subjects = [json.loads(line)["subject"] for line in path.read_text(encoding="utf-8").splitlines() if line]
        assert all(is_id(x) for x in subjects), (path, [x for x in subjects if not is_id(x)])

    # Episode 54 (and every bent episode) notes what it dropped, in its review.
    model_notes = []
    for ep in [e for e in range(1, EPISODES + 1) if bent(e)]:
        data = review(store, ep)
        accepted = data["revisions"][data["accepted_revision"]]
        notes = "\n".join(accepted["dropped"])
        if not is_id(sentence_names):
            assert f"{SENTENCE_ZH!r} secret: the subject is not an entity id or a known name" in notes, (ep, notes)
        assert f"{OTHER_ZH!r} secret: the subject is not an entity id or a known name" in notes, (ep, notes)
        assert "The villain's motive has to be planted" in notes, (ep, notes)
        model_notes += [n for n in accepted["dropped"]
                        if n == f"model finding on {OTHER_ZH!r}: the subject is not an entity id or a known name"]
    assert model_notes  # the model's own finding about a sentence was dropped with a note too

    # Every episode's review and shot list reads back valid; a finding whose explanation was blank is kept.
    repaired = []
    for ep in range(1, EPISODES + 1):
        for finding in review(store, ep)["open_findings"]:
            repaired += [ContinuityFinding.model_validate(finding)]
    assert any(f.rule == "model_check" and f.explanation == "contradicts canon" for f in repaired)
    for ep in range(1, EPISODES + 1):
        shots = json.loads((store.episode_dir(ep) / "shots.json").read_text(encoding="utf-8"))
        ShotList.model_validate({k: v for k, v in shots.items() if k != "_meta"})
