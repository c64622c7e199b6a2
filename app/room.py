"""One season as the terminal UI sees it: what to show, and what the showrunner's tools do.

Every change goes through the same code paths as the CLI: drafts and redrafts run `run_season` (the
same graph, lock and season folder as `cliffhanger draft`), exports call `export_season`. All model
work runs on the room's own event loop in a background thread, so the UI thread never waits on a
model and one set of HTTP clients serves the whole session. `submit()` hands a coroutine to that loop.

A season another process is drafting opens read-only: everything can be looked at (the board
re-reads the folder), nothing can be changed, and canon questions use the ledger only (chromadb is
not safe to open beside another writer).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cliffhanger.agents.errors import UserError, format_validation_error
from cliffhanger.agents.roles.showrunner_chat import (
    ARC_FIELDS,
    CHARACTER_FIELDS,
    SLASH_HELP,
    Action,
    parse_slash,
    plan_turn,
    stream_reply,
)
from cliffhanger.agents.season.artifacts import ArcRow, Bible, ContinuityReport, Critique, EpisodeScript
from cliffhanger.agents.season.report import SeasonSummary, summarise
from cliffhanger.agents.season.shotlist import ShotList
from cliffhanger.agents.season.store import SeasonStore

log = logging.getLogger(__name__)
Listener = Callable[[str, int | None, str], None]
HISTORY_FOR_MODEL = 12


@dataclass(frozen=True)
class RevisionView:
    revision: int
    script: EpisodeScript | None
    critique: Critique | None
    continuity: ContinuityReport | None
    overall: float | None


@dataclass(frozen=True)
class EpisodeView:
    episode: int
    row: ArcRow | None
    script: EpisodeScript | None
    shots: ShotList | None
    review: dict[str, Any] | None
    revisions: list[RevisionView]
    fountain: str


@dataclass(frozen=True)
class ActionResult:
    text: str
    ok: bool = True
    changed: list[int] = field(default_factory=list)
    action: Action | None = None


@dataclass(frozen=True)
class ChatTurn:
    role: str   # writer, showrunner, system
    text: str
    time: str


class ChatHistory:
    """The conversation of one season, one JSON line per turn in chat.jsonl (damaged lines skipped)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.persist = True
        self._unsaved: list[ChatTurn] = []

    def turns(self) -> list[ChatTurn]:
        return [*self._saved(), *self._unsaved]

    def _saved(self) -> list[ChatTurn]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                d = json.loads(line)
                out.append(ChatTurn(str(d["role"]), str(d["text"]), str(d.get("time", ""))))
            except (ValueError, KeyError, TypeError):
                continue
        return out

    def append(self, role: str, text: str) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        if not self.persist:
            self._unsaved.append(ChatTurn(role, text, now))
            return
        line = json.dumps({"time": now, "role": role, "text": text}, ensure_ascii=False) + "\n"
        # One write on an O_APPEND descriptor: a crash leaves whole lines or a torn last line, never a mix.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def for_model(self, limit: int = HISTORY_FOR_MODEL) -> str:
        return "\n".join(f"{t.role}: {t.text[:600]}" for t in self.turns()[-limit:] if t.role != "system")


