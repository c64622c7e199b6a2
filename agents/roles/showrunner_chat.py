"""The showrunner in conversation: a writer's message becomes an `Action`, and a streamed reply.

The model only proposes: `plan_turn` returns an Action (a schema, never parsed prose), which the app
checks, confirms when destructive, and runs through the same graph as `cliffhanger draft`. There is no
action that deletes anything; the worst the model can propose is a redraft, which keeps the old
version in the episode's history and asks the writer first. Slash commands skip the model.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.llm.client import StructuredModel
from cliffhanger.agents.prompts import render

ActionKind = Literal["answer", "status", "draft", "redraft", "revise_cliffhanger", "set_character", "set_arc_row",
                     "approve_arc", "canon", "explain", "export"]
Short = Annotated[str, StringConstraints(max_length=2000)]

# Fields of a character and of an arc row the chat may change (the rest is structural).
CHARACTER_FIELDS = ("name", "age", "want", "secret", "arc", "voice", "face", "hair", "build", "age_look",
                    "wardrobe", "marks", "gender", "age_range", "timbre", "pace", "voice_id")
ARC_FIELDS = ("logline", "payoff", "opening_hook", "cliffhanger", "cliffhanger_kind", "strength")
EXPORT_FORMATS = ("fountain", "fdx", "zh-script", "shots-json", "shots-csv", "jobs", "keyframes", "references",
                  "budget", "tts", "srt", "vtt", "otio", "edl", "fcpxml", "bible-md", "html")


class Action(BaseModel):
    """One thing the room can do for the writer. Unused fields stay empty."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: ActionKind = Field(description="What to do. 'answer': just reply (questions about craft, ideas, plans). "
                             "'status': report season progress. 'draft': draft episodes up to `episode` (0: the "
                             "whole season). 'redraft': rewrite episode `episode` following `note`. "
                             "'revise_cliffhanger': rewrite only the ending of `episode` following `note`. "
                             "'set_character': change `field` of character `character` to `value`. 'set_arc_row': "
                             "change `field` of episode `episode`'s beat-sheet row to `value`. 'approve_arc': approve "
                             "the arc and continue drafting. 'canon': answer `question` from canon as of `episode` "
                             "(0: latest). 'explain': explain continuity finding number `finding` of `episode`. "
                             "'export': export the season as `format`.")
    episode: int = Field(0, ge=0, le=1000, description="Episode number; 0 when not about one episode.")
    note: Short = Field("", description="The writer's note for a redraft or cliffhanger revision, in their words.")
    question: Short = Field("", description="The canon question, for 'canon'.")
    character: Annotated[str, StringConstraints(max_length=80)] = Field("", description="Character id or name.")
    field: Annotated[str, StringConstraints(max_length=40)] = Field("", description="Field to change.")
    value: Short = Field("", description="New value of the field.")
    format: Annotated[str, StringConstraints(max_length=20)] = Field("", description="Export format.")
    target: Annotated[str, StringConstraints(max_length=20)] = Field("", description="Video model for shot exports.")
    finding: int = Field(0, ge=0, le=100, description="Finding number (1 = first) for 'explain'.")

    def describe(self) -> str:
        ep = f" {self.episode}" if self.episode else ""
        return {
            "answer": "reply", "status": "season status",
            "draft": f"draft up to episode {self.episode}" if self.episode else "draft the whole season",
            "redraft": f"redraft episode{ep}: {self.note}", "revise_cliffhanger": f"revise the cliffhanger of episode{ep}: {self.note}",
            "set_character": f"set {self.character}.{self.field} = {self.value}",
            "set_arc_row": f"set episode{ep} {self.field} = {self.value}", "approve_arc": "approve the arc",
            "canon": f"canon: {self.question}", "explain": f"explain finding {self.finding or 1} of episode{ep}",
            "export": f"export {self.format}" + (f" for {self.target}" if self.target else ""),
        }[self.kind]


SLASH_HELP = """\
/draft [N|all]              draft up to episode N (default: the next one); all: the whole season
/redraft N NOTE             rewrite episode N following your note (the old version is kept)
/revise N NOTE              rewrite only the cliffhanger of episode N following your note
/canon QUESTION [@N]        what canon says, as of episode N (default: the latest)
/explain N [K]              explain continuity finding K (default 1) of episode N
/character ID FIELD VALUE   change a character (fields: """ + ", ".join(CHARACTER_FIELDS) + """)
/arc N FIELD VALUE          change episode N's beat-sheet row (fields: """ + ", ".join(ARC_FIELDS) + """)
/approve                    approve the arc review and continue
/export FORMAT [TARGET]     export (formats: """ + ", ".join(EXPORT_FORMATS) + """)
/status                     where the season stands
/help                       this list"""


