"""Secrets stay in the environment, and names never steer a file outside the season or export folder.

The API key test runs the whole product the way a user would, with a recognisable fake key in
OPENAI_API_KEY, CLIFFHANGER_API_KEY and a --config file, against a sim that demands it (and a second
one that refuses it): a season with failing calls, the terminal UI, an export, `doctor` and an eval.
Then every byte written (season, eval folder, checkpoints, the user's XDG dirs with the log file) and
everything printed is searched for the key and for its middle 16 characters.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from season_kit import run, run_cli, sim_models
from test_hostile_output import cli, new_season, plant_sentinels, snapshot, user_env
from test_tui import running, say, season_open, until

from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.sim import hostile
from cliffhanger.agents.sim.config import SimConfig, parse_faults
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.app.export import FORMATS
from cliffhanger.app.room import Room
from cliffhanger.app.tui.app import CliffhangerApp
from cliffhanger.app.tui.widgets import ConfirmScreen
from cliffhanger.memory.embeddings import HashEmbedding

KEY = "sk-cliffhanger-FAKE-0123456789abcdef"
MIDDLE = KEY[len(KEY) // 2 - 8: len(KEY) // 2 + 8]
LOGLINE = "A maid humiliated at the engagement party takes her name back."
PATH_TRICKS = ("../../../etc/passwd", "/tmp/evil", "evil\x00name", "..\\..\\windows\\win.ini", "~/.ssh/id_rsa",
               "a/b/../../c", "/", "..", "x" * 10_000)


def leaks(blob: bytes | str) -> list[str]:
    data = blob.encode("utf-8", "surrogateescape") if isinstance(blob, str) else blob
    return [s for s in (KEY, MIDDLE) if s.encode() in data]


def files_under(root: Path) -> Iterator[Path]:
    yield from (p for p in root.rglob("*") if p.is_file())




def one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


# ---- the API key ----------------------------------------------------------------------------------------

def _answered(app: CliffhangerApp, screen: Any) -> bool:
    if isinstance(app.screen, ConfirmScreen):
        app.screen.dismiss(False)  # the model planned something that asks first: say no
    boxes = [b for b in screen.chat.messages() if b.role == "showrunner"]
    return bool(boxes) and not boxes[-1].streaming


async def _tui_turns(season: Path, config: Path, url: str, wrong_url: str) -> list[str]:
    """A chat turn with the real settings path, then a failing one (the endpoint refuses the key)."""
    seen: list[str] = []
    for base_url, ok in ((url, True), (wrong_url, False)):
        flags = {"provider": "openai-compatible", "base_url": base_url, "model": "sim-drama"}
        app = CliffhangerApp(season, opener=lambda d, f=flags: Room.open(d, config=config, flags=f,
                                                                         embedding=HashEmbedding()))
        async with running(app) as pilot:
            screen = await season_open(pilot)
            await say(pilot, "What should the next episode open on?")

            await until(pilot, lambda a=app, s=screen: _answered(a, s), "the showrunner's answer", ceiling_s=60)
            screen.room.stop_run()
            box = [b for b in screen.chat.messages() if b.role == "showrunner"][-1]
            if ok:
                assert box.body.strip() and not box.note, (box.note, app.notices)
            else:
                assert box.note.startswith("(failed") and any("refused the API key" in m for _, m in app.notices)
            seen += [m for _, m in app.notices] + [b.rendered_text().plain for b in screen.chat.messages()]
            seen.append(app.export_screenshot())
    return seen


def test_the_api_key_is_never_written_or_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, work, inputs = tmp_path / "home", tmp_path / "work", tmp_path / "input"
    for d in (home, work, inputs):
        d.mkdir()
    env = {**user_env(home), "OPENAI_API_KEY": KEY, "CLIFFHANGER_API_KEY": KEY}
    config = inputs / "cliffhanger.toml"
    config.write_text(f'api_key = "{KEY}"\nmax_retries = 6\nmax_attempts = 4\n', encoding="utf-8")
    printed: list[str] = []

    def shell(*args: str) -> Any:
        done = cli(env, work, *args)
        printed.extend([done.stdout, done.stderr])
        return done

    season = work / "season"
    with run_in_thread(SimConfig(api_key=KEY, seed=2, faults=parse_faults("429:0.15,malformed:0.1,500:0.03"),
                                 log_path=work / "sim.jsonl")) as faulty_url, \
            run_in_thread(SimConfig(api_key=KEY, log_path=work / "sim-clean.jsonl")) as url, \
            run_in_thread(SimConfig(api_key="sk-some-other-key-999")) as wrong_url:
        model = ["--provider", "openai-compatible", "--model", "sim-drama", "--config", str(config)]
        assert shell("new", str(season), "--logline", LOGLINE, "--genre", "revenge_us", "--episodes", "2",
                     "--free", "1", "--runtime", "30").returncode == 0
        drafted = shell("draft", str(season), "--base-url", faulty_url, *model)
        assert drafted.returncode == 0 and "season complete" in drafted.stdout, drafted.stderr
        assert shell("export", str(season), "--format", "html").returncode == 0
        assert shell("export", str(season), "--format", "jobs", "--target", "kling").returncode == 0
        assert shell("doctor", "--base-url", url, *model).returncode == 0
        refused = shell("doctor", "--base-url", wrong_url, *model)
        assert refused.returncode == 1 and "401" in refused.stdout
        for name, extra in (("room", f'api_key = "{KEY}"\n'), ("baseline", "")):
            (inputs / f"{name}.toml").write_text(
                f'name = "{name}"\nprovider = "openai-compatible"\nbase_url = "{url}"\nmodel = "sim-drama"\n{extra}'
                f'max_retries = 6\n[pipeline]\nmode = "{"baseline" if name == "baseline" else "room"}"\n'
                "revisions = false\n", encoding="utf-8")
        evaluated = shell("eval", "smoke", "--config", str(inputs / "room.toml"), "--config",
                          str(inputs / "baseline.toml"), "--judge", "sim-drama",
                          "--judge-provider", "openai-compatible",
                          "--judge-base-url", url, "--out", str(work / "eval"), "--bootstrap", "100")
        assert evaluated.returncode == 0, evaluated.stderr
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("CLIFFHANGER_API_KEY", KEY)
        printed += asyncio.run(_tui_turns(season, config, url, wrong_url))

    assert (season / "checkpoints.sqlite").is_file() and (work / "eval" / "results.jsonl").is_file()
    assert (home / ".local" / "state" / "cliffhanger" / "log").is_dir()  # where the log file goes (scanned below)
    scanned = [p for p in files_under(tmp_path) if inputs not in p.parents]
    # The session's cache may hold the bundled model (hundreds of MB, assembled from a package): not ours to write.
    scanned += [p for p in files_under(Path(os.environ["XDG_CACHE_HOME"])) if p.stat().st_size < 50_000_000]
    scanned += [Path(h.baseFilename) for h in logging.getLogger().handlers
                if isinstance(h, logging.FileHandler) and Path(h.baseFilename).exists()]
    assert len(scanned) > 50
    statuses = {json.loads(line)["status"] for line in (work / "sim.jsonl").read_text().splitlines()}
    assert statuses > {200} and "401" in "".join(printed)  # calls failed along the way, and one was refused
    found = {str(p): leaks(p.read_bytes()) for p in scanned}
    assert not {p: f for p, f in found.items() if f}
    assert not [text[:200] for text in printed if leaks(text)]


# ---- names and paths ------------------------------------------------------------------------------------

def test_titles_that_look_like_paths_name_nothing_on_disk(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    plant_sentinels(tmp_path)
    monkeypatch.chdir(work)
    xdg = tmp_path / "xdg-state"  # the CLI's log file
    outside = snapshot(tmp_path, work, xdg)
    made = []
    for i, title in enumerate(PATH_TRICKS):
        code, out, err = run_cli(capsys, "new", f"s{i}", "--logline", LOGLINE, "--genre", "revenge_us",
                                 "--title", title,
                                 "--episodes", "3", "--free", "1")
        if len(title) > 200:
            one_line_error(code, err, "title", "200")
            continue
        assert code == 0 and title.replace("\x00", "") in out and "\x00" not in out, err
        assert SeasonStore.open(work / f"s{i}").spec().title == title.replace("\x00", "")  # NUL dropped, not stored
        made.append(f"s{i}")
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*")) == \
        sorted([*made, *(f"{m}/season.toml" for m in made)])
    assert snapshot(tmp_path, work, xdg) == outside


def test_model_names_that_look_like_paths_stay_inside_the_season(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Character, location and episode names are such strings (ids cannot be): every file lands in the season."""
    parent = tmp_path / "parent"
    store = new_season(parent / "season", 3, title="../../../etc/passwd")
    plant_sentinels(parent)
    outside = snapshot(tmp_path, store.root)
    monkeypatch.setattr(hostile, "PAYLOADS", PATH_TRICKS)
    monkeypatch.setattr(hostile, "PAYLOAD_RATE", 1.0)
    with run_in_thread(SimConfig(seed=4, faults=parse_faults("inject:1"))) as url:
        result = run(store, sim_models(url, UsageLog(store.usage_path)), concurrency=4)
    assert result.stop == "done" and result.accepted == [1, 2, 3]
    bible = store.bible()
    assert bible is not None
    names = [c.name for c in bible.characters] + [loc.name for loc in bible.locations]
    assert any(n.startswith(("../", "/", "..\\", "~/", "a/b")) for n in names), names
    for fmt in FORMATS:
        main_ok = _export(store.root, fmt)
        assert main_ok.parent == store.root / "exports" and main_ok.name == FORMATS[fmt].format(target="kling")
    assert snapshot(tmp_path, store.root) == outside
    assert {p.name for p in (store.root / "exports").iterdir()} == {f.format(target="kling") for f in FORMATS.values()}


