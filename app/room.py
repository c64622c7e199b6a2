"""One season as the terminal UI sees it: what to show, and what the showrunner's tools do.

Every change goes through the same code paths as the CLI: drafts and redrafts run `run_season` (the
same graph, lock and season folder as `cliffhanger draft`), exports call `export_season`. All model
work runs on the room's own event loop in a background thread (`RoomLoop`), so the UI thread never
waits on a model and one set of HTTP clients serves the whole session. `submit()` hands a coroutine
to that loop.

A season another process is drafting opens read-only: everything can be looked at (the board
re-reads the folder), nothing can be changed, and canon questions use the ledger only (chromadb is
not safe to open beside another writer).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.llm.role_names import ROOM_ROLES
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles.showrunner_chat import SLASH_HELP, Action, parse_slash, plan_turn, stream_reply
from cliffhanger.agents.season.artifacts import Bible
from cliffhanger.agents.season.report import SeasonSummary, summarise
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.state import RunSettings
from cliffhanger.app.canon_view import format_canon
from cliffhanger.app.chat_history import ChatHistory
from cliffhanger.app.export import export_season
from cliffhanger.app.room_loop import Listener, RoomLoop
from cliffhanger.app.room_views import ActionResult, EpisodeView, read_episode
from cliffhanger.app.season_edits import check_episode, set_arc_row, set_character
from cliffhanger.app.seasons import create_season, open_room_crew
from cliffhanger.app.settings import Settings, load_settings
from cliffhanger.memory.ledger import Ledger
from cliffhanger.memory.query import CanonAnswer, answer

if TYPE_CHECKING:
    from chromadb import EmbeddingFunction

    from cliffhanger.agents.llm.crew import RoleModel
    from cliffhanger.agents.run import RunResult

T = TypeVar("T")


class Room:
    """A season open in the terminal UI. Use as a context manager or call `close()`.

    `models` (role -> client) replaces the clients `settings` would open; tests pass scripted ones.
    """

    def __init__(self, store: SeasonStore, *, settings: Settings | None = None,
                 models: Mapping[str, RoleModel] | None = None, embedding: EmbeddingFunction | None = None) -> None:
        self.store = store
        self.spec = store.spec()
        self.history = ChatHistory(store.chat_path)
        self.embedding = embedding
        self.read_only = False
        self.locked_by: str | None = None
        self._settings = settings
        self._models: Mapping[str, RoleModel] | None = models
        self._stack = contextlib.ExitStack()
        self._loop = RoomLoop()
        self.refresh_lock()

    # ---- opening and closing ------------------------------------------------------------------------

    @classmethod
    def open(cls, directory: Path, *, config: Path | None = None, flags: dict[str, object] | None = None,
             models: Mapping[str, RoleModel] | None = None,
             embedding: EmbeddingFunction | None = None) -> Room:
        """Open a season; UserError (one line) for a folder that is not one, or a damaged or foreign format."""
        store = SeasonStore.open(directory)
        store.bible()  # a damaged bible or arc fails here, in the app, rather than on first use
        store.arc()
        settings = None if models is not None else load_settings(config, flags or {})
        return cls(store, settings=settings, models=models, embedding=embedding)

    @staticmethod
    def create(directory: Path, *, logline: str, genre: str, episodes: int, free: int, language: str | None,
               title: str | None = None, runtime: int = 90) -> Path:
        if not logline.strip():
            raise UserError("the logline is empty: say in one sentence what the season is about")
        create_season(directory, logline=logline, genre=genre, episodes=episodes, free=free, paywall=None,
                      runtime=runtime, language=language, title=title, mode="paywall")
        return directory

    def close(self) -> None:
        if self._loop.closed:
            return
        self._loop.cancel()
        with contextlib.suppress(Exception):
            self._stack.close()
        self._loop.close()

    def __enter__(self) -> Room:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `coro` on the room's loop; cancel the returned future to cancel it."""
        return self._loop.submit(coro)

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
        self._loop.subscribe(listener)

    def _emit(self, kind: str, episode: int | None, detail: str) -> None:
        self._loop.emit(kind, episode, detail)

    @property
    def busy(self) -> str | None:
        """What the background draft is doing, while one runs."""
        return self._loop.busy

    @property
    def running(self) -> bool:
        return self._loop.running

    async def wait_idle(self) -> None:
        """Wait (on the room loop) until the background draft, if any, has finished."""
        await self._loop.wait_idle()

    def stop_run(self) -> None:
        """Ask the background draft to stop at the next step boundary (resumable)."""
        self._loop.stop_run()

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
        return read_episode(self.store, check_episode(self.spec, n), self.spec.title)

    def canon(self, question: str, until_episode: int | None = None) -> CanonAnswer:
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
        rows = "\n".join(f"- ep {ln.episode} [{ln.status}{self._paywall_mark(ln.episode)}] {ln.title}"
                         + (f" (score {ln.overall:.1f}, {ln.open_findings} open findings)" if ln.overall is not None else "")
                         for ln in [*done, *frontier])
        return (f"{self.spec.title}: {self.spec.genre}, {self.spec.language}, {self.spec.episodes} episodes of "
                f"{self.spec.runtime_s} s; paywall episodes {list(self.spec.paywall.paywall_episodes)}.\n"
                f"Logline: {self.spec.logline}\nCast: {cast}\n{s.accepted} of {s.episodes} episodes accepted.\n{rows}")

    def _paywall_mark(self, episode: int) -> str:
        """", 卡点集" on the cut and first paid episodes (the words the showrunner's prompts use); "" otherwise."""
        if self.spec.episode_kind(episode) in ("cut", "first_paid"):
            return ", " + self.spec.episode_label(episode, self.spec.language)
        return ""

    def _model(self, role: str) -> RoleModel:
        if self._models is None:
            settings = self._settings or load_settings(None, {})  # a room made without settings: the defaults
            self._models = self._stack.enter_context(open_room_crew(
                settings, UsageLog(self.store.usage_path), announce=lambda m: self._emit("notice", None, m)))
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
            return self._done(set_character(self.store, action), action, on_text)
        if kind == "set_arc_row":
            return self._done(set_arc_row(self.store, self.spec, action), action, on_text)
        if kind in ("draft", "approve_arc"):
            until = action.episode or None
            if action.note == "next" or kind == "approve_arc":
                until = self._next_episode()
            return self._start(until, f"draft to episode {until}" if until else "draft the whole season", on_event,
                               action, on_text)
        if kind in ("redraft", "revise_cliffhanger"):
            ep = check_episode(self.spec, action.episode)
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

    def _next_episode(self) -> int | None:
        done = set(self.store.accepted_episodes())
        return next((e for e in range(1, self.spec.episodes + 1) if e not in done), None)

    def _reopen(self, ep: int, note: str) -> None:
        with self.store.lock():
            self.store.reopen_episode(ep, note, revise=True)
            if self.store.ledger_path.exists():
                with Ledger(self.store.ledger_path) as ledger:
                    ledger.record_episode(ep, [], source=f"episode {ep} reopened")

    def _start(self, until: int | None, what: str, on_event: Listener | None, action: Action,
               on_text: Callable[[str], None] | None, changed: list[int] | None = None) -> ActionResult:
        if until is None and self._next_episode() is None and not changed:
            return self._done("every episode is already accepted", action, on_text)
        models = {r: self._model(r) for r in ROOM_ROLES}
        settings = RunSettings(until=until, embedding=self.embedding,
                               video_prices=self._settings.video_price_overrides() if self._settings else {})

        async def draft(emit: Listener, stop: threading.Event) -> RunResult:
            # Deferred: the graph (langgraph, ~0.7 s) loads with the first draft, not when a season opens.
            from cliffhanger.agents.run import run_season

            return await run_season(self.store, models, settings, emit=emit, stop=stop)

        self._loop.start(what, until, draft, on_event)
        text = f"started: {what}; the board shows progress"
        if on_text is not None:
            on_text(text)
        return ActionResult(text, action=action, changed=changed or [])

    def _finding(self, ep: int, k: int) -> str:
        review = self.episode(check_episode(self.spec, ep)).review
        findings = review.open_findings if review is not None else ()
        if not findings:
            return f"episode {ep} has no open continuity findings"
        if not 1 <= k <= len(findings):
            raise UserError(f"episode {ep} has {len(findings)} open findings: pick 1-{len(findings)}")
        f = findings[k - 1]
        return (f"ep {ep} finding {k} ({f.rule}, {f.severity}) about {f.subject}: {f.explanation}\n"
                f"canon: «{f.canon_fact}»\nscript (scene {f.scene}): «{f.script_quote}»\nsuggested fix: {f.suggested_fix}")

    def _export(self, action: Action) -> str:
        prices = self._settings.video_price_overrides() if self._settings else None
        res = export_season(self.store.root, action.format, target=action.target or None, video_prices=prices)
        missing = f"; not yet available: episodes {res.missing[0]}-{res.missing[-1]}" if res.missing else ""
        return f"exported {len(res.episodes)} episodes to {res.path}{missing}" + "".join(f"\n{n}" for n in res.notes)
