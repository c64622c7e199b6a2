"""scripts/chaos.py: a season against a faulty sim, killed with SIGKILL three times, keeps every invariant;
and the checks it prints are not vacuous (a damaged folder fails them)."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "chaos.py"
INVARIANTS = ("runs", "accepted exactly once", "canon = accepted facts", "lore index = canon", "usage log complete",
              "no temp files", "saved work kept", "redone per kill", "databases intact")


def _chaos():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("cliffhanger_chaos_script", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_six_episodes_three_kills_keep_every_invariant_and_damage_is_caught(tmp_path: Path, capsys) -> None:
    chaos = _chaos()
    work = tmp_path / "run"
    code = chaos.main(["--episodes", "6", "--kills", "3", "--seed", "3", "--keep", str(work), "--ceiling-s", "240"])
    out = capsys.readouterr().out
    assert code == 0, out
    for name in INVARIANTS:
        assert f"\nPASS  {name}: " in out, (name, out)
    assert "FAIL" not in out and "3/3 kills delivered" in out and "6/6 accepted" in out
    kills = [line for line in out.splitlines() if line[:4].strip().isdigit()]
    assert len(kills) == 3  # one row per kill, with what was in flight (timing-dependent, so not asserted)
    assert "faults" in out and "| checkpoint db |" in out

    root = work / "season"
    assert chaos.check_canon(root)[0] and chaos.check_usage(root)[0] and chaos.check_episodes(root, 6, [])[0]
    assert chaos.check_lore(root)[0]
    floor = next(line for line in out.splitlines() if line.startswith("PASS  canon = accepted facts"))
    assert f"(floor {chaos.FACT_FLOOR})" in floor and "below the floor" not in floor
    # a fact of a draft that was never accepted, a torn usage line, an accepted script that is not its revision
    db = sqlite3.connect(root / "canon.sqlite")
    with db:
        db.execute("INSERT INTO facts (subject, kind, attribute, value, episode, scene, change, evidence, source) "
                   "VALUES ('lin_wan', 'state', 'status', '\"dead\"', 3, 1, 1, 'x', 'episode 3 r9')")
    db.close()
    ok, text = chaos.check_canon(root)
    assert not ok and "episodes differing: [3]" in text
    # an episode whose facts were all dropped, from canon and from its facts file alike: the replay agrees
    # with canon there, so only the floor can tell
    rev = json.loads((root / "episodes" / "004" / "review.json").read_text())["accepted_revision"]
    (root / "episodes" / "004" / "revisions" / f"r{rev:02d}.facts.json").write_text("")
    db = sqlite3.connect(root / "canon.sqlite")
    with db:
        db.execute("DELETE FROM facts WHERE episode = 4")
    db.close()
    ok, text = chaos.check_canon(root)
    assert not ok and "below the floor: [4]" in text and "not compared" in text
    # the lore index and canon agreeing on holding no episode facts at all: only the floor can tell
    import chromadb
    from chromadb.config import Settings

    from cliffhanger.memory.ledger import Ledger
    from cliffhanger.memory.lore import COLLECTION, fact_id

    db = sqlite3.connect(root / "canon.sqlite")
    with db:
        db.execute("DELETE FROM facts WHERE episode > 0")
    db.close()
    with Ledger(root / "canon.sqlite") as ledger:
        kept = {fact_id(f) for f in ledger.facts()} | {f"doc:{d.id}" for d in ledger.docs()}
    index = chromadb.PersistentClient(path=str(root / "lore"), settings=Settings(anonymized_telemetry=False))
    collection = index.get_collection(COLLECTION)
    collection.delete(ids=[i for i in collection.get(include=[])["ids"] if i not in kept])
    ok, text = chaos.check_lore(root)
    assert not ok and "missing 0, extra 0" in text and "(0 episode facts" in text
    with (root / "usage.jsonl").open("a") as fh:
        fh.write('{"role": "writer", "epi')
    ok, text, _ = chaos.check_usage(root)
    assert not ok and "torn 1" in text
    script = root / "episodes" / "002" / "script.json"
    data = json.loads(script.read_text())
    script.write_text(json.dumps({**data, "title": "改过的标题"}, ensure_ascii=False))
    ok, text = chaos.check_episodes(root, 6, [])
    assert not ok and "ep 2: script.json is not revision" in text
