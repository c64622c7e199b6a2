"""The season bible's size and the repair of a model's bible: what the showrunner asks for and what it
does not refuse a sound bible for."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from cliffhanger.agents.season.artifacts import AUDIENCE, RelPath, fit_look
from cliffhanger.agents.season.casting import repair_casting


@dataclass(frozen=True)
class BibleSize:
    """How much bible a season needs (ranges are inclusive)."""

    characters: tuple[int, int]
    secrets: tuple[int, int]
    locations: tuple[int, int]
    antagonists: int
    cards: int
    plants: int


def bible_size(episodes: int, acts: int = 4) -> BibleSize:
    """The bible a season of `episodes` needs so it does not run dry before its last act.

    - antagonists: 1 + ceil(episodes / 20), at least 2 and at most one per act (a ladder of tiers 1-3,
      each rung leading an act): 2 up to 20 episodes, 3 up to 40, 4 up to 60 in a four-act pack;
    - cards (the lead's hidden identities and trump cards, each dropped in stages): one per ~15 episodes;
    - plants (伏笔) with their payoff episodes: one per ~6 episodes, at least 2;
    - secrets: ceil(episodes / 15) to that + 3, at least 3-6 (12 episodes: 3-6; 60: 4-7; 100: 7-10);
    - characters: the antagonists plus the lead, the love interest and allies: antagonists + 2 to
      antagonists + 6, at least 4-8 (60 episodes: 6-10);
    - locations: 3-6, 3-8 past 30 episodes.
    """
    antagonists = max(2, min(max(acts, 2), 1 + math.ceil(episodes / 20)))
    secrets_lo = max(3, math.ceil(episodes / 15))
    chars_lo = max(4, antagonists + 2)
    return BibleSize(
        characters=(chars_lo, chars_lo + 4), secrets=(secrets_lo, secrets_lo + 3),
        locations=(3, 6 if episodes <= 30 else 8), antagonists=antagonists,
        cards=max(1, round(episodes / 15)), plants=max(2, round(episodes / 6)),
    )


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _id(value: Any) -> str | None:
    """An id as the bible will hold it (stripped); None for anything that is no string."""
    return value.strip() if isinstance(value, str) else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _episode(value: Any, episodes: int | None) -> Any:
    """An episode number brought inside the season (None when it falls after it); other values unchanged
    for validation to report."""
    if isinstance(value, int) and not isinstance(value, bool):
        if episodes is not None and value > episodes:
            return None
        return max(value, 1)
    return value


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _is_relative_path(value: object) -> bool:
    try:
        TypeAdapter(RelPath).validate_python(value)
    except ValidationError:
        return False
    return True


def repair_bible(data: Any, episodes: int | None = None) -> Any:
    """Drop what a sound bible should not be refused for: duplicate ids (across characters, locations,
    secrets, cards and plants), `known_by`, antagonist, address and reveal-stage ids that name no character,
    and episodes past the season's end (`episodes`; a secret then waits for the next season). A plant paid
    before it is planted swaps the two episodes, and the ladder falls in tier order (the downfall episodes
    the bible gives, sorted onto the tiers). A look that would not fit a shot as one prompt is shortened
    (`fit_look`). A casting outside its vocabularies, or missing, takes the default's values from what the
    character's entry says, and voice ids a model wrote are dropped (`casting.repair_casting`)."""
    if not isinstance(data, dict):
        return data
    seen: set[str] = set()
    for group in ("characters", "locations", "secrets", "cards", "plants"):
        kept = []
        for item in _dicts(data.get(group)):
            if "id" in item:
                item["id"] = _stripped(item["id"])  # ids are compared as the bible will hold them
            key = _id(item.get("id"))
            if key is None or key not in seen:  # an id that is no string is for validation to report
                seen.add(key or "")
                kept.append(item)
        if group in data or kept:
            data[group] = kept
    chars = _dicts(data.get("characters"))
    ids = {_id(c.get("id")) for c in chars} - {None, AUDIENCE}
    forms: dict[str, list[str]] = {}
    for a in _dicts(data.get("address")):
        if isinstance(a.get("form"), str):
            forms.setdefault(_id(a.get("listener")) or "", []).append(a["form"])
    for c in chars:
        if isinstance(c.get("visual"), dict):
            c["visual"] = fit_look(c["visual"])
        # No image exists when a model writes the bible: a path outside the season is dropped, not refused.
        if c.get("reference_image") is not None and not _is_relative_path(c["reference_image"]):
            c["reference_image"] = None
        c["casting"] = repair_casting(c, forms.get(_id(c.get("id")) or "", ()))
    for s in _dicts(data.get("secrets")):
        known = s.get("known_by")
        s["known_by"] = [k for k in (_id(k) for k in (known if isinstance(known, list) else [])) if k in ids]
        s["planned_reveal_episode"] = _episode(s.get("planned_reveal_episode"), episodes)
    for card in _dicts(data.get("cards")):
        stages, parties = [], set()
        for st in _dicts(card.get("stages")):
            st["to"], st["episode"] = _id(st.get("to")), _episode(st.get("episode"), episodes)
            if (st["to"] in ids or st["to"] == AUDIENCE) and st["episode"] is not None and st["to"] not in parties:
                parties.add(st["to"])
                stages.append(st)
        card["stages"] = sorted(stages, key=lambda st: _int(st["episode"]))
    plants = []
    for p in _dicts(data.get("plants")):
        a, b = _episode(p.get("planted_episode"), episodes), _episode(p.get("payoff_episode"), episodes)
        if a is None or b is None:
            continue  # a plant the season has no room to pay is no plant
        if isinstance(a, int) and isinstance(b, int) and b < a:
            a, b = b, a
        p["planted_episode"], p["payoff_episode"] = a, b
        plants.append(p)
    if "plants" in data:
        data["plants"] = plants
    if "antagonists" in data:
        ladder = [a for a in _dicts(data.get("antagonists")) if _id(a.get("character")) in ids]
        for a in ladder:
            a["character"] = _id(a["character"])
            a["downfall_episode"] = _episode(a.get("downfall_episode"), episodes)
        falls = [a for a in ladder if isinstance(a.get("downfall_episode"), int)]
        by_tier = sorted(falls, key=lambda a: (_int(a.get("tier")), _int(a.get("act"))))
        for a, ep in zip(by_tier, sorted(a["downfall_episode"] for a in falls), strict=True):
            a["downfall_episode"] = ep
        data["antagonists"] = ladder
    if "address" in data:
        data["address"] = [a for a in _dicts(data.get("address"))
                           if _id(a.get("speaker")) in ids and _id(a.get("listener")) in ids]
    return data