def _export(root: Path, fmt: str) -> Path:
    from cliffhanger.app.export import export_season

    return export_season(root, fmt, target="kling" if fmt in ("jobs", "budget") else None).path


def test_model_ids_that_look_like_paths_are_refused_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that writes `../../etc/passwd` even where an id belongs: `draft` stops with one line, nothing written."""
    home, parent = tmp_path / "home", tmp_path / "parent"
    env = user_env(home)
    store = new_season(parent / "season", 3)
    plant_sentinels(parent)
    outside = snapshot(tmp_path, store.root)

    def everywhere(self: Any, value: str, schema: dict[str, Any]) -> str:
        return self.rng.choice(PATH_TRICKS)

    monkeypatch.setattr(hostile.Payloads, "__call__", everywhere)
    with run_in_thread(SimConfig(faults=parse_faults("inject:1"))) as url:
        done = cli(env, parent, "draft", str(store.root), "--provider", "openai-compatible", "--base-url",
                   url, "--model", "sim-drama")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: showrunner:") and "gave no valid" in last and "\x00" not in last
    assert not (store.root / "bible.json").exists() and (store.root / "season.toml").is_file()
    allowed = ("home/.local", "home/tmp/data-gym-cache")  # the log file, tiktoken's cache
    assert {k: v for k, v in snapshot(tmp_path, store.root).items() if not k.startswith(allowed)} == \
        {k: v for k, v in outside.items() if not k.startswith(allowed)}


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("drafted") / "season"
    store = new_season(root, 2)
    with run_in_thread(SimConfig()) as url:
        assert run(store, sim_models(url, UsageLog(store.usage_path))).accepted == [1, 2]
    return root


def test_export_out_lands_exactly_where_asked_or_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, drafted: Path) -> None:
    season = tmp_path / "season"
    shutil.copytree(drafted, season)
    work = tmp_path / "work"
    (work / "folder").mkdir(parents=True)
    plant_sentinels(tmp_path)
    monkeypatch.chdir(work)
    xdg = tmp_path / "xdg-state"
    before = snapshot(tmp_path, work, xdg)
    asked = {
        "deep/new/x.fountain": "deep/new/x.fountain",
        "folder": "folder/season.fountain",
        "..\\..\\evil.fountain": "..\\..\\evil.fountain",  # one odd file name on Linux, here
        "a/../b.fountain": "b.fountain",
        str(work / "abs.fountain"): "abs.fountain",
    }
    for out, lands in asked.items():
        code, said, err = run_cli(capsys, "export", str(season), "--format", "fountain", "--out", out)
        assert code == 0, err
        assert said.strip() == f"wrote {out if out != 'folder' else 'folder/season.fountain'} (episodes 1-2)"
        assert (work / lands).is_file()
    refused = (("y" * 10_000, "cannot write"), ("a\x00b", "null byte"), ("folder/" + "z" * 300 + "/f", "cannot write"))
    for out, why in refused:
        code, _, err = run_cli(capsys, "export", str(season), "--format", "fountain", "--out", out)
        one_line_error(code, err, why)
    created = sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file())
    assert created == sorted(asked.values())
    assert snapshot(tmp_path, work, xdg) == before  # the season itself got no exports/ folder either


@pytest.mark.parametrize("bad", ["../../evil", "/tmp/evil", "a/b", "a\\\\b", "..", "evil\\u0000", "x" * 10_000])
def test_eval_config_names_and_premise_ids_that_are_paths_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    good, named = work / "good.toml", work / "named.toml"
    base = 'provider = "sim"\nmodel = "sim-drama"\n[pipeline]\nrevisions = false\n'
    good.write_text(base, encoding="utf-8")
    named.write_text(f'name = "{bad}"\n' + base, encoding="utf-8")
    judge = ["--judge", "sim-drama", "--judge-provider", "sim"]
    xdg = tmp_path / "xdg-state"
    before = snapshot(tmp_path, xdg)
    code, _, err = run_cli(capsys, "eval", "smoke", "--config", str(good), "--config", str(named), *judge,
                           "--out", "eval")
    one_line_error(code, err, "name")
    assert snapshot(tmp_path, xdg) == before
    suite = work / "suite.yaml"
    suite.write_text(f'name: paths\npremises:\n  - id: "{bad}"\n    title: T\n    logline: {LOGLINE}\n'
                     "    genre: revenge_us\n    language: en\n    episodes: 2\n    free: 1\n", encoding="utf-8")
    before = snapshot(tmp_path, xdg)
    code, _, err = run_cli(capsys, "eval", str(suite), "--config", str(good), "--config", str(good), *judge,
                           "--out", "eval")
    one_line_error(code, err, "premises.0.id")
    assert snapshot(tmp_path, xdg) == before and not (work / "eval").exists()