def _episode(word: str, command: str) -> int:
    if not word.isdigit() or int(word) < 1:
        raise UserError(f"{command}: {word!r} is not an episode number; see /help")
    return int(word)


def parse_slash(text: str) -> Action | None:
    """`/draft 5` -> Action; None when `text` is not a slash command; UserError for a malformed one."""
    text = text.strip()
    if not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    cmd, rest = head.lower(), rest.strip()
    words = rest.split()
    usage = {"redraft": "/redraft N NOTE", "revise": "/revise N NOTE", "canon": "/canon QUESTION [@N]",
             "explain": "/explain N [K]", "character": "/character ID FIELD VALUE", "arc": "/arc N FIELD VALUE",
             "export": "/export FORMAT [TARGET]"}
    if cmd in usage and not words:
        raise UserError(f"/{cmd} needs more: {usage[cmd]}")
    if cmd == "draft":
        if not words or words[0] == "next":
            return Action(kind="draft", episode=0, note="next")
        if words[0] == "all":
            return Action(kind="draft", episode=0)
        return Action(kind="draft", episode=_episode(words[0], "/draft"))
    if cmd in ("redraft", "revise"):
        note = rest[len(words[0]):].strip()
        if not note:
            raise UserError(f"/{cmd} needs a note: {usage[cmd]}, e.g. /{cmd} 12 stronger cliffhanger")
        return Action(kind="redraft" if cmd == "redraft" else "revise_cliffhanger",
                      episode=_episode(words[0], f"/{cmd}"), note=note)
    if cmd == "canon":
        m = re.search(r"\s@(\d+)\s*$", " " + rest)
        question = rest[: m.start() - 1].strip() if m else rest
        return Action(kind="canon", question=question or rest, episode=int(m.group(1)) if m else 0)
    if cmd == "explain":
        k = int(words[1]) if len(words) > 1 and words[1].isdigit() else 1
        return Action(kind="explain", episode=_episode(words[0], "/explain"), finding=k)
    if cmd == "character":
        parts = shlex.split(rest) if rest.count('"') % 2 == 0 else words
        if len(parts) < 3:
            raise UserError(f"/character needs an id, a field and a value: {usage['character']}")
        return Action(kind="set_character", character=parts[0], field=parts[1], value=" ".join(parts[2:]))
    if cmd == "arc":
        if len(words) < 3:
            raise UserError(f"/arc needs an episode, a field and a value: {usage['arc']}")
        value = rest.split(None, 2)[2]
        return Action(kind="set_arc_row", episode=_episode(words[0], "/arc"), field=words[1], value=value)
    if cmd == "export":
        return Action(kind="export", format=words[0], target=words[1] if len(words) > 1 else "")
    if cmd == "approve":
        return Action(kind="approve_arc")
    if cmd == "status":
        return Action(kind="status")
    if cmd == "help":
        return Action(kind="answer", note="help")
    raise UserError(f"unknown command /{cmd}: type /help for the list")


async def plan_turn(model: StructuredModel, *, message: str, season: str, history: str) -> tuple[Action, str]:
    """The showrunner model reads the writer's message and proposes one Action."""
    p = render("showrunner.chat_plan", season=season, history=history or "(new conversation)", message=message)
    action = await model.structured(Action, [("user", p.text)], prompt=p.ref)
    return Action.model_validate(action.model_dump()), p.ref


def reply_messages(*, message: str, season: str, history: str, outcome: str) -> tuple[list[tuple[str, str]], str]:
    p = render("showrunner.chat_reply", season=season, history=history or "(new conversation)", message=message,
               outcome=outcome or "(nothing was run)")
    return [("user", p.text)], p.ref


async def stream_reply(model: object, *, message: str, season: str, history: str,
                       outcome: str) -> AsyncIterator[str]:
    """The showrunner's answer to the writer, token by token."""
    messages, ref = reply_messages(message=message, season=season, history=history, outcome=outcome)
    async for piece in model.stream(messages, prompt=ref):  # type: ignore[attr-defined]
        yield piece
