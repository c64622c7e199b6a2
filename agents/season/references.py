"""Reference sheets: one image per character look version and per location, so every clip renders the same face
and the same room.

A character's sheet shows one look version (`looks.LookVersion`: the bible's look, then each look canon
gives them, a scar from episode 20 on) in four views side by side (front, three-quarter, profile, full
body) under neutral light on a plain background; a location's sheet shows its locked `Location.visual`
(establishing view, reverse angle, a detail) with nobody in it. The ids ('sheet-lin_wan-v2',
'sheet-lin_mansion_hall') are the keys of assets.toml (`assets`), and keyframes and jobs name them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import Field

from cliffhanger.agents.season.artifacts import Artifact, Bible, Id
from cliffhanger.agents.season.keyframes import PLACE_WORDS, english_name
from cliffhanger.agents.season.looks import LookBook, episode_ranges, sheet_id

CHARACTER_VIEWS = ("front", "three-quarter", "profile", "full body")
LOCATION_VIEWS = ("establishing wide", "reverse angle", "detail of the key props")
SHEET_ASPECT = "16:9"  # the views side by side
SHEET_NEGATIVE = ("text", "labels", "watermark", "a different face or outfit between views", "extra fingers",
                  "dramatic or coloured light", "busy background", "props in hand")
LOCATION_NEGATIVE = ("people", "text", "labels", "watermark", "a different room between views")


class ReferenceSheet(Artifact):
    """One reference sheet: a text-to-image request and where its image is."""

    id: str = Field(description="'sheet-<character>-v<version>' or 'sheet-<location>'; the key in assets.toml.")
    kind: Literal["character", "location"]
    subject: Id = Field(description="Character or location id.")
    name: str = Field(description="Display name in the script language.")
    version: int | None = Field(description="The character's look version, from 1; null for a location.")
    first_episode: int | None = Field(description="First episode that shows this look; null for a location.")
    episodes: str = Field(description="Episodes that show it, as ranges ('1-19, 25'); 'all' for a location.")
    look: str = Field(description="The locked look the sheet shows (English).")
    views: tuple[str, ...]
    prompt: str
    negative_prompt: str
    aspect_ratio: str
    image: str | None = Field(description="The sheet's image once assets.toml names it (a first look falls back "
                                          "to the bible's reference_image).")


def character_sheet_prompt(name: str, look: str) -> str:
    return (f"Character reference sheet of {name}, one image with four views side by side: "
            f"{', '.join(CHARACTER_VIEWS)}. {name}: {look.rstrip('. ')}. Neutral even studio light, plain light-grey "
            "background, relaxed neutral expression, arms at the sides. The same face, hair, build, wardrobe and "
            "marks in every view. Photorealistic, no text.")


def location_sheet_prompt(look: str, int_ext: str) -> str:
    return (f"Location reference sheet, one image with three views side by side: {', '.join(LOCATION_VIEWS)}. "
            f"{look.rstrip('. ')} ({PLACE_WORDS.get(int_ext, int_ext)}). Neutral light, empty of people, the same "
            "architecture, colours and props in every view. Photorealistic, no text.")


def reference_sheets(bible: Bible, looks: LookBook, assets: Mapping[str, str] | None = None,
                     episodes: Iterable[int] | None = None) -> list[ReferenceSheet]:
    """Every character's look versions (those shown in `episodes`, default all), then every bible location."""
    assets = assets or {}
    wanted = None if episodes is None else set(episodes)
    out = []
    for c in bible.characters:
        for v in looks.versions(c.id):
            if wanted is not None and not wanted & set(v.episodes):
                continue
            image = assets.get(v.sheet_id) or (c.reference_image if v.version == 1 else None)
            out.append(ReferenceSheet(
                id=v.sheet_id, kind="character", subject=c.id, name=c.name, version=v.version,
                first_episode=v.episodes[0], episodes=episode_ranges(v.episodes), look=v.look, views=CHARACTER_VIEWS,
                prompt=character_sheet_prompt(english_name(c.name, c.aliases, c.id), v.look),
                negative_prompt=", ".join(SHEET_NEGATIVE), aspect_ratio=SHEET_ASPECT, image=image))
    for loc in bible.locations:
        out.append(ReferenceSheet(
            id=sheet_id(loc.id), kind="location", subject=loc.id, name=loc.name, version=None, first_episode=None,
            episodes="all", look=loc.visual, views=LOCATION_VIEWS, prompt=location_sheet_prompt(loc.visual, loc.int_ext),
            negative_prompt=", ".join(LOCATION_NEGATIVE), aspect_ratio=SHEET_ASPECT, image=assets.get(sheet_id(loc.id))))
    return out
