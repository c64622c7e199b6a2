"""The terminal UI, headless (`App.run_test` and Pilot), against the real Room with the sim or scripted models.

Waits poll for a state with a generous ceiling; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from season_kit import make_season, run, sim_models

from cliffhanger.agents.llm.endpoint import CallPolicy
from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles.showrunner_chat import Action
from cliffhanger.app.room import Room
from cliffhanger.app.room_views import ActionResult
from cliffhanger.app.tui.app import CliffhangerApp
from cliffhanger.app.tui.board import row_cells
from cliffhanger.app.tui.chat import MessageBox
from cliffhanger.app.tui.episode import EpisodeScreen
from cliffhanger.app.tui.new_season import NewSeasonScreen
from cliffhanger.app.tui.runner import RoomEvent
from cliffhanger.app.tui.season import SeasonScreen
from cliffhanger.app.tui.widgets import ConfirmScreen, OpenFailedScreen, PromptScreen
from cliffhanger.memory.embeddings import HashEmbedding

SIZE = (110, 36)
INJECTION = "Noted. [bold red]x[/] and [link=file:///etc/passwd]y[/link] \x1b[31mred\x1b[0m done."


# ---- helpers ------------------------------------------------------------------------------------------

class SlowShowrunner(ScriptedClient):
    """A scripted showrunner whose reply streams one word at a time, with a pause between words."""

    def __init__(self, reply: str, pause_s: float = 0.05) -> None:
        super().__init__("showrunner", {"Action": [{"kind": "answer"}], "text": [reply]})
        self.pause_s = pause_s

    async def stream(self, messages, *, episode=None, prompt=None):  # noqa: ANN001, ANN201
        for word in (await self.text(messages, episode=episode, prompt=prompt)).split(" "):
            await asyncio.sleep(self.pause_s)
            yield word + " "


def scripted(reply: str) -> ScriptedClient:
    return ScriptedClient("showrunner", {"Action": [{"kind": "answer"}], "text": [reply]})


def opener(**models: Any) -> Callable[[Path], Room]:
    return lambda d: Room.open(d, models=models, embedding=HashEmbedding())


def sim_opener(url: str, **policy: float) -> Callable[[Path], Room]:
    def open_room(d: Path) -> Room:
        models = sim_models(url, UsageLog(d / "usage.jsonl"), policy=CallPolicy(**policy) if policy else None)
        return Room.open(d, models=models, embedding=HashEmbedding())
    return open_room


@contextlib.asynccontextmanager
async def running(app: CliffhangerApp, **options: Any) -> AsyncIterator[Any]:
    """`app.run_test` at SIZE that fails the test if the app ever reported an internal error (a bug)."""
    async with app.run_test(size=SIZE, **options) as pilot:
        yield pilot
    bugs = [m for _, m in app.notices if m.startswith("internal error")]
    assert not bugs, bugs


async def until(pilot: Any, ok: Callable[[], object], what: str, ceiling_s: float = 20.0) -> None:
    """Let the app run until `ok()` holds; fail naming `what` if it never does."""
    loop = asyncio.get_running_loop()
    end = loop.time() + ceiling_s
    while not ok():
        if loop.time() > end:
            pytest.fail(f"never happened: {what}; notices: {pilot.app.notices}")
        await pilot.pause(0.05)


async def season_open(pilot: Any) -> SeasonScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, SeasonScreen) and app.screen.summary is not None, "season open")
    return app.screen


async def say(pilot: Any, text: str) -> MessageBox | None:
    """Type `text` into the chat and send it; the reply's message box (None for a local command)."""
    season = pilot.app.screen
    await pilot.press("f4")
    before = len(season.chat.messages())
    season.query_one("#chat-input").value = text
    await pilot.press("enter")
    await until(pilot, lambda: len(season.chat.messages()) > before, f"{text!r} sent")
    return season.chat.messages()[-1]


