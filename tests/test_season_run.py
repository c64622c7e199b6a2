"""Drafting a season end to end (`run_season`, the graph): seasons against the sim and scripted models, resume,
stops, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from canon_kit import assert_canon_is_the_accepted_facts
from season_kit import ROLES, make_season, run, sim_models, tree_hash  # noqa: F401

from cliffhanger.agents.graph import route_after_shots, route_decision, route_gate, route_start
from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.scripted import ScriptedClient
from cliffhanger.agents.llm.usage import UsageLog, read_usage
from cliffhanger.agents.season.artifacts import SeasonSpec
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.app.cli import main
from cliffhanger.genres.loader import builtin_catalog
from cliffhanger.memory.ledger import Ledger

# ---- routers ----------------------------------------------------------------------------------------

def test_routers() -> None:
    assert route_start({}) == "plan_bible"
    assert route_start({"planned": True}) == "review_arc"
    assert route_start({"planned": True, "arc_approved": True}) == "gate"
    assert route_gate({"stop": ""}) == "draft_episode"
    # shot lists run beside the loop, never as a graph step the next episode would wait for
    assert route_gate({"stop": "", "shots_pending": 3}) == "draft_episode"
    assert route_gate({"stop": "done", "shots_pending": 3}) == "finish"
    assert route_gate({"stop": "until"}) == "finish"
    assert route_decision({"decision": "revise"}) == "draft_episode"
    assert route_decision({"decision": "accept"}) == "accept_episode"
    assert route_after_shots({"stop": "done"}) == "gate" and route_after_shots({"stop": ""}) == "__end__"


# ---- a full season against the sim --------------------------------------------------------------------

def test_twelve_episode_season_against_the_sim(tmp_path: Path, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 12)
    usage = UsageLog(store.usage_path)
    result = run(store, sim_models(sim_url, usage), concurrency=4)
    assert result.stop == "done" and result.accepted == list(range(1, 13))
    spec, arc = store.spec(), store.arc()
    assert [r.paywall for r in arc.rows] == [spec.is_paywall(e) for e in range(1, 13)] and any(r.paywall for r in arc.rows)
    strong = {k.id for k in builtin_catalog().get("revenge").paywall_kinds()}
    kinds = [r.cliffhanger.kind for r in arc.rows]
    assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False))  # no kind twice in a row
    for ep in range(1, 13):
        folder = store.episode_dir(ep)
        for name in ("script.json", "script.fountain", "review.json", "shots.json"):
            assert (folder / name).exists(), (ep, name)
        assert store.shots(ep).fits_runtime(0.10)
        if spec.is_paywall_cliffhanger(ep):
            assert arc.row(ep).cliffhanger.kind in strong and arc.row(ep).cliffhanger.strength == 5
    report = (store.root / "report.md").read_text(encoding="utf-8")
    assert "Stopped: done" in report and "Episodes accepted: 12 / 12" in report
    assert "## Video budget" in report and "| kling | " in report  # the shot lists priced, every target
    rows = read_usage(store.usage_path)
    assert {r.role for r in rows} == set(ROLES)
    assert all(r.prompt for r in rows)  # every call records the prompt that made it
    meta = json.loads((store.episode_dir(5) / "script.json").read_text())["_meta"]
    assert meta["prompt"].startswith("writer.") and "@" in meta["prompt"]
    counts = assert_canon_is_the_accepted_facts(store)  # the floor per episode first, then canon = the replay
    assert sorted(counts) == list(range(1, 13))
    with Ledger(store.ledger_path) as ledger:
        assert ledger.last_episode() == 12
    # a finished season re-run does nothing and calls no model
    calls = len(rows)
    assert run(store, sim_models(sim_url, UsageLog(store.usage_path))).stop == "done"
    assert len(read_usage(store.usage_path)) == calls


def test_until_then_continue(tmp_path: Path, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 5, free=2)
    usage = UsageLog(store.usage_path)
    assert run(store, sim_models(sim_url, usage), until=2).stop == "until"
    assert store.accepted_episodes() == [1, 2]
    before = hashlib.sha256((store.episode_dir(2) / "script.json").read_bytes()).hexdigest()
    assert run(store, sim_models(sim_url, usage)).stop == "done"
    assert store.accepted_episodes() == [1, 2, 3, 4, 5]
    assert hashlib.sha256((store.episode_dir(2) / "script.json").read_bytes()).hexdigest() == before


def test_arc_review_pauses_and_resumes_with_the_edited_arc(tmp_path: Path, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 3, free=2)
    usage = UsageLog(store.usage_path)
    assert run(store, sim_models(sim_url, usage), review_arc=True).stop == "arc_review"
    assert store.accepted_episodes() == [] and store.arc() is not None
    arc = json.loads((store.root / "arc.json").read_text(encoding="utf-8"))
    arc["rows"][0]["logline"] = "编辑亲手改写：林晚在订婚宴上撕下面具。"
    (store.root / "arc.json").write_text(json.dumps(arc, ensure_ascii=False), encoding="utf-8")
    writer = sim_models(sim_url, usage)
    assert run(store, writer).stop == "done" and store.accepted_episodes() == [1, 2, 3]
    first = next(r for r in read_usage(store.usage_path) if r.role == "writer")
    assert first.episode == 1
    assert store.arc().row(1).logline == "编辑亲手改写：林晚在订婚宴上撕下面具。"


def test_budget_stops_cleanly_and_more_budget_continues(tmp_path: Path, sim_url: str, capsys) -> None:
    store = make_season(tmp_path / "s", 3, free=2)
    usage = UsageLog(store.usage_path)
    models = sim_models(sim_url, usage, model="gpt-4o-mini", provider="openai-compatible")
    result = run(store, models, budget_usd=0.02)
    assert result.stop == "budget" and "budget reached" in result.message
    spent = sum(r.cost_usd or 0.0 for r in read_usage(store.usage_path))
    assert 0 < spent <= 0.02
    snapshot = tree_hash(store.root)
    # a full budget from the command line: one line, exit 2, nothing changed
    code = _cli(capsys, "draft", str(store.root), "--provider", "openai-compatible", "--base-url", sim_url,
                "--model", "gpt-4o-mini", "--budget-usd", "0.02")
    assert code[0] == 2 and "budget reached" in code[2] and code[2].count("\n") == 1
    assert {k: v for k, v in tree_hash(store.root).items() if k != "report.md"} == \
           {k: v for k, v in snapshot.items() if k != "report.md"}
    assert run(store, sim_models(sim_url, usage, model="gpt-4o-mini", provider="openai-compatible"),
               budget_usd=5.0).stop == "done"


def test_faults_still_finish_every_episode(tmp_path: Path, make_sim) -> None:
    url = make_sim(faults="429:0.1,500:0.05,malformed:0.05,truncate:0.03", seed=11)
    store = make_season(tmp_path / "s", 4, free=2)
    usage = UsageLog(store.usage_path)
    models = sim_models(url, usage, policy=CallPolicy(max_attempts=5, max_retries=8, backoff_base_s=0.005,
                                                      backoff_max_s=0.02))
    assert run(store, models).stop == "done" and store.accepted_episodes() == [1, 2, 3, 4]
    rows = read_usage(store.usage_path)
    assert any(r.retries for r in rows) and any(r.attempts > 1 for r in rows)


# ---- scripted models: a planted contradiction is caught and fixed ---------------------------------------

def _scene(number: int, cast: list[str], lines: list[tuple[str, str]]) -> dict:
    els = [{"type": "action", "text": t} if who == "-" else {"type": "dialogue", "speaker": who, "line": t}
           for who, t in lines]
    return {"number": number, "int_ext": "INT", "location": "lin_mansion_hall", "time": "night", "cast": cast,
            "elements": els}


def _script(ep: int, scenes: list[dict], hook: str) -> dict:
    return {"episode": ep, "title": f"第{ep}集", "scenes": scenes, "ending_hook": hook}


def _critique(score: int) -> dict:
    crit = ("hook", "cliffhanger_pull", "payoff", "pacing", "escalation", "character_consistency", "dialogue",
            "earned_emotion", "freshness")
    return {**{c: {"score": score, "reason": "清楚有力。"} for c in crit}, "must_fix": [], "notes": ""}


def _fact(subject: str, kind: str, attribute: str, value: str, scene: int, evidence: str, change: bool = False) -> dict:
    return {"subject": subject, "kind": kind, "attribute": attribute, "value": value, "scene": scene,
            "change": change, "evidence": evidence}


def _row() -> dict:
    return {"episode": 1, "act": 1, "logline": "林雪柔坠楼，林晚被怀疑。", "beats": ["宴会", "坠楼"],
            "payoff": "林晚当众拿出录音", "opening_hook": "一声尖叫",
            "cliffhanger": {"kind": "x", "hook_line": "门外有人敲门。", "strength": 3}, "paywall": False, "reveals": []}


SHORT = ["林晚推开大厅的门，宾客纷纷回头。", "林雪柔端着酒杯走来，笑意很深。", "水晶灯忽然闪了一下。", "她把酒杯放在桌上。",
         "林晚没有后退。"]
FALL = "林雪柔从天台坠下，再也没有醒来。"
GHOST = "姐姐，你以为我真的死了吗？"


def _prompt(messages: list) -> str:  # noqa: ANN001
    return messages[0][1]


def _writer(messages: list) -> dict:  # noqa: ANN001
    """Episode 1; episode 2 with the dead sister walking in; its revision without her (keyed by the prompt)."""
    text = _prompt(messages)
    if "第2集" not in text and "episode 2" not in text.lower() and "2 of" not in text:
        tail = [("-", FALL), ("lin_wan", "不是我。")]
        return _script(1, [_scene(1, ["lin_wan", "lin_xuerou"], [("-", t) for t in SHORT] + tail)], "门外有人敲门。")
    if GHOST in text:  # the revision brief quotes the draft being revised
        tail = [("-", "林晚看着妹妹的遗照，手在发抖。"), ("lin_wan", "你到底是谁？")]
        lines = [("-", t.replace("林雪柔", "管家")) for t in SHORT] + tail
        return _script(2, [_scene(1, ["lin_wan"], lines)], "灯灭了。")
    tail = [("lin_xuerou", GHOST), ("lin_wan", "你到底是谁？")]
    return _script(2, [_scene(1, ["lin_wan", "lin_xuerou"], [("-", t) for t in SHORT] + tail)], "灯灭了。")


def _extract(messages: list) -> dict:  # noqa: ANN001
    text = _prompt(messages)
    if FALL in text:
        return {"facts": [_fact("lin_xuerou", "state", "status", "dead", 1, FALL, True)]}
    if GHOST in text:
        return {"facts": [_fact("林雪柔", "presence", "appears", "true", 1, GHOST)]}
    return {"facts": [_fact("lin_wan", "presence", "appears", "true", 1, "你到底是谁？")]}


def scripted_room(sample) -> dict[str, ScriptedClient]:  # noqa: ANN001
    return {
        "showrunner": ScriptedClient("showrunner", {
            "Bible": [sample("zh_bible")],
            "SeasonOutline": [{"acts": [{"act": 1, "goal": "复仇开局", "turning_points": ["坠楼", "录音"],
                                         "reveals": [], "ending": "真相浮出"}] * 4}],
            "ActRows": [lambda msgs: {"rows": [_row() for _ in range(2)]}],
            "Decision": [{"decision": "accept", "notes": []}],
        }),
        "writer": ScriptedClient("writer", {"EpisodeScript": [_writer]}),
        "continuity": ScriptedClient("continuity", {"ExtractedFacts": [_extract], "ModelFindings": [{"findings": []}]}),
        "critic": ScriptedClient("critic", {"Critique": [_critique(8)]}),
    }


def test_planted_contradiction_is_caught_and_fixed_by_a_revision(tmp_path: Path, sample, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 2, free=1, runtime=20)
    models = scripted_room(sample)
    models["shots"] = ModelClient("shots", EndpointConfig(provider="sim", base_url=sim_url, model="sim-drama"), UsageLog())
    result = run(store, models, max_revisions=2)
    assert result.stop == "done" and store.accepted_episodes() == [1, 2]
    first = json.loads(store.revision_path(2, 0, "continuity").read_text(encoding="utf-8"))
    (finding,) = first["findings"]
    assert finding["rule"] == "dead_character_active" and finding["canon_fact"] == FALL
    assert finding["script_quote"] == GHOST
    decision = json.loads(store.revision_path(2, 0, "decision").read_text(encoding="utf-8"))
    assert decision["decision"] == "revise" and any(n.startswith("连续性：") for n in decision["notes"])
    review = json.loads((store.episode_dir(2) / "review.json").read_text(encoding="utf-8"))
    assert review["accepted_revision"] == 1 and review["open_findings"] == []
    assert "管家" in (store.episode_dir(2) / "script.fountain").read_text(encoding="utf-8")
    revise_prompt = models["writer"].calls[2].messages[0][1]
    assert "dead" in revise_prompt or "死" in revise_prompt  # the note reached the writer
    with Ledger(store.ledger_path) as ledger:
        assert [f.kind for f in ledger.facts(until_episode=2) if f.episode == 2] == ["presence"]
        assert ledger.state_as_of(2).status("lin_xuerou").value == "dead"


def test_revision_loop_is_bounded_and_the_best_revision_wins(tmp_path: Path, sample, sim_url: str) -> None:
    store = SeasonStore.create(tmp_path / "s", SeasonSpec.create(title="t", logline="l", genre="revenge", episodes=2,
                                                                  runtime_s=20, free_episodes=1))
    models = scripted_room(sample)
    models["continuity"] = ScriptedClient("continuity", {"ExtractedFacts": [{"facts": []}], "ModelFindings": [{"findings": []}]})
    models["critic"] = ScriptedClient("critic", {"Critique": [_critique(3), _critique(5), _critique(2)] * 2})
    models["showrunner"].answers["Decision"] = [{"decision": "revise", "notes": ["更狠一点"]}]
    models["writer"] = ScriptedClient("writer", {"EpisodeScript": [
        lambda m: _script(1, [_scene(1, ["lin_wan"], [("-", t) for t in SHORT] + [("-", "她回头。"), ("lin_wan", "走。")])],
                          "灯灭了。")]})
    models["shots"] = ModelClient("shots", EndpointConfig(provider="sim", base_url=sim_url, model="sim-drama"), UsageLog())
    assert run(store, models, max_revisions=2).stop == "done"
    review = json.loads((store.episode_dir(1) / "review.json").read_text(encoding="utf-8"))
    assert len(review["revisions"]) == 3 and review["accepted_revision"] == 1  # scores 3, 5, 2: the 5 wins
    assert not store.revision_path(1, 3).exists()


# ---- process-level: kill -9, SIGINT, the lock -------------------------------------------------------------

def _cli(capsys, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def _draft_process(root: Path, url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cliffhanger.app", "draft", str(root), "--provider", "openai-compatible",
         "--base-url", url, "--model", "sim-drama", "--concurrency", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def _wait_for(cond, timeout: float = 90.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_kill_9_mid_run_then_resume_loses_and_duplicates_nothing(tmp_path: Path, make_sim) -> None:
    url = make_sim(ttft_ms=20, tps=4000)
    store = make_season(tmp_path / "s", 6, free=2)
    proc = _draft_process(store.root, url)
    _wait_for(lambda: len(store.accepted_episodes()) >= 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    kept = {e: hashlib.sha256((store.episode_dir(e) / "script.json").read_bytes()).hexdigest()
            for e in store.accepted_episodes()}
    proc = _draft_process(store.root, url)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-2000:]
    assert store.accepted_episodes() == [1, 2, 3, 4, 5, 6]
    for ep, digest in kept.items():  # episodes accepted before the kill are not redone
        assert hashlib.sha256((store.episode_dir(ep) / "script.json").read_bytes()).hexdigest() == digest
    with Ledger(store.ledger_path) as ledger:
        sources = {}
        for row in ledger._db.execute("SELECT episode, source FROM facts WHERE episode > 0"):
            sources.setdefault(row[0], set()).add(row[1])
        assert sorted(sources) == [1, 2, 3, 4, 5, 6]
        assert all(len(s) == 1 for s in sources.values())  # one accepted revision per episode in canon
    # canon is the accepted revisions' facts, with the floor per episode asserted first (empty sets prove nothing)
    assert_canon_is_the_accepted_facts(store)
    assert not list(store.root.rglob("*.tmp"))


def test_a_write_killed_mid_way_leaves_no_temp_file_once_the_next_writer_starts(tmp_path: Path) -> None:
    """Found by scripts/chaos.py: SIGKILL inside atomic_write (before its rename) left a .*.tmp for good."""
    store = make_season(tmp_path / "s", 2, free=1)
    target = store.revision_path(1, 0)
    code = ("import os, time; from pathlib import Path; from cliffhanger.agents.season import store; "
            "os.fsync = lambda fd: (print('writing', flush=True), time.sleep(60)); "
            f"store.atomic_write(Path({str(target)!r}), '{{\"episode\": 1}}')")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    (orphan,) = target.parent.glob(".*.tmp")
    assert orphan.name.startswith(".r00.draft.json.") and not target.exists()
    export = store.root / "exports" / ".season.fountain.abcd1234.tmp"  # exports are written without the lock
    export.parent.mkdir()
    export.write_text("x")
    (store.root / ".notes.tmp").write_text("mine")  # not an atomic_write name
    with store.lock():
        assert not orphan.exists()
    assert export.exists() and (store.root / ".notes.tmp").exists()


def test_a_canon_write_killed_mid_transaction_does_not_stop_the_next_run(tmp_path: Path, sim_url: str) -> None:
    """Found by scripts/chaos.py: the hot journal a kill -9 leaves made the pre-run check call canon.sqlite damaged."""
    store = make_season(tmp_path / "s", 2, free=1)
    code = ("import time; from pathlib import Path; from cliffhanger.memory.ledger import Ledger; "
            f"db = Ledger(Path({str(store.ledger_path)!r}))._db; db.execute('PRAGMA cache_size=1'); db.execute('BEGIN'); "
            "[db.execute('INSERT INTO docs VALUES (?, ?, NULL, 0, ?)', (f'd{i}', 'note', 'x' * 300)) for i in range(3000)]; "
            "print('writing', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    journal = store.root / "canon.sqlite-journal"
    assert journal.exists() and journal.stat().st_size > 0  # a hot journal: the transaction was half written
    assert run(store, sim_models(sim_url, UsageLog(store.usage_path)), until=1).stop == "until"
    with Ledger(store.ledger_path) as ledger:
        assert not [d for d in ledger.docs("note") if d.id.startswith("d")]  # rolled back, not half kept
    assert not journal.exists() and store.accepted_episodes() == [1]


def test_a_kill_between_bible_json_and_bible_md_still_gets_bible_md(tmp_path: Path, sample, sim_url: str) -> None:
    """bible.json on disk without bible.md (a kill between the two writes): the resumed plan_bible writes it."""
    from cliffhanger.agents.season.artifacts import Bible

    store = make_season(tmp_path / "s", 2, free=1)
    store.write_model(store.root / "bible.json", Bible.model_validate(sample("zh_bible")), {"prompt": "x@1"})
    usage = UsageLog(store.usage_path)
    assert run(store, sim_models(sim_url, usage), review_arc=True).stop == "arc_review"
    assert store.bible().characters[0].name in (store.root / "bible.md").read_text(encoding="utf-8")
    assert not any((r.prompt or "").startswith("showrunner.plan_bible") for r in read_usage(store.usage_path))


def test_sigint_drains_and_says_how_to_resume(tmp_path: Path, make_sim) -> None:
    url = make_sim(ttft_ms=30, tps=3000)
    store = make_season(tmp_path / "s", 6, free=2)
    proc = _draft_process(store.root, url)
    _wait_for(lambda: len(store.accepted_episodes()) >= 1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "stopped at a step boundary; run `cliffhanger draft" in out and "Traceback" not in err
    assert "Stopped: interrupted" in (store.root / "report.md").read_text(encoding="utf-8")
    proc = _draft_process(store.root, url)
    proc.communicate(timeout=180)
    assert proc.returncode == 0 and store.accepted_episodes() == list(range(1, 7))


def test_second_writer_gets_a_clear_error(tmp_path: Path, capsys, sim_url: str) -> None:
    store = make_season(tmp_path / "s", 2, free=1)
    with store.lock():
        code, out, err = _cli(capsys, "draft", str(store.root), "--provider", "sim")
    assert code == 2 and "is being drafted by pid" in err and err.count("\n") == 1


# ---- bad input ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["not_a_season", "damaged_toml", "unknown_genre", "paywall_past_end", "read_only"])
def test_bad_season_input_is_one_line_exit_2_and_harmless(tmp_path: Path, capsys, case: str) -> None:
    root = tmp_path / "s"
    if case == "not_a_season":
        root.mkdir()
        (root / "notes.txt").write_text("mine")
        args, fragment = ["draft", str(root), "--provider", "sim"], "is not a season folder"
    elif case == "damaged_toml":
        make_season(root, 3, free=2)
        (root / "season.toml").write_text("title = \"x\nepisodes = ", encoding="utf-8")
        args, fragment = ["draft", str(root), "--provider", "sim"], "damaged"
    elif case == "unknown_genre":
        args, fragment = ["new", str(root), "--logline", "x", "--genre", "telenovela"], "unknown genre 'telenovela'"
    elif case == "paywall_past_end":
        args, fragment = ["new", str(root), "--logline", "x", "--genre", "revenge", "--episodes", "10", "--free", "5",
                          "--paywall", "6,12"], "after the last episode"
    else:
        if os.geteuid() == 0:
            pytest.skip("root ignores folder permissions")
        make_season(root, 3, free=2)
        root.chmod(0o555)
        args, fragment = ["draft", str(root), "--provider", "sim"], "permission denied"
    before = tree_hash(tmp_path)
    try:
        code, out, err = _cli(capsys, *args)
    finally:
        root.chmod(0o755) if root.exists() else None
    assert code == 2, (out, err)
    assert err.startswith("error: ") and fragment in err and err.count("\n") == 1 and "Traceback" not in err
    assert tree_hash(tmp_path) == before


def test_new_and_status_commands(tmp_path: Path, capsys, sim_url: str) -> None:
    root = tmp_path / "season"
    code, out, _ = _cli(capsys, "new", str(root), "--logline", "She returns on the night of the gala.",
                        "--genre", "revenge_us", "--episodes", "4", "--free", "2", "--runtime", "60")
    assert code == 0 and "created" in out
    spec = SeasonStore.open(root).spec()
    assert (spec.language, spec.paywall.paywall_episodes, spec.runtime_s) == ("en", (3,), 60)
    code, out, err = _cli(capsys, "new", str(root), "--logline", "again", "--genre", "revenge_us")
    assert code == 2 and "already holds a season" in err
    code, out, _ = _cli(capsys, "draft", str(root), "--provider", "openai-compatible", "--base-url", sim_url,
                        "--model", "sim-drama", "--until", "2")
    assert code == 0 and "stopped after episode 2" in out
    code, out, _ = _cli(capsys, "status", str(root), "--format", "json")
    status = json.loads(out)
    assert code == 0 and status["accepted"] == 2 and status["running"] is False and "until" in status["state"]
    code, out, _ = _cli(capsys, "status", str(root))
    assert "2/4 episodes accepted" in out


def test_dry_run_estimates_without_touching_the_season(tmp_path: Path, capsys) -> None:
    store = make_season(tmp_path / "s", 2, free=1)
    before = tree_hash(store.root)
    code, out, _ = _cli(capsys, "draft", str(store.root), "--dry-run")
    assert code == 0 and "dry run against the simulator" in out and "at reference prices: deepseek-chat $" in out
    assert tree_hash(store.root) == before


def test_state_never_holds_scripts(tmp_path: Path, sim_url: str) -> None:
    import sqlite3

    store = make_season(tmp_path / "s", 2, free=1)
    run(store, sim_models(sim_url, UsageLog(store.usage_path)))
    db = sqlite3.connect(store.checkpoint_path)
    blob = b"".join(bytes(r[0] or b"") for r in db.execute("SELECT checkpoint FROM checkpoints"))
    blob += b"".join(bytes(r[0] or b"") for r in db.execute("SELECT value FROM writes"))
    first = store.script(1).scenes[0].elements[0]
    text = first.text if hasattr(first, "text") else first.line
    assert len(blob) > 1000 and text.encode("utf-8") not in blob
