"""The writer's own edits of the bible and the arc (`/character`, `/arc`), validated as strictly as
the showrunner's output. A bible edit reseeds canon; accepted episodes keep their text either way.
"""

from __future__ import annotations

from pydantic import ValidationError

from cliffhanger.agents.errors import UserError, format_validation_error
from cliffhanger.agents.roles.continuity import seed_canon
from cliffhanger.agents.roles.showrunner_chat import ARC_FIELDS, CHARACTER_FIELDS, Action
from cliffhanger.agents.season.artifacts import ArcRow, Bible, SeasonSpec
from cliffhanger.agents.season.casting import bible_casting
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.memory.ledger import Ledger

CASTING_EDITS = ("gender", "age_range", "timbre", "pace", "voice_id")  # fields of Character.casting


def check_episode(spec: SeasonSpec, episode: int) -> int:
    if not 1 <= episode <= spec.episodes:
        raise UserError(f"episode {episode} is outside the season (episodes 1-{spec.episodes})")
    return episode


def set_character(store: SeasonStore, action: Action) -> str:
    """Change one field of one character in the bible and reseed canon from it; what changed, in a line."""
    bible = store.bible()
    if bible is None:
        raise UserError("there is no bible yet: draft first (/draft 1)")
    who = action.character.strip().lower()
    char = next((c for c in bible.characters if who in (c.id.lower(), c.name.lower())), None)
    if char is None:
        raise UserError(f"no character {action.character!r}: use one of {', '.join(c.id for c in bible.characters)}")
    fld = action.field.strip().lower()
    if fld not in CHARACTER_FIELDS:
        raise UserError(f"cannot change {fld!r} of a character: use one of {', '.join(CHARACTER_FIELDS)}")
    text = action.value.strip()
    value: str | int = text
    if fld == "age":
        if not text.isdigit():
            raise UserError(f"age {text!r} is not a number of years")
        value = int(text)
    data = char.model_dump()
    if fld in CASTING_EDITS:
        data["casting"] = _cast(bible, char.id, fld, text)
    elif fld in data["visual"]:
        data["visual"][fld] = value
    else:
        data[fld] = value
    try:
        new_char = type(char).model_validate(data)
        new_bible = Bible.model_validate({**bible.model_dump(), "characters": [
            new_char.model_dump() if c.id == char.id else c.model_dump() for c in bible.characters]})
    except ValidationError as exc:
        raise UserError(format_validation_error(exc, f"character {char.id}")) from None
    with store.lock():
        store.write_bible(new_bible)
        with Ledger(store.ledger_path) as ledger:
            seed_canon(ledger, new_bible)
    return f"bible: {char.id}.{fld} is now {value!r}"


def _cast(bible: Bible, who: str, fld: str, text: str) -> dict[str, object]:
    """The character's casting (the bible's, or the default) with `fld` set; `voice_id` takes 'PROVIDER ID' and
    sets that provider's voice ('PROVIDER -' removes it)."""
    current = bible_casting(bible)[who]
    casting = {**current.model_dump(), "voices": dict(current.voices)}
    if fld != "voice_id":
        casting[fld] = text.lower()
        return casting
    provider, _, voice = text.partition(" ")
    if not voice.strip():
        raise UserError(f"voice_id {text!r}: give a provider and its voice id, e.g. azure zh-CN-XiaoxiaoNeural")
    casting["voices"] = {k: v for k, v in casting["voices"].items() if k != provider.lower()}
    if voice.strip() != "-":
        casting["voices"][provider.lower()] = voice.strip()
    return casting


def set_arc_row(store: SeasonStore, spec: SeasonSpec, action: Action) -> str:
    """Change one field of one episode's beat-sheet row, checked against the season and the bible."""
    arc = store.arc()
    if arc is None:
        raise UserError("there is no arc yet: draft first (/draft 1)")
    ep = check_episode(spec, action.episode)
    fld = action.field.strip().lower()
    if fld not in ARC_FIELDS:
        raise UserError(f"cannot change {fld!r} of an arc row: use one of {', '.join(ARC_FIELDS)}")
    row = arc.row(ep).model_dump()
    value = action.value.strip()
    if fld == "cliffhanger":
        row["cliffhanger"]["hook_line"] = value
    elif fld == "cliffhanger_kind":
        row["cliffhanger"]["kind"] = value
    elif fld == "strength":
        if not value.isdigit():
            raise UserError(f"strength {value!r}: use a number from 1 to 5")
        row["cliffhanger"]["strength"] = int(value)
    else:
        row[fld] = value
    try:
        new_row = ArcRow.model_validate(row)
        new_arc = type(arc).model_validate({**arc.model_dump(), "rows": [
            new_row.model_dump() if r.episode == ep else r.model_dump() for r in arc.rows]})
        new_arc.validate_against(spec, store.bible())
    except ValidationError as exc:
        raise UserError(format_validation_error(exc, f"episode {ep}'s row")) from None
    except ValueError as exc:
        raise UserError(f"episode {ep}'s row: {exc}") from None
    with store.lock():
        store.write_arc(new_arc)
    after = f"; episode {ep} is already accepted: /redraft {ep} to apply it" if ep in store.accepted_episodes() else ""
    return f"arc: episode {ep} {fld} is now {value!r}{after}"
