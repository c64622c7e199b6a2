"""A season started from an existing script: the room keeps the imported episodes and continues them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.app.cli import main

DRAMABENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "dramabench" / "dramabench_continuation_100.jsonl"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.mark.skipif(not DRAMABENCH.exists(), reason="DramaBench sample not beside the checkout")
def test_new_from_a_script_then_draft_continues_it(capsys, tmp_path: Path, sim_url: str) -> None:
    record = json.loads(DRAMABENCH.read_text(encoding="utf-8").splitlines()[0])
    script = tmp_path / "opening.fountain"
    script.write_text(record["context"], encoding="utf-8")
    root = tmp_path / "season"
    code, out, err = cli(capsys, "new", str(root), "--from", str(script), "--genre", "revenge_us", "--episodes", "5",
                         "--free", "3")
    assert code == 0, err
    store = SeasonStore.open(root)
    imported = store.accepted_episodes()
    assert imported and max(imported) < 5
    digests = {e: hashlib.sha256((store.episode_dir(e) / "script.json").read_bytes()).hexdigest() for e in imported}
    rows = json.loads((root / "plan" / "imported.json").read_text(encoding="utf-8"))["rows"]
    code, out, err = cli(capsys, "draft", str(root), "--provider", "openai-compatible", "--base-url", sim_url,
                         "--model", "sim-drama")
    assert code == 0, err
    assert store.accepted_episodes() == [1, 2, 3, 4, 5]
    for e, digest in digests.items():
        assert hashlib.sha256((store.episode_dir(e) / "script.json").read_bytes()).hexdigest() == digest
        assert store.arc().row(e).logline == rows[e - 1]["logline"]
        assert store.shots(e) is not None
    assert "Episodes accepted: 5 / 5" in (root / "report.md").read_text(encoding="utf-8")


def test_new_needs_a_logline_or_a_script(capsys, tmp_path: Path) -> None:
    code, out, err = cli(capsys, "new", str(tmp_path / "s"), "--genre", "revenge")
    assert code == 2 and "give --logline TEXT, or --from SCRIPT" in err
