"""Genre packs: the built-ins, user packs, `extends`, exact error locations, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cliffhanger.app.cli import main
from cliffhanger.genres.errors import GenreError
from cliffhanger.genres.loader import builtin_catalog, load_catalog, user_genres_dir, validate_file
from cliffhanger.genres.pack import RUBRIC_CRITERIA

ZH = {"revenge", "ceo_romance", "rebirth", "war_god", "cute_baby", "palace", "folklore_adventure",
      "urban_suspense", "time_travel", "family_drama", "true_heiress", "era_drama", "cruel_love", "mind_reading",
      "divine_doctor", "period_sweet", "silver_romance"}
EN = {"billionaire_romance", "werewolf_romance", "mafia_romance", "revenge_us", "secret_billionaire",
      "second_chance", "secret_baby"}
PACKS_DIR = Path(__file__).resolve().parents[1] / "genres" / "packs"


def base_data() -> dict:
    return yaml.safe_load((PACKS_DIR / "revenge.yaml").read_text(encoding="utf-8"))


def write_pack(folder: Path, name: str, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def line_of(path: Path, key: str) -> int:
    return next(i for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if ln.startswith(key + ":"))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


# ---- the built-in packs ----------------------------------------------------------------------------


def test_all_required_packs_are_built_in_with_their_default_language() -> None:
    packs = builtin_catalog().packs
    assert ZH | EN <= set(packs) and len(packs) >= 24
    for pid in ZH:
        assert packs[pid].language == "zh", pid
    for pid in EN:
        assert packs[pid].language == "en", pid


def _empty_fields(value: object, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _empty_fields(v, f"{path}.{k}")]
    if isinstance(value, list | tuple):
        return [path] if not value else [p for i, v in enumerate(value) for p in _empty_fields(v, f"{path}[{i}]")]
    if path.endswith(".pattern") and value is None:  # a content-review note's pattern is optional
        return []
    if value is None or (isinstance(value, str) and not value.strip()):
        return [path]
    return []


@pytest.mark.parametrize("pid", sorted(ZH | EN))
def test_builtin_pack_is_complete_and_specific(pid: str) -> None:
    pack = builtin_catalog().packs[pid]
    # tics and moves are optional additions to the common ones (genres.cringe): empty is allowed
    assert _empty_fields(pack.model_dump(exclude={"tics", "moves"})) == []
    assert set(pack.rubric_weights) == set(RUBRIC_CRITERIA)
    assert len(pack.paywall_kinds()) >= 2 and pack.ordinary_kinds()
    assert len(pack.avoid.zh) >= 5 and len(pack.avoid.en) >= 5
    script_chars = "".join(pack.sample_loglines)
    cjk = sum("\u4e00" <= c <= "\u9fff" for c in script_chars)
    assert (cjk > len(script_chars) * 0.3) == (pack.language == "zh"), "loglines are in the pack's language"


def test_packs_differ_from_each_other() -> None:
    packs = builtin_catalog().packs.values()
    for attr in ("description", "tone"):
        values = [getattr(p, attr) for p in packs]
        assert len(set(values)) == len(values), attr
    kinds = [tuple(sorted(k.id for k in p.cliffhanger_kinds)) for p in packs]
    assert len(set(kinds)) == len(kinds), "every genre has its own set of cliffhanger kinds"


def test_typed_views_for_the_room() -> None:
    pack = builtin_catalog().get("revenge")
    assert pack.act_for(1, 60) == pack.acts[0] and pack.act_for(60, 60) == pack.acts[-1]
    acts = pack.act_of_each_episode(60)
    assert acts == sorted(acts) and acts[0] == 1 and acts[-1] == len(pack.acts)
    beats = pack.beats_for(90)
    assert beats[0].role == "hook" and beats[0].start_s == 0 and beats[0].end_s <= 10
    assert beats[-1].role == "cliffhanger" and beats[-1].end_s == 90
    strengths = [k.strength for k in pack.paywall_kinds()]
    assert strengths == sorted(strengths, reverse=True)
    assert sum(pack.normalised_weights().values()) == pytest.approx(1.0)
    with pytest.raises(KeyError, match="use one of"):
        pack.cliffhanger_kind("no_such_kind")


def test_lookup_by_name_and_unknown_genre_lists_known_ones() -> None:
    cat = builtin_catalog()
    revenge = cat.packs["revenge"]
    assert cat.get(revenge.names.zh) is revenge and cat.get(revenge.names.en.upper()) is revenge
    with pytest.raises(GenreError) as info:
        cat.get("space_opera")
    assert "unknown genre 'space_opera': known genres are" in str(info.value)
    assert all(pid in str(info.value) for pid in ZH | EN)


# ---- user packs, extends, shadowing -------------------------------------------------------------------


def test_extends_merges_mappings_and_replaces_everything_else(tmp_path: Path) -> None:
    write_pack(tmp_path, "revenge_lite", {
        "id": "revenge_lite", "extends": "revenge",
        "names": {"zh": "轻复仇", "en": "Light revenge"},
        "tone": "轻快、少血腥的复仇。",
        "paywall": {"free_episodes": 5},
        "tropes": [{"name": f"t{i}", "how_it_plays": "x"} for i in range(4)],
    })
    cat = load_catalog([tmp_path], include_user_dir=False, strict=True)
    child, parent = cat.get("revenge_lite"), cat.get("revenge")
    assert child.tone == "轻快、少血腥的复仇。" and child.names.en == "Light revenge"
    assert child.paywall.free_episodes == 5
    assert child.paywall.later_every == parent.paywall.later_every  # mapping merged key by key
    assert child.paywall.first_paywall == parent.paywall.first_paywall
    assert [t.name for t in child.tropes] == ["t0", "t1", "t2", "t3"]  # list replaced
    assert child.cliffhanger_kinds == parent.cliffhanger_kinds  # inherited
    assert cat.origins["revenge_lite"] == tmp_path / "revenge_lite.yaml"


def test_user_pack_shadows_a_builtin_only_when_asked(tmp_path: Path) -> None:
    data = base_data() | {"description": "my own revenge"}
    write_pack(tmp_path, "mine", data)
    with pytest.raises(GenreError, match="duplicate id 'revenge'.*set `shadow: true`"):
        load_catalog([tmp_path], include_user_dir=False, strict=True)
    relaxed = load_catalog([tmp_path], include_user_dir=False)
    assert relaxed.get("revenge").description != "my own revenge" and relaxed.problems
    write_pack(tmp_path, "mine", data | {"shadow": True})
    assert load_catalog([tmp_path], include_user_dir=False, strict=True).get("revenge").description == "my own revenge"


def test_user_config_dir_packs_are_loaded(tmp_path: Path) -> None:
    write_pack(user_genres_dir(), "my_genre", base_data() | {"id": "my_genre", "description": "from config dir"})
    assert load_catalog().get("my_genre").description == "from config dir"


def test_duplicate_ids_between_user_packs(tmp_path: Path) -> None:
    data = base_data() | {"id": "twin"}
    write_pack(tmp_path / "a", "twin", data)
    write_pack(tmp_path / "b", "twin2", data)
    with pytest.raises(GenreError) as info:
        load_catalog([tmp_path / "a", tmp_path / "b"], include_user_dir=False, strict=True)
    (problem,) = info.value.problems
    assert problem.startswith(f"{tmp_path / 'b' / 'twin2.yaml'}:1: id: duplicate id 'twin'") and "rename" in problem


# ---- exact error locations ------------------------------------------------------------------------


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: bad\nnames:\n  zh: 坏\n  en: [unclosed\ntone: x\n", encoding="utf-8")
    with pytest.raises(GenreError) as info:
        validate_file(path)
    assert str(info.value).startswith(f"{path}:") and "invalid YAML" in str(info.value)
    line = int(str(info.value).split(":")[1])
    assert 4 <= line <= 6


def test_missing_field_and_wrong_type_are_located(tmp_path: Path) -> None:
    data = base_data() | {"id": "broken"}
    del data["tone"]
    data["payoff_every_s"] = "often"
    data["cliffhanger_kinds"][1]["strength"] = 9
    path = write_pack(tmp_path, "broken", data)
    with pytest.raises(GenreError) as info:
        validate_file(path)
    problems = info.value.problems
    assert f"{path}:1: tone: Field required" in problems
    assert any(p.startswith(f"{path}:{line_of(path, 'payoff_every_s')}: payoff_every_s:") for p in problems)
    kinds_line = line_of(path, "cliffhanger_kinds")
    strength = [p for p in problems if "cliffhanger_kinds.1.strength" in p]
    assert len(strength) == 1 and "less than or equal to 5" in strength[0]
    assert int(strength[0].split(":")[1]) > kinds_line


def test_unknown_extends_is_located(tmp_path: Path) -> None:
    path = tmp_path / "child.yaml"
    path.write_text("id: child\nnames: {zh: 子, en: Child}\nextends: telenovela\n", encoding="utf-8")
    with pytest.raises(GenreError) as info:
        validate_file(path)
    assert str(info.value).startswith(f"{path}:3: extends: unknown pack 'telenovela': use one of")


def test_semantic_rules_are_reported(tmp_path: Path) -> None:
    data = base_data() | {"id": "wobbly"}
    data["acts"][1]["start"] = data["acts"][1]["start"] + 0.01
    data["rubric_weights"] = {k: 1.0 for k in RUBRIC_CRITERIA if k != "freshness"} | {"vibes": 2.0}
    path = write_pack(tmp_path, "wobbly", data)
    with pytest.raises(GenreError) as info:
        validate_file(path)
    text = str(info.value)
    assert "make them meet" in text and "missing freshness" in text and "unknown vibes" in text


# ---- the CLI --------------------------------------------------------------------------------------


def test_cli_list_json(capsys) -> None:
    code, out, _ = cli(capsys, "genres", "list", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and {r["id"] for r in rows} >= ZH | EN
    assert set(rows[0]) == {"id", "names", "language", "audience", "mode", "description"}
    assert set(rows[0]["names"]) == {"zh", "en"}


def test_cli_list_table_survives_a_broken_user_pack(capsys) -> None:
    folder = user_genres_dir()
    folder.mkdir(parents=True)
    (folder / "oops.yaml").write_text("id: oops\n  bad: : indent\n", encoding="utf-8")
    code, out, err = cli(capsys, "genres", "list")
    assert code == 0 and "revenge" in out
    assert "warning: skipped a broken pack" in err and "oops.yaml" in err


def test_cli_show_renders_the_pack_and_keeps_markup_literal(capsys, tmp_path: Path) -> None:
    write_pack(tmp_path, "loud", base_data() | {"id": "loud", "description": "[bold red]SHOUT[/bold red] genre"})
    code, out, _ = cli(capsys, "genres", "show", "loud", "--genres-dir", str(tmp_path))
    assert code == 0
    assert "[bold red]SHOUT[/bold red] genre" in out
    pack = builtin_catalog().get("revenge")
    assert pack.paywall_kinds()[0].id in out and "Episode beats at 90 s" in out


def test_cli_show_unknown_genre(capsys) -> None:
    code, out, err = cli(capsys, "genres", "show", "telenovela")
    assert code == 2 and out == "" and "unknown genre 'telenovela': known genres are" in err and err.count("\n") == 1


def test_cli_validate(capsys, tmp_path: Path) -> None:
    good = write_pack(tmp_path, "fine", base_data() | {"id": "fine"})
    code, out, _ = cli(capsys, "genres", "validate", str(good))
    assert code == 0 and out.startswith(f"ok: {good} is a valid genre pack (fine)")
    data = base_data() | {"id": "broken"}
    del data["audience"]
    data["language"] = "fr"
    bad = write_pack(tmp_path, "broken", data)
    code, out, err = cli(capsys, "genres", "validate", str(bad))
    assert code == 1 and "invalid: 2 problem(s)" in err
    assert f"{bad}:1: audience: Field required" in out
    assert f"{bad}:{line_of(bad, 'language')}: language:" in out
    code, _, err = cli(capsys, "genres", "validate", str(tmp_path / "nope.yaml"))
    assert code == 2 and "not found" in err


def test_every_builtin_validates_through_the_cli(capsys) -> None:
    for path in sorted(PACKS_DIR.glob("*.yaml")):
        code, out, _ = cli(capsys, "genres", "validate", str(path))
        assert code == 0, out