class Room:
    """A season open in the terminal UI. Use as a context manager or call `close()`."""

    def __init__(self, store: SeasonStore, *, settings: Any = None, models: Mapping[str, Any] | None = None,
                 embedding: Any = None) -> None:
        self.store = store
        self.spec = store.spec()
        self.history = ChatHistory(store.root / "chat.jsonl")
        self.embedding = embedding
        self.busy: str | None = None
        self.read_only = False
        self.locked_by: str | None = None
        self._settings = settings
        self._models: Mapping[str, Any] | None = models
        self._stack = contextlib.ExitStack()
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._run: asyncio.Task[Any] | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cliffhanger-room", daemon=True)
        self._thread.start()
        self.refresh_lock()

    # ---- opening and closing ------------------------------------------------------------------------

    @classmethod
    def open(cls, directory: Path, *, config: Path | None = None, flags: dict[str, Any] | None = None,
             models: Mapping[str, Any] | None = None, embedding: Any = None) -> Room:
        """Open a season; UserError (one line) for a folder that is not one, or a damaged or foreign format."""
        from cliffhanger.app.settings import load_settings

        store = SeasonStore.open(directory)
        store.bible()  # a damaged bible or arc fails here, in the app, rather than on first use
        store.arc()
        settings = None if models is not None else load_settings(config, flags or {})
        return cls(store, settings=settings, models=models, embedding=embedding)

    @staticmethod
    def create(directory: Path, *, logline: str, genre: str, episodes: int, free: int, language: str | None,
               title: str | None = None, runtime: int = 90) -> Path:
        from cliffhanger.app.seasons import create_season

        if not logline.strip():
            raise UserError("the logline is empty: say in one sentence what the season is about")
        create_season(directory, logline=logline, genre=genre, episodes=episodes, free=free, paywall=None,
                      runtime=runtime, language=language, title=title, mode="paywall")
        return directory

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._stop.set()
        if self._run is not None and not self._run.done():
            with contextlib.suppress(Exception):
                self.submit(self._cancel_run()).result(timeout=30)
        with contextlib.suppress(Exception):
            self._stack.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()

    async def _cancel_run(self) -> None:
        if self._run is not None:
            self._run.cancel()
            with contextlib.suppress(BaseException):
                await self._run

    def __enter__(self) -> Room:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Run `coro` on the room's loop; cancel the returned future to cancel it."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def refresh_lock(self) -> bool:
        """Re-check whether another process is drafting this season; returns read_only."""
        holder = self.store.lock_holder()
        ours = holder == f"pid {os.getpid()}"
        self.locked_by = None if ours else holder
        self.read_only = holder is not None and not ours
        self.history.persist = not self.read_only  # a read-only view writes nothing into the folder
        return self.read_only

    def subscribe(self, listener: Listener) -> None:
        """Receive every run event (kind, episode, detail), from the room's thread."""
        self._listeners.append(listener)

    def _emit(self, kind: str, episode: int | None, detail: str, extra: Listener | None = None) -> None:
        for listener in [*self._listeners, *([extra] if extra else [])]:
            try:
                listener(kind, episode, detail)
            except Exception:  # a broken listener must not stop the run
                log.exception("room event listener failed")

    @property
    def running(self) -> bool:
        return self._run is not None and not self._run.done()

    async def wait_idle(self) -> None:
        """Wait (on the room loop) until the background draft, if any, has finished."""
        if self._run is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._run)

    def stop_run(self) -> None:
        """Ask the background draft to stop at the next step boundary (resumable)."""
        self._stop.set()

    # ---- reading --------------------------------------------------------------------------------------

    def summary(self) -> SeasonSummary:
        summary = summarise(self.store)
        for line in summary.lines:
            if line.status == "drafting" and line.revisions:
                last = line.revisions - 1
                if self.store.revision_path(line.episode, last, "critique").exists() or \
                        self.store.revision_path(line.episode, last, "continuity").exists():
                    line.status = "in review"
        return summary

    def bible(self) -> Bible | None:
        return self.store.bible()

    def episode(self, n: int) -> EpisodeView:
        from cliffhanger.agents.season.screenplay import fountain

        if not 1 <= n <= self.spec.episodes:
            raise UserError(f"episode {n} is outside the season (episodes 1-{self.spec.episodes})")
        s = self.store
        arc = s.arc()
        row = arc.row(n) if arc else None
        script = s.script(n)
        review = None
        path = s.episode_dir(n) / "review.json"
        if path.exists():
            try:
                review = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                review = None
        overall = {r.get("revision"): r.get("overall") for r in (review or {}).get("revisions", [])}
        revisions = []
        for draft in sorted((s.episode_dir(n) / "revisions").glob("r*.draft.json")):
            rev = int(draft.name[1:3])
            revisions.append(RevisionView(
                rev, self._maybe(draft, EpisodeScript), self._maybe(s.revision_path(n, rev, "critique"), Critique),
                self._maybe(s.revision_path(n, rev, "continuity"), ContinuityReport), overall.get(rev)))
        text = fountain(script, s.bible(), self.spec.title) if script else ""
        return EpisodeView(n, row, script, s.shots(n), review, revisions, text)

    def _maybe(self, path: Path, schema: Any) -> Any:
        try:
            return self.store.read_model(path, schema) if path.exists() else None
        except UserError:
            return None

    def canon(self, question: str, until_episode: int | None = None) -> Any:
        from cliffhanger.memory.query import answer

        if until_episode is not None and not 0 <= until_episode <= self.spec.episodes:
            raise UserError(f"episode {until_episode} is outside the season (episodes 1-{self.spec.episodes})")
        self.refresh_lock()
        latest = max(self.store.accepted_episodes(), default=0)
        return answer(self.store.root, question, until_episode=until_episode or latest, embedding=self.embedding,
                      lore=not self.read_only)

    # ---- commands and confirmation --------------------------------------------------------------------

    def parse_command(self, text: str) -> Action | None:
        return parse_slash(text)

    def help_text(self) -> str:
        return SLASH_HELP

    def needs_confirmation(self, action: Action) -> str | None:
        """The question to ask before `action`, or None when it overwrites nothing."""
        accepted = set(self.store.accepted_episodes())
        if action.kind in ("redraft", "revise_cliffhanger") and action.episode in accepted:
            later = sorted(e for e in accepted if e > action.episode)
            after = f" Episodes {later[0]}-{later[-1]} were written after it and stay as they are." if later else ""
            return (f"Episode {action.episode} is accepted. Replace it with a new draft? The current version is kept "
                    f"in episodes/{action.episode:03d}/history/.{after}")
        if action.kind == "set_character":
            return (f"Rewrite the bible: {action.character}.{action.field} = {action.value!r}? Accepted episodes keep "
                    "their text; drafts and shot lists from now on use the new value.")
        return None

    # ---- the chat turn --------------------------------------------------------------------------------

    def _season_brief(self) -> str:
        s = self.summary()
        bible = self.store.bible()
        cast = ", ".join(f"{c.id} ({c.name}, {c.role})" for c in bible.characters) if bible else "(no bible yet)"
        frontier = [ln for ln in s.lines if ln.status != "accepted"][:3]
        done = [ln for ln in s.lines if ln.status == "accepted"][-3:]
        rows = "\n".join(f"- ep {ln.episode} [{ln.status}{', paywall' if ln.paywall else ''}] {ln.title}"
                         + (f" (score {ln.overall:.1f}, {ln.open_findings} open findings)" if ln.overall is not None else "")
                         for ln in [*done, *frontier])
        return (f"{self.spec.title}: {self.spec.genre}, {self.spec.language}, {self.spec.episodes} episodes of "
                f"{self.spec.runtime_s} s; paywall episodes {list(self.spec.paywall.paywall_episodes)}.\n"
                f"Logline: {self.spec.logline}\nCast: {cast}\n{s.accepted} of {s.episodes} episodes accepted.\n{rows}")

    def _model(self, role: str) -> Any:
        if self._models is None:
            from cliffhanger.agents.llm.usage import UsageLog
            from cliffhanger.app.seasons import _models

            self._models = _models(self._settings, UsageLog(self.store.usage_path), self._stack,
                                   announce=lambda m: self._emit("notice", None, m))
        return self._models[role]

    async def respond(self, message: str, *, on_text: Callable[[str], None], on_event: Listener | None = None,
                      confirm: Callable[[str], Awaitable[bool]] | None = None) -> ActionResult:
        """One chat turn: a slash command or the showrunner's plan, the action, and the streamed reply.

        Runs on the room loop (`submit`). Raises UserError subclasses (ModelError, ConfigError) with a
        one-line message; cancelling keeps what was streamed in the history, marked as cancelled.
        """
        message = message.strip()
        if not message:
            raise UserError("the message is empty")
        self.history.append("writer", message)
        try:
            action = parse_slash(message)
        except UserError as exc:
            self.history.append("system", str(exc))
            raise
        if action is not None and action.kind == "answer" and action.note == "help":
            on_text(SLASH_HELP)
            self.history.append("system", SLASH_HELP)
            return ActionResult(SLASH_HELP, action=action)
        slash = action is not None
        if action is None:
            action, _ = await plan_turn(self._model("showrunner"), message=message, season=self._season_brief(),
                                        history=self.history.for_model())
        question = self.needs_confirmation(action)
        if question is not None and (confirm is None or not await confirm(question)):
            result = ActionResult(f"not done: {action.describe()} (cancelled)", ok=False, action=action)
        elif slash:
            result = await self.execute(action, on_event=on_event)
        else:
            # A planned action is model output: one the room cannot do is reported back, not raised.
            try:
                result = await self.execute(action, on_event=on_event)
            except UserError as exc:
                result = ActionResult(f"could not {action.describe()}: {exc}", ok=False, action=action)
        if result.text:
            self.history.append("system", result.text)
        if slash:
            on_text(result.text)
            return result
        pieces: list[str] = []
        try:
            async for piece in stream_reply(self._model("showrunner"), message=message, season=self._season_brief(),
                                            history=self.history.for_model(), outcome=result.text):
                pieces.append(piece)
                on_text(piece)
        except asyncio.CancelledError:
            self.history.append("showrunner", "".join(pieces) + " (cancelled)")
            raise
        self.history.append("showrunner", "".join(pieces))
        return result

    # ---- actions --------------------------------------------------------------------------------------

    async def execute(self, action: Action, *, on_event: Listener | None = None,
                      on_text: Callable[[str], None] | None = None) -> ActionResult:
        """Run one action (already confirmed when it needed to be). UserError for impossible requests."""
        kind = action.kind
        if kind in ("answer",):
            return ActionResult("", action=action)
        if kind == "status":
            s = self.summary()
            text = (f"{s.accepted}/{s.episodes} episodes accepted, {s.with_shots} shot lists, {s.calls} model calls, "
                    f"${s.cost_usd:.4f}" + (f"; drafting: {self.busy}" if self.busy else ""))
            return self._done(text, action, on_text)
        if kind == "canon":
            until = action.episode or None
            ans = await asyncio.to_thread(self.canon, action.question or "", until)
            return self._done(format_canon(ans), action, on_text)
        if kind == "explain":
            return self._done(self._finding(action.episode, action.finding or 1), action, on_text)
        if kind == "export":
            return self._done(await asyncio.to_thread(self._export, action), action, on_text)
        # Everything below changes the season.
        if self.refresh_lock():
            raise UserError(f"read-only: {self.store.root} is being drafted by {self.locked_by}; wait for it to finish")
        if self.running:
            raise UserError(f"a draft is already running ({self.busy}); wait for it or stop it first")
        if kind == "set_character":
            return self._done(self._set_character(action), action, on_text)
        if kind == "set_arc_row":
            return self._done(self._set_arc_row(action), action, on_text)
        if kind in ("draft", "approve_arc"):
            until = action.episode or None
            if action.note == "next" or kind == "approve_arc":
                until = self._next_episode()
            return self._start(until, f"draft to episode {until}" if until else "draft the whole season", on_event,
                               action, on_text)
        if kind in ("redraft", "revise_cliffhanger"):
            ep = self._check_episode(action.episode)
            note = action.note.strip() or "sharpen it"
            if kind == "revise_cliffhanger":
                note = f"Rewrite only the ending of the episode (its last beats and final line) so that: {note}. " \
                       "Keep everything before it."
            self._reopen(ep, note)
            return self._start(ep, f"redraft episode {ep}", on_event, action, on_text, changed=[ep])
        raise UserError(f"the room cannot do {kind!r}")

    def _done(self, text: str, action: Action, on_text: Callable[[str], None] | None) -> ActionResult:
        if on_text is not None:
            on_text(text)
        return ActionResult(text, action=action)

    def _check_episode(self, ep: int) -> int:
        if not 1 <= ep <= self.spec.episodes:
            raise UserError(f"episode {ep} is outside the season (episodes 1-{self.spec.episodes})")
        return ep

    def _next_episode(self) -> int | None:
        done = set(self.store.accepted_episodes())
        return next((e for e in range(1, self.spec.episodes + 1) if e not in done), None)

    def _reopen(self, ep: int, note: str) -> None:
        from cliffhanger.memory.ledger import Ledger

        with self.store.lock():
            self.store.reopen_episode(ep, note, revise=True)
            if self.store.ledger_path.exists():
                with Ledger(self.store.ledger_path) as ledger:
                    ledger.record_episode(ep, [], source=f"episode {ep} reopened")

    def _start(self, until: int | None, what: str, on_event: Listener | None, action: Action,
               on_text: Callable[[str], None] | None, changed: list[int] | None = None) -> ActionResult:
        from cliffhanger.agents.run import run_season
        from cliffhanger.agents.state import RunSettings

        if until is None and self._next_episode() is None and not changed:
            return self._done("every episode is already accepted", action, on_text)
        models = {r: self._model(r) for r in ("showrunner", "writer", "continuity", "critic", "shots")}
        self._stop = threading.Event()

        def emit(kind: str, episode: int | None, detail: str) -> None:
            self._emit(kind, episode, detail, on_event)

        async def go() -> None:
            self.busy = what
            emit("run", until, f"started: {what}")
            try:
                result = await run_season(self.store, models, RunSettings(until=until, embedding=self.embedding),
                                          emit=emit, stop=self._stop)
                emit("run", until, f"finished: {what} ({result.stop}; {len(result.accepted)} episodes accepted)")
            except asyncio.CancelledError:
                emit("run", until, f"stopped: {what}")
                raise
            except UserError as exc:
                emit("error", until, str(exc))
            except Exception as exc:
                log.exception("draft failed")
                emit("error", until, f"the draft failed ({exc.__class__.__name__}); the season is intact, "
                                     "run it again to resume (details in the log)")
            finally:
                self.busy = None

        self._run = self._loop.create_task(go())
        text = f"started: {what}; the board shows progress"
        if on_text is not None:
            on_text(text)
        return ActionResult(text, action=action, changed=changed or [])

    def _finding(self, ep: int, k: int) -> str:
        view = self.episode(self._check_episode(ep))
        findings = (view.review or {}).get("open_findings") or []
        if not findings:
            return f"episode {ep} has no open continuity findings"
        if not 1 <= k <= len(findings):
            raise UserError(f"episode {ep} has {len(findings)} open findings: pick 1-{len(findings)}")
        f = findings[k - 1]
        return (f"ep {ep} finding {k} ({f.get('rule')}, {f.get('severity')}) about {f.get('subject')}: "
                f"{f.get('explanation')}\ncanon: «{f.get('canon_fact')}»\nscript (scene {f.get('scene')}): "
                f"«{f.get('script_quote')}»\nsuggested fix: {f.get('suggested_fix')}")

    def _export(self, action: Action) -> str:
        from cliffhanger.app.export import export_season

        res = export_season(self.store.root, action.format, target=action.target or None)
        missing = f"; not yet available: episodes {res.missing[0]}-{res.missing[-1]}" if res.missing else ""
        return f"exported {len(res.episodes)} episodes to {res.path}{missing}"

    def _set_character(self, action: Action) -> str:
        from cliffhanger.agents.roles.continuity import seed_canon
        from cliffhanger.agents.season.screenplay import bible_markdown
        from cliffhanger.memory.ledger import Ledger

        bible = self.store.bible()
        if bible is None:
            raise UserError("there is no bible yet: draft first (/draft 1)")
        who = action.character.strip().lower()
        char = next((c for c in bible.characters if who in (c.id.lower(), c.name.lower())), None)
        if char is None:
            raise UserError(f"no character {action.character!r}: use one of {', '.join(c.id for c in bible.characters)}")
        fld = action.field.strip().lower()
        if fld not in CHARACTER_FIELDS:
            raise UserError(f"cannot change {fld!r} of a character: use one of {', '.join(CHARACTER_FIELDS)}")
        value: Any = action.value.strip()
        if fld == "age":
            if not value.isdigit():
                raise UserError(f"age {value!r} is not a number of years")
            value = int(value)
        data = char.model_dump()
        if fld in data["visual"]:
            data["visual"][fld] = value
        else:
            data[fld] = value
        try:
            new_char = type(char).model_validate(data)
            new_bible = Bible.model_validate({**bible.model_dump(), "characters": [
                new_char.model_dump() if c.id == char.id else c.model_dump() for c in bible.characters]})
        except ValidationError as exc:
            raise UserError(format_validation_error(exc, f"character {char.id}")) from None
        with self.store.lock():
            self.store.write_model(self.store.root / "bible.json", new_bible)
            self.store.write_text("bible.md", bible_markdown(new_bible, self.spec.title))
            with Ledger(self.store.ledger_path) as ledger:
                seed_canon(ledger, new_bible)
        return f"bible: {char.id}.{fld} is now {value!r}"

    def _set_arc_row(self, action: Action) -> str:
        arc = self.store.arc()
        if arc is None:
            raise UserError("there is no arc yet: draft first (/draft 1)")
        ep = self._check_episode(action.episode)
        fld = action.field.strip().lower()
        if fld not in ARC_FIELDS:
            raise UserError(f"cannot change {fld!r} of an arc row: use one of {', '.join(ARC_FIELDS)}")
        row = arc.row(ep).model_dump()
        value: Any = action.value.strip()
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
            new_arc.validate_against(self.spec, self.store.bible())
        except ValidationError as exc:
            raise UserError(format_validation_error(exc, f"episode {ep}'s row")) from None
        except ValueError as exc:
            raise UserError(f"episode {ep}'s row: {exc}") from None
        with self.store.lock():
            self.store.write_model(self.store.root / "arc.json", new_arc)
        after = f"; episode {ep} is already accepted: /redraft {ep} to apply it" \
            if ep in self.store.accepted_episodes() else ""
        return f"arc: episode {ep} {fld} is now {value!r}{after}"


def format_canon(ans: Any) -> str:
    """A CanonAnswer as plain text with episode references."""
    out = [f"canon as of episode {ans.until_episode}:"]
    for ent in ans.entities:
        out.append(f"{ent.name} ({ent.id}, {ent.type})")
        for ln in ent.lines[-12:]:
            where = "bible" if ln.episode == 0 else f"ep {ln.episode}" + (f" sc {ln.scene}" if ln.scene else "")
            evidence = f": «{ln.evidence[:120]}»" if ln.evidence and ln.evidence != "bible" else ""
            out.append(f"  - {ln.text} ({where}{evidence})")
    if ans.lore:
        out.append("related:")
        for hit in ans.lore[:6]:
            out.append(f"  - {hit.text[:200]} (ep {hit.episode})")
    if len(out) == 1:
        out.append("nothing in canon matches that yet")
    return "\n".join(out)

