"""Turning raw model text into validated objects, without ever trusting it.

Repairs are limited to noise around a complete answer: reasoning in `<think>` tags, code fences,
prose before or after the JSON, control characters (escape codes, NUL) inside its strings. A
half-written object is never completed or guessed at, and JSON nested deeper than `MAX_JSON_DEPTH`
is refused before it is parsed: the caller retries instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_THINK_BLOCK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
# An unclosed think tag at the start: the model ran out of tokens while reasoning.
_THINK_OPEN = re.compile(r"^\s*<(think|thinking|reasoning)>.*\Z", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# C0 controls but tab and newline, DEL and C1: escape codes (ANSI colours, OSC 52 clipboard writes,
# screen clears), NUL and carriage returns have no place in a script and would reach files people `cat`.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

MAX_FEEDBACK_CHARS = 1500
# Deeper than any schema of ours by far; json.loads would raise RecursionError near 1,000 levels, and
# code that walks the parsed value (repairs, clamping) recurses too.
MAX_JSON_DEPTH = 64


class OutputProblem(Exception):
    """Why a model answer could not be used; the message is fed back to the model on retry."""


def strip_think(text: str) -> str:
    """Remove reasoning blocks (`<think>…</think>` and kin) that reasoning models put before answers."""
    text = _THINK_BLOCK.sub("", text)
    text = _THINK_OPEN.sub("", text)
    # Some servers drop the opening tag and keep only the closing one.
    for tag in ("</think>", "</thinking>", "</reasoning>"):
        if tag in text:
            text = text.split(tag)[-1]
    return text.strip()


def extract_json_text(text: str) -> str:
    """The JSON value inside `text`: the whole text, a fenced block, or the outermost object.

    Raises OutputProblem when no complete JSON value is there.
    """
    text = strip_think(text)
    candidates = [text]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    start = text.find("{")
    end = text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    last_error: json.JSONDecodeError | None = None
    for cand in candidates:
        if not cand:
            continue
        depth = json_depth(cand)
        if depth > MAX_JSON_DEPTH:
            raise OutputProblem(f"the answer nests JSON {depth} levels deep (at most {MAX_JSON_DEPTH}): "
                                "answer with the flat object the schema describes")
        try:
            json.loads(cand, strict=False)  # raw newlines inside strings are noise, not truncation
        except json.JSONDecodeError as exc:
            last_error = exc
            continue
        return cand
    if not text:
        raise OutputProblem("the answer was empty")
    detail = f" ({last_error.msg} at position {last_error.pos})" if last_error else ""
    raise OutputProblem(f"the answer is not valid JSON{detail}")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (brackets inside JSON strings do not count)."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = deepest = 0
    for ch in brackets:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def validate_json(text: str, schema: type[T]) -> T:
    """Parse and validate; OutputProblem carries the validation errors in a form a model can act on."""
    return parse_output(text, schema)[0]


def parse_output(text: str, schema: type[T], repair: Callable[[Any], Any] | None = None) -> tuple[T, bool]:
    """(validated object, whether noise around the JSON had to be removed).

    Strict `json.loads` only: langchain's own parsers complete half-written JSON, which we refuse.
    `repair` may fix cross-field consistency (renumbering, dangling ids) on the parsed data before
    validation; it never completes a truncated answer because it only ever sees complete JSON.
    """
    raw = extract_json_text(text)
    return _validate(raw, schema, repair), raw != text.strip()


def without_controls(value: Any) -> Any:
    """`value` (parsed JSON, nested at most MAX_JSON_DEPTH) with control characters removed from every string."""
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, dict):
        return {without_controls(k): without_controls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_controls(v) for v in value]
    return value


def _validate(raw: str, schema: type[T], repair: Callable[[Any], Any] | None = None) -> T:
    data: Any = without_controls(json.loads(raw, strict=False))
    if repair is not None:
        try:
            data = repair(data)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            pass  # leave the data as it was: validation below says what is wrong
    # Some models wrap the object in its schema name or in {"properties": ...}.
    if isinstance(data, dict) and len(data) == 1:
        (key, inner), = data.items()
        if key in (schema.__name__, "properties", "data", "result") and isinstance(inner, dict):
            try:
                return schema.model_validate(inner)
            except ValidationError:
                pass
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise OutputProblem(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:12]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    more = exc.error_count() - len(parts)
    text = "the JSON does not match the schema: " + "; ".join(parts)
    if more > 0:
        text += f"; and {more} more"
    return text[:MAX_FEEDBACK_CHARS]


class ThinkStreamFilter:
    """Removes `<think>…</think>` from a token stream as it arrives.

    Text is held back only while it could still be the start of a tag, so ordinary answers stream
    without delay.
    """

    _OPEN = ("<think>", "<thinking>", "<reasoning>")

    def __init__(self) -> None:
        self._buf = ""
        self._inside: str | None = None

    def feed(self, chunk: str) -> str:
        self._buf += chunk
        out = []
        while self._buf:
            if self._inside is not None:
                end = self._buf.find(self._inside)
                if end < 0:
                    # Keep a tail that might be the start of the closing tag.
                    self._buf = self._buf[-(len(self._inside) - 1) :]
                    break
                self._buf = self._buf[end + len(self._inside) :].lstrip()
                self._inside = None
                continue
            start = self._buf.find("<")
            if start < 0:
                out.append(self._buf)
                self._buf = ""
                break
            out.append(self._buf[:start])
            self._buf = self._buf[start:]
            opened = next((t for t in self._OPEN if self._buf.startswith(t)), None)
            if opened:
                self._inside = "</" + opened[1:]
                self._buf = self._buf[len(opened) :]
                continue
            if any(t.startswith(self._buf) for t in self._OPEN):
                break  # could still become a tag: wait for more
            out.append(self._buf[0])
            self._buf = self._buf[1:]
        return "".join(out)

    def flush(self) -> str:
        rest = "" if self._inside is not None else self._buf
        self._buf = ""
        return rest


class JsonEndScanner:
    """Fed an answer piece by piece, says when its first top-level JSON object or array is complete.

    Only structure is tracked (brackets outside strings, escapes inside them), not validity: the
    complete text is parsed and validated as usual afterwards. Text before the value (a code fence,
    a sentence) is skipped; a reasoning block (`<think>…</think>`) is skipped whole, so brackets in it
    never count. Once complete, whatever the server sends after the value can be dropped unread.
    """

    _OPEN = "{["
    _CLOSE = {"}": "{", "]": "["}

    def __init__(self) -> None:
        self._stack: list[str] = []
        self._in_string = False
        self._escaped = False
        self._started = False
        self._think_tail = ""  # the text since an unclosed <think>, searched for its closing tag
        self._in_think = False
        self._head = ""  # text before the value, to spot an opening think tag split across pieces
        self.complete = False

    def feed(self, piece: str) -> bool:
        """Consume `piece`; True once the value is complete (and from then on)."""
        for ch in piece:
            if self.complete:
                break
            if self._in_think:
                self._think_tail = (self._think_tail + ch)[-16:]
                if self._think_tail.lower().endswith(("</think>", "</thinking>", "</reasoning>")):
                    self._in_think, self._think_tail = False, ""
                continue
            if not self._started:
                self._head = (self._head + ch)[-16:]
                if self._head.lower().endswith(("<think>", "<thinking>", "<reasoning>")):
                    self._in_think, self._head = True, ""
                    continue
                if ch in self._OPEN:
                    self._started = True
                    self._stack.append(ch)
                continue
            self._step(ch)
        return self.complete

    def _step(self, ch: str) -> None:
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif ch == "\\":
                self._escaped = True
            elif ch == '"':
                self._in_string = False
            return
        if ch == '"':
            self._in_string = True
        elif ch in self._OPEN:
            self._stack.append(ch)
        elif ch in self._CLOSE:
            if self._stack and self._stack[-1] == self._CLOSE[ch]:
                self._stack.pop()
            if not self._stack:
                self.complete = True