def statuses(season: SeasonScreen) -> dict[int, str]:
    return season.board.statuses()


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-episode season with episodes 1-2 accepted (shots, reviews, revisions), drafted once per module."""
    from cliffhanger.agents.sim.config import SimConfig
    from cliffhanger.agents.sim.faults import FaultPlan
    from cliffhanger.agents.sim.runner import run_in_thread

    root = tmp_path_factory.mktemp("drafted") / "season"
    store = make_season(root, 4, language="en", genre="revenge_us", free=2)
    with run_in_thread(SimConfig(faults=FaultPlan())) as url:
        result = run(store, sim_models(url, UsageLog(store.usage_path)), until=2, concurrency=2)
    assert result.accepted == [1, 2]
    return root


def copy_of(season: Path, tmp_path: Path) -> Path:
    target = tmp_path / "season"
    shutil.copytree(season, target)
    return target


# ---- creating a season ------------------------------------------------------------------------------

async def test_new_season_form_creates_the_season_and_opens_it(tmp_path: Path) -> None:
    folder = tmp_path / "fresh"
    app = CliffhangerApp(None, new_folder=folder, opener=opener(showrunner=scripted("hi")))
    async with running(app) as pilot:
        await until(pilot, lambda: isinstance(app.screen, NewSeasonScreen), "the form")
        form = app.screen
        await pilot.click("#create")
        await until(pilot, lambda: "Logline" in str(form.query_one("#form-error").content), "a missing logline named")
        assert isinstance(app.screen, NewSeasonScreen)
        form.query_one("#logline").value = "A swapped heiress takes her name back at her sister's wedding."
        form.query_one("#episodes").value = "8"
        form.query_one("#free").value = "3"
        form.query_one("#genre").value = "revenge_us"
        form.query_one("#language").value = "en"
        await pilot.press("ctrl+s")  # the keyboard way (a second click within 0.2 s is a double press)
        season = await season_open(pilot)
        assert season.room.store.root == folder
        spec = season.room.spec
        assert (spec.episodes, spec.paywall.free_episodes, spec.language, spec.genre) == (8, 3, "en", "revenge_us")
        assert sorted(statuses(season)) == list(range(1, 9)) and set(statuses(season).values()) == {"-"}


async def test_the_form_shows_room_create_errors_and_stays(tmp_path: Path) -> None:
    make_season(tmp_path / "taken", 3, free=1)
    app = CliffhangerApp(None, new_folder=tmp_path / "taken", opener=opener())
    async with running(app) as pilot:
        await until(pilot, lambda: isinstance(app.screen, NewSeasonScreen), "the form")
        app.screen.query_one("#logline").value = "A logline."
        await pilot.click("#create")
        await until(pilot, lambda: any(s == "error" and "already holds a season" in m for s, m in app.notices),
                    "the refusal to overwrite shown")
        assert isinstance(app.screen, NewSeasonScreen) and not app.screen.query_one("#create").disabled


# ---- chat -------------------------------------------------------------------------------------------

async def test_reply_streams_into_the_message_and_history_persists(tmp_path: Path) -> None:
    reply = ("Episode three should open on the ring, then turn the sister into the one who hid it all along; "
             "the mother sees it first and says nothing, which is the cliffhanger we need before the paywall.")
    root = make_season(tmp_path / "s", 3, free=1).root
    app = CliffhangerApp(root, opener=opener(showrunner=SlowShowrunner(reply, pause_s=0.04)))
    async with running(app) as pilot:
        season = await season_open(pilot)
        box = await say(pilot, "what should episode 3 do?")
        await until(pilot, lambda: box.chunks, "the first chunk")
        partial = box.body  # the message fills in while the reply streams
        await until(pilot, lambda: not box.streaming, "the reply finished")
        assert 0 < len(partial.strip()) < len(reply)
        assert len(box.chunks) > 5 and box.body == "".join(box.chunks) and box.body.strip() == reply
        assert reply in box.rendered_text().plain
        assert season.room.history.turns()[-1].text.strip() == reply
    app = CliffhangerApp(root, opener=opener(showrunner=scripted("again")))
    async with running(app) as pilot:
        season = await season_open(pilot)
        shown = [(b.role, b.body.strip()) for b in season.chat.messages()]
        assert ("writer", "what should episode 3 do?") in shown and ("showrunner", reply) in shown


async def test_a_chat_message_against_the_sim_streams_a_reply(tmp_path: Path, make_sim: Any) -> None:
    """The real model path: the showrunner plans (schema-valid sim output, whatever it is) and streams."""
    url = make_sim(tps=400.0)
    root = make_season(tmp_path / "s", 3, free=1).root
    app = CliffhangerApp(root, opener=sim_opener(url, backoff_base_s=0.01, backoff_max_s=0.05))
    async with running(app) as pilot:
        season = await season_open(pilot)
        await say(pilot, "What should the first episode open on?")

        def replied() -> bool:
            if isinstance(app.screen, ConfirmScreen):  # the sim planned something destructive: say no
                app.screen.dismiss(False)
            boxes = [b for b in season.chat.messages() if b.role == "showrunner"]
            return bool(boxes) and not boxes[-1].streaming and bool(boxes[-1].body.strip())

        await until(pilot, replied, "the showrunner's streamed reply", ceiling_s=60)
        box = [b for b in season.chat.messages() if b.role == "showrunner"][-1]
        assert len(box.chunks) > 1 and box.body == "".join(box.chunks)
        assert any(t.role == "showrunner" and t.text == box.body for t in season.room.history.turns())
    sent = [json.loads(line) for line in (root / "usage.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["kind"] for r in sent if r["role"] == "showrunner"][-1] == "stream"


async def test_model_markup_and_escape_codes_render_literally(tmp_path: Path) -> None:
    root = make_season(tmp_path / "s", 3, free=1).root
    app = CliffhangerApp(root, opener=opener(showrunner=scripted(INJECTION)))
    async with running(app) as pilot:
        await season_open(pilot)
        box = await say(pilot, "tell me something")
        await until(pilot, lambda: not box.streaming, "the reply")
        shown = box.visual
        plain = shown.plain if hasattr(shown, "plain") else str(shown)
        assert "[bold red]x[/]" in plain and "[link=file:///etc/passwd]y[/link]" in plain
        assert "\x1b" not in plain and "[31mred" in plain  # the escape character is stripped, the rest stays text
        spans = getattr(shown, "spans", [])
        assert not any("link" in str(getattr(s, "style", "")) for s in spans)
        assert "[link=file:///etc/passwd]y[/link]" in app.export_screenshot()  # what the terminal shows
    cells = row_cells(type("Line", (), {"episode": 1, "status": "planned", "paywall": False, "cliffhanger": "[b]k[/b]",
                                        "overall": None, "open_findings": 0, "shots": 0,
                                        "title": "[link=file:///x]t[/link]"})(), None)
    assert cells[3].plain == "[b]k[/b]" and cells[-1].plain == "[link=file:///x]t[/link]" and not cells[-1].spans


async def test_esc_cancels_a_streaming_reply_and_the_app_goes_on(tmp_path: Path) -> None:
    reply = " ".join(f"word{i}" for i in range(400))
    root = make_season(tmp_path / "s", 3, free=1).root
    app = CliffhangerApp(root, opener=opener(showrunner=SlowShowrunner(reply, pause_s=0.05)))
    async with running(app) as pilot:
        season = await season_open(pilot)
        box = await say(pilot, "talk for a long time")
        await until(pilot, lambda: len(box.chunks) >= 2, "the reply streaming")
        await pilot.press("escape")
        await until(pilot, lambda: not box.streaming, "the reply stopped")
        assert box.note == "(cancelled)" and len(box.body) < len(reply)
        assert ("warning", "Cancelled: showrunner reply.") in app.notices
        await until(pilot, lambda: season.room.history.turns()[-1].text.endswith("(cancelled)"),
                    "the cancelled reply kept in the history")
        assert season.busy is None
        status = await say(pilot, "/status")
        await until(pilot, lambda: not status.streaming, "a command after the cancel")
        assert "episodes accepted" in status.body


async def test_a_failing_model_is_a_notification_and_the_app_keeps_working(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    root = make_season(tmp_path / "s", 3, free=1).root
    app = CliffhangerApp(root, opener=sim_opener(dead, max_retries=1, backoff_base_s=0.01, backoff_max_s=0.02))
    async with running(app) as pilot:
        await season_open(pilot)
        box = await say(pilot, "what happens next?")
        await until(pilot, lambda: not box.streaming, "the failed reply closed")
        assert box.note.startswith("(failed: ")
        errors = [m for s, m in app.notices if s == "error"]
        assert errors and all("\n" not in m and "Traceback" not in m for m in errors)
        help_box = await say(pilot, "/help")
        assert "/draft" in help_box.body
        status = await say(pilot, "/status")
        await until(pilot, lambda: not status.streaming, "a command after the failure")
        assert "0/3 episodes accepted" in status.body


# ---- drafting and episodes --------------------------------------------------------------------------

async def test_draft_1_from_the_chat_moves_the_board(tmp_path: Path, sim_url: str) -> None:
    root = make_season(tmp_path / "s", 3, free=1).root
    events: list[tuple[str, int | None]] = []

    def hook(message: object) -> None:
        if isinstance(message, RoomEvent):
            events.append((message.kind, message.episode))

    app = CliffhangerApp(root, opener=sim_opener(sim_url))
    async with running(app, message_hook=hook) as pilot:
        season = await season_open(pilot)
        box = await say(pilot, "/draft 1")
        await until(pilot, lambda: not box.streaming, "the command's reply")
        assert box.body.startswith("started: draft to episode 1")
        await until(pilot, lambda: statuses(season).get(1) == "accepted" and season.background is None,
                    "episode 1 accepted on the board")
        assert season.room.store.accepted_episodes() == [1]
        assert ("step", 1) in events and ("accepted", 1) in events  # the board was fed by the run, live
        assert statuses(season)[2] == "planned" and season.summary.accepted == 1
        assert season.query_one("#season-progress").progress == 1


async def test_an_episode_opens_with_script_shots_review_and_revisions(tmp_path: Path, drafted: Path) -> None:
    root = copy_of(drafted, tmp_path)
    app = CliffhangerApp(root, opener=opener(showrunner=scripted("ok")))
    async with running(app) as pilot:
        season = await season_open(pilot)
        await pilot.click("#board-table", offset=(4, 2))  # the second row: episode 2
        await until(pilot, lambda: isinstance(app.screen, EpisodeScreen) and app.screen.view is not None, "episode 2")
        assert app.screen.episode == 2
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is season, "back on the board")
        season.query_one("#board-table").move_cursor(row=0)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EpisodeScreen) and app.screen.view is not None, "episode 1")
        screen = app.screen
        script = season.room.store.script(1)
        page = screen.query_one("#script").visual.plain
        first = script.scenes[0]
        assert f"{first.label(1)}  {first.int_ext}." in page
        line = script.dialogue()[0].line
        assert line.split()[0] in page
        shots = season.room.store.shots(1)
        assert screen.query_one("#shots").row_count == len(shots.shots) > 0
        review = screen.query_one("#review").visual.plain
        assert "hook" in review and "Continuity findings" in review
        assert str(screen.query_one("#rev-right-text").visual.plain).startswith("r")
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: screen.episode == 2 and screen.view.episode == 2, "the next episode")
        before = (root / "episodes" / "002" / "script.json").read_bytes()
        await pilot.press("r")  # redraft: a note first, then the room's question, answered No
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), "the note prompt")
        app.screen.query_one("#prompt-input").value = "make the villain colder"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the redraft question")
        assert "Episode 2 is accepted" in app.screen.question
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen, "back on the episode")
        assert (root / "episodes" / "002" / "script.json").read_bytes() == before and season.busy is None


async def test_the_episode_screen_asks_the_room_to_redraft_that_episode_with_the_note(tmp_path: Path,
                                                                                       drafted: Path) -> None:
    root = copy_of(drafted, tmp_path)
    app = CliffhangerApp(root, opener=opener(showrunner=scripted("ok")))
    async with running(app) as pilot:
        season = await season_open(pilot)
        done: list[Action] = []

        async def execute(action: Action, **_: object) -> ActionResult:  # what the room was asked to do
            done.append(action)
            return ActionResult(f"started: {action.describe()}", action=action)

        season.room.execute = execute  # type: ignore[method-assign]
        season.open_episode(2)
        await until(pilot, lambda: isinstance(app.screen, EpisodeScreen) and app.screen.view is not None, "episode 2")
        screen = app.screen
        progress = screen.query_one("#season-progress")
        await until(pilot, lambda: progress.progress == 2 and progress.total == 4, "the season's progress shown")
        for key, note, expected in (("r", "make the villain colder", "redraft"),
                                    ("c", None, "revise_cliffhanger")):
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, PromptScreen), "the note prompt")
            if note is not None:
                app.screen.query_one("#prompt-input").value = note
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the room's question")
            assert "Episode 2 is accepted" in app.screen.question
            await pilot.press("y")
            await until(pilot, lambda k=expected: [a.kind for a in done][-1:] == [k] and season.runner.busy is None,
                        f"the room asked to {expected}")
            assert app.screen is screen
        assert done == [Action(kind="redraft", episode=2, note="make the villain colder"),
                        Action(kind="revise_cliffhanger", episode=2, note="a stronger cliffhanger")]


async def test_palette_export_and_a_confirmed_bible_edit(tmp_path: Path, drafted: Path) -> None:
    root = copy_of(drafted, tmp_path)
    app = CliffhangerApp(root, opener=opener(showrunner=scripted("ok")))
    async with running(app) as pilot:
        season = await season_open(pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette", "the palette")
        await pilot.press(*"export fountain")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: any("exported" in m for _, m in app.notices), "the export reported")
        assert list((root / "exports").glob("*.fountain"))
        char = season.room.bible().characters[0]
        box = await say(pilot, f"/character {char.id} wardrobe a red silk qipao")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert char.id in str(app.screen.question)
        await pilot.press("n")
        await until(pilot, lambda: not box.streaming, "the refused edit")
        assert season.room.bible().characters[0].visual.wardrobe == char.visual.wardrobe
        box = await say(pilot, f"/character {char.id} wardrobe a red silk qipao")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question again")
        await pilot.press("y")
        await until(pilot, lambda: not box.streaming, "the edit done")
        assert season.room.bible().characters[0].visual.wardrobe == "a red silk qipao"
        await pilot.press("f3")
        bible = season.query_one("#bible-text")
        await until(pilot, lambda: "a red silk qipao" in bible.visual.plain, "the bible with the new look")
        assert "look (locked)" in bible.visual.plain
        season.query_one("#canon-q").value = f"where is {char.name}?"
        season.query_one("#canon-ep").value = "1"
        await pilot.press("enter")
        answer = season.query_one("#canon-answer")
        await until(pilot, lambda: "Canon as of episode 1" in answer.visual.plain, "the canon answer")
        assert char.name in answer.visual.plain


async def test_esc_stops_a_running_draft_at_a_step_boundary(tmp_path: Path, make_sim: Any) -> None:
    root = make_season(tmp_path / "s", 3, free=1).root
    events: list[tuple[str, str]] = []

    def hook(message: object) -> None:
        if isinstance(message, RoomEvent):
            events.append((message.kind, message.detail))

    app = CliffhangerApp(root, opener=sim_opener(make_sim(ttft_ms=150)))
    async with running(app, message_hook=hook) as pilot:
        season = await season_open(pilot)
        await pilot.press("f5")  # draft the next episode
        await until(pilot, lambda: any(k == "step" for k, _ in events), "the draft running")
        assert season.busy is not None
        await pilot.press("escape")
        await until(pilot, lambda: season.busy is None, "the draft stopped")
        assert any("Stopping the draft" in m for _, m in app.notices)
        assert any(k == "run" and "interrupted" in d for k, d in events)
        assert season.room.store.accepted_episodes() == []
        status = await say(pilot, "/status")
        await until(pilot, lambda: not status.streaming, "a command after the stop")


# ---- folders that cannot be opened or written -------------------------------------------------------

async def test_a_folder_that_is_not_a_season_offers_a_new_season(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    app = CliffhangerApp(folder, opener=opener(showrunner=scripted("hi")))
    async with running(app) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OpenFailedScreen), "the open failure")
        assert "not a season folder" in app.screen.message
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewSeasonScreen), "the form")
        assert app.screen.query_one("#folder").value == str(folder)
        app.screen.query_one("#logline").value = "A swapped heiress comes home."
        await pilot.click("#create")
        season = await season_open(pilot)
        assert season.room.store.root == folder


async def test_a_damaged_season_is_named_and_quit_exits_2(tmp_path: Path) -> None:
    folder = make_season(tmp_path / "s", 3, free=1).root
    (folder / "season.toml").write_text("episodes = [unclosed\n", encoding="utf-8")
    app = CliffhangerApp(folder, opener=opener())
    async with running(app) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OpenFailedScreen), "the open failure")
        assert "damaged" in app.screen.message and "\n" not in app.screen.message
        await pilot.press("q")
    assert app.return_value == 2


async def test_a_season_being_drafted_elsewhere_is_read_only_and_follows_the_disk(tmp_path: Path,
                                                                                  drafted: Path) -> None:
    root = copy_of(drafted, tmp_path)
    script = root / "episodes" / "002" / "script.json"
    aside = tmp_path / "script.json"
    shutil.move(script, aside)  # episode 2 looks mid-review until the "other run" writes it back
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from cliffhanger.agents.season.store import SeasonStore\n"
         f"with SeasonStore.open(Path({str(root)!r})).lock():\n    print('locked', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        app = CliffhangerApp(root, opener=opener(showrunner=scripted("ok")))
        async with running(app) as pilot:
            season = await season_open(pilot)
            banner = season.query_one("#banner")
            assert banner.display and f"read-only: being drafted by pid {holder.pid}" in banner.visual.plain
            assert statuses(season)[2] == "in review"
            await pilot.press("f4")
            season.query_one("#chat-input").value = "/draft 3"
            await pilot.press("enter")
            await until(pilot, lambda: any(s == "warning" and "Read-only: the season" in m for s, m in app.notices),
                        "the draft refused")
            assert season.room.store.accepted_episodes() == [1]
            shutil.move(aside, script)
            await until(pilot, lambda: statuses(season)[2] == "accepted", "the board refreshed from disk")
            holder.stdin.close()
            holder.wait(timeout=30)
            await until(pilot, lambda: not banner.display, "the banner gone once the other run ends")
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(timeout=30)

