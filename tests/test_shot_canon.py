"""Canon changes to a character's look reach the shot prompts from the episode they happen on."""

from __future__ import annotations

from pathlib import Path

from cliffhanger.agents.roles.shot_planner import bible_as_of
from cliffhanger.agents.season.artifacts import Bible
from cliffhanger.memory.facts import Fact
from cliffhanger.memory.ledger import Ledger


def test_a_scar_gained_in_episode_20_shows_from_episode_20_on(tmp_path: Path, sample) -> None:
    bible = Bible.model_validate(sample("zh_bible"))
    ledger = Ledger(tmp_path / "canon.sqlite")
    ledger.record_episode(20, [
        Fact(subject="lin_wan", kind="trait", attribute="scar", value="thin scar across the left cheek", episode=20,
             change=True, evidence="玻璃划过她的脸。"),
        Fact(subject="lin_wan", kind="state", attribute="wardrobe", value="black mourning dress", episode=20,
             change=True, evidence="她换上了黑裙。"),
        Fact(subject="lin_wan", kind="state", attribute="location", value="hospital", episode=20, change=True),
    ])
    before = bible_as_of(bible, ledger.state_as_of(19))
    after = bible_as_of(bible, ledger.state_as_of(20))
    lin_before = next(c for c in before.characters if c.id == "lin_wan").visual.as_prompt()
    lin_after = next(c for c in after.characters if c.id == "lin_wan").visual.as_prompt()
    assert lin_before == next(c for c in bible.characters if c.id == "lin_wan").visual.as_prompt()
    assert "scar: thin scar across the left cheek" in lin_after and "wearing black mourning dress" in lin_after
    assert "small mole under the left eye" in lin_after  # the locked marks stay
    assert "hospital" not in lin_after  # where she is is not how she looks
    others = [c.visual for c in after.characters if c.id != "lin_wan"]
    assert others == [c.visual for c in bible.characters if c.id != "lin_wan"]
