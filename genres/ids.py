"""The one id rule: snake_case ascii ids, the key shared by packs, canon, arc, scripts, shots and evals.

An id is a lowercase ascii letter, then lowercase letters, digits or `_`, at most ID_MAX_LENGTH (64)
characters in all, and nothing else: no surrounding whitespace, no trailing newline (`re.fullmatch`,
never `.match` with `$`, which lets 'lin_xia\\n' through). Every layer takes its id type from here
(genres is the bottom layer: memory, agents, evals and app all import it):

- `Id`: the pydantic type; the JSON schema shows models `ID_PATTERN`;
- `is_id(value)`: the same test as a predicate, for repairs that must agree with the type;
- `check_id(value)`: the validator, whose error says how to fix the id;
- `to_id(text)`: the repair of a name that spells an id in ascii ('Lin Xia' -> 'lin_xia'), or None
  when the text is not name-like (a sentence, a Chinese name): then the value is dropped, not guessed.

Models that strip surrounding whitespace from strings before validation (the artifacts do) accept
' lin_xia ' as 'lin_xia'; the rule itself never does. Genre packs narrow the rule on purpose
(`genres.pack.PackId`, at most 48 characters): a narrower rule is safe, because every pack id is then
also an `Id` wherever it travels (a season's genre, an arc row's cliffhanger kind).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

ID_MAX_LENGTH = 64
ID_BODY = r"[a-z][a-z0-9_]{0,63}"  # the rule as a regex fragment, for patterns that find ids inside text
ID_PATTERN = rf"^{ID_BODY}$"  # for JSON schemas (ECMA-262: `$` is the end of the string)
_ID = re.compile(ID_BODY)  # used with fullmatch only
# What a name looks like when it can become an id: ascii words (at most four), joined by spaces, _ or -.
_NAME_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9'’.]*(?:[ _-]+[A-Za-z0-9'’.]+){0,3}")


def is_id(value: object) -> bool:
    """True when `value` is an id exactly as given (a str, no surrounding whitespace)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def slug(text: str) -> str:
    """`text` in lowercase ascii snake_case (maybe empty, maybe not a valid id): a hint for messages."""
    out = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return out.lstrip("0123456789_")[:ID_MAX_LENGTH]


def to_id(text: object) -> str | None:
    """The id `text` names: itself when it is one; a name-like ascii text in snake_case ('Lin Xia',
    'LIN_XIA', ' lin_xia\\n' -> 'lin_xia'); None for anything else (a sentence, a non-ascii name)."""
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    if is_id(stripped):
        return stripped
    if not _NAME_LIKE.fullmatch(stripped):
        return None
    out = re.sub(r"[^a-z0-9]+", "_", stripped.lower()).strip("_")
    return out if is_id(out) else None


def check_id(value: str) -> str:
    """`value` when it is an id; ValueError saying how to write one otherwise."""
    if is_id(value):
        return value
    hint = slug(value) if isinstance(value, str) else ""
    example = f" like {hint!r}" if hint and hint != value else " (pinyin works: 'lin_wan')"
    raise ValueError(
        f"{value!r} is not a valid id: use snake_case ascii{example}: a lowercase letter, then a-z, 0-9 "
        f"or _, at most {ID_MAX_LENGTH} characters"
    )


# A custom validator instead of a pattern constraint so the error says how to fix the id; the schema
# still shows the pattern to the model.
Id = Annotated[str, AfterValidator(check_id), WithJsonSchema({"type": "string", "pattern": ID_PATTERN})]
