"""Keyframes: one still per camera set-up of a scene, with the looks as of the episode; jobs start on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from season_kit import run_cli, shot_season

from cliffhanger.agents.roles.continuity import seed_canon
from cliffhanger.agents.season.artifacts import Bible
from cliffhanger.agents.season.keyframes import keyframes, starts, with_setting
from cliffhanger.agents.season.looks import LookBook
from cliffhanger.agents.season.shotlist import Shot, ShotCharacter, ShotList, shot_id
from cliffhanger.app.export_shots import jobs
from cliffhanger.memory.facts import Fact
from cliffhanger.memory.ledger import Ledger

SCAR = "thin scar across the left cheek"
MOURNING = "black mourning dress"


def scarred_season(root: Path, durations: dict[int, list[float]] | None = None) -> Path:
    """A 24-episode hand-made season (episodes 19 and 20 with shots) whose canon gives lin_wan a scar and a black
    dress in episode 20."""
    store = shot_season(root, durations or {19: [5, 5, 5, 5], 20: [5, 5, 5, 5]}, episodes=24)
    with Ledger(store.ledger_path) as ledger:
        seed_canon(ledger, store.bible())
        ledger.record_episode(20, [
            Fact(subject="lin_wan", kind="trait", attribute="scar", value=SCAR, episode=20, change=True,
                 evidence="玻璃划过她的脸。"),
            Fact(subject="lin_wan", kind="state", attribute="wardrobe", value=MOURNING, episode=20, change=True,
                 evidence="她换上了黑裙。")])
    return root


def _shot(ep: int, scene: int, n: int, who: list[ShotCharacter], *, size: str = "medium", chained: bool = False,
          **kw: object) -> dict:
    return {"episode": ep, "scene": scene, "shot_id": shot_id(ep, scene, n), "start_s": 0.0, "duration_s": 5.0,
            "shot_size": size, "angle": "eye_level", "movement": kw.get("movement", "static"), "lens": kw.get("lens", "35mm"),
            "characters": [c.model_dump() for c in who], "location": "lin_mansion_hall", "time_of_day": "night",
            "action": "She turns to face the room.", "dialogue": [], "sound": {"vo_os": None, "sfx": [], "music_cue": None},
            "on_screen_text": None, "first_frame_ref": shot_id(ep, scene, n - 1) + ":last" if chained else None,
            "last_frame_ref": shot_id(ep, scene, n) + ":last", "prompt": kw.get("prompt", "Medium shot, she turns."),
            "prompt_native": "她转身。", "negative_prompt": "extra fingers", "beat_role": "escalation"}


def _list(ep: int, shots: list[dict]) -> ShotList:
    start = 0.0
    for s in shots:
        s["start_s"], start = start, start + s["duration_s"]
    return ShotList.model_validate({"episode": ep, "target": "kling", "runtime_s": start, "shots": shots})


@pytest.fixture
def cast(sample) -> tuple[Bible, ShotCharacter, ShotCharacter]:
    bible = Bible.model_validate(sample("zh_bible"))
    return bible, ShotCharacter.from_character(bible.characters[0]), ShotCharacter.from_character(bible.characters[1])


# ---- set-ups ----------------------------------------------------------------------------------------------

def test_setup_id_groups_shots_framed_alike_and_old_shot_lists_have_it(cast) -> None:
    _, lin, gu = cast
    a = Shot.model_validate(_shot(1, 1, 1, [lin, gu]))
    assert a.setup_id.startswith("001-01-") and len(a.setup_id) == 13
    # movement, action and the order characters are listed in are not the set-up; size, lens and who are
    assert Shot.model_validate(_shot(1, 1, 5, [gu, lin], movement="push_in", lens=" 35MM ")).setup_id == a.setup_id
    assert Shot.model_validate(_shot(1, 1, 2, [lin, gu], size="close_up")).setup_id != a.setup_id
    assert Shot.model_validate(_shot(1, 1, 2, [lin, gu], lens="85mm")).setup_id != a.setup_id
    assert Shot.model_validate(_shot(1, 1, 2, [lin])).setup_id != a.setup_id
    assert Shot.model_validate(_shot(1, 2, 1, [lin, gu])).setup_id != a.setup_id  # another scene, another set-up
    # a shots.json written before set-ups existed holds no such field and reads with it
    raw = json.loads(_list(1, [_shot(1, 1, 1, [lin, gu])]).model_dump_json())
    assert "setup_id" not in json.dumps(raw)
    assert ShotList.model_validate(raw).shots[0].setup_id == a.setup_id


def test_every_scene_opening_and_every_new_setup_starts_on_a_keyframe(cast) -> None:
    bible, lin, gu = cast
    sl = _list(3, [_shot(3, 1, 1, [lin]), _shot(3, 1, 2, [lin], chained=True, movement="push_in"),  # continues
                   _shot(3, 1, 3, [gu], chained=True),  # a cut: the last frame shows another framing
                   _shot(3, 1, 4, [lin], chained=True),  # back to the first set-up
                   _shot(3, 2, 1, [lin]), _shot(3, 2, 2, [gu], size="close_up")])
    begin = starts(sl)
    frames = keyframes([sl], LookBook(bible, 3))
    s = {x.shot_id: x for x in sl.shots}
    assert [begin[i].ref for i in s] == ["kf-" + s["003-01-01"].setup_id, "003-01-01:last", "kf-" + s["003-01-03"].setup_id,
                                         "kf-" + s["003-01-01"].setup_id, "kf-" + s["003-02-01"].setup_id,
                                         "kf-" + s["003-02-02"].setup_id]
    assert [k.id for k in frames] == [f"kf-{s[i].setup_id}" for i in ("003-01-01", "003-01-03", "003-02-01", "003-02-02")]
    by_id = {k.id: k for k in frames}
    first = by_id["kf-" + s["003-01-01"].setup_id]
    assert first.shots == ("003-01-01", "003-01-02", "003-01-04") and first.starts == ("003-01-01", "003-01-04")
    assert (first.episode, first.scene, first.aspect_ratio) == (3, 1, "9:16")
    # every clip that does not continue its set-up opens on a keyframe the export has
    for shot in sl.shots:
        if begin[shot.shot_id].keyframe:
            assert shot.shot_id in by_id[begin[shot.shot_id].keyframe].starts
    # the jobs start where `starts` says, for a model that needs a start image and one that takes one
    assert [j["body"]["promptImage"] for j in jobs([sl], "runway", bible)] == [begin[i].ref for i in s]
    assert [j["body"]["image"] for j in jobs([sl], "kling", bible)] == [begin[i].ref for i in s]


def test_a_first_frame_the_user_set_is_kept(cast) -> None:
    bible, lin, _ = cast
    own = {**_shot(4, 1, 1, [lin]), "first_frame_ref": "stills/opening.png"}
    sl = _list(4, [own, _shot(4, 1, 2, [lin], chained=True)])
    assert [starts(sl)[x.shot_id].ref for x in sl.shots] == ["stills/opening.png", "004-01-01:last"]
    assert [k.starts for k in keyframes([sl], LookBook(bible, 4))] == [()]


# ---- looks as of the episode --------------------------------------------------------------------------------

def test_keyframes_hold_the_looks_as_of_their_episode(capsys, tmp_path: Path) -> None:
    season = scarred_season(tmp_path / "s")
    code, out, err = run_cli(capsys, "export", season, "--format", "keyframes", "--out", tmp_path / "kf.jsonl")
    assert code == 0, err
    frames = [json.loads(line) for line in (tmp_path / "kf.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {f["episode"] for f in frames} == {19, 20}
    lin = [f for f in frames if any(c["id"] == "lin_wan" for c in f["characters"])]
    assert {f["episode"] for f in lin} == {19, 20}
    for f in lin:
        ref = next(c for c in f["characters"] if c["id"] == "lin_wan")
        changed = f["episode"] >= 20
        assert (SCAR in f["prompt"], f"wearing {MOURNING}" in f["prompt"]) == (changed, changed), f
        assert ("grey trench coat" in f["prompt"]) is not changed
        assert "small mole under the left eye" in f["prompt"]  # the locked marks stay
        assert ref["sheet"] == ("sheet-lin_wan-v2" if changed else "sheet-lin_wan-v1")
    for f in frames:
        assert f["aspect_ratio"] == "9:16" and "Vertical 9:16" in f["prompt"]
        assert "grand marble hall, crystal chandelier" in f["prompt"] and "(interior)" in f["prompt"]
        assert f["location"] == {"id": "lin_mansion_hall", "sheet": "sheet-lin_mansion_hall", "image": None}
        assert f["image"] is None and "watermark" in f["negative_prompt"]
        assert set(f) == {"id", "episode", "scene", "setup_id", "shots", "starts", "prompt", "negative_prompt",
                          "aspect_ratio", "characters", "location", "image"}
    # each episode's shots open on a keyframe of their own set-up, and none is left without one
    shots = {(f["episode"], s) for f in frames for s in f["shots"]}
    assert len(shots) == 8


def test_location_looks_reach_every_job_prompt_of_a_season_planned_before(capsys, tmp_path: Path) -> None:
    season = tmp_path / "s"
    store = shot_season(season, {1: [5, 5, 5]})
    hall = store.bible().locations[0]
    assert all(hall.visual not in s.prompt for s in store.shots(1).shots)  # planned without it
    code, _, err = run_cli(capsys, "export", season, "--format", "jobs", "--target", "kling", "--out", tmp_path / "j")
    assert code == 0, err
    for line in (tmp_path / "j").read_text(encoding="utf-8").splitlines():
        job = json.loads(line)
        shot = next(s for s in store.shots(1).shots if s.shot_id == job["cliffhanger"]["shot_id"])
        descriptor = shot.characters[0].descriptor
        # the locked look comes after the character's descriptor, which stays first
        assert job["body"]["prompt"].startswith(descriptor)
        assert f"Setting: {hall.visual}." in job["body"]["prompt"]
        assert job["cliffhanger"]["location"]["id"] == hall.id


def test_with_setting_is_idempotent_and_leaves_one_off_places_alone(cast) -> None:
    bible, lin, _ = cast
    shot = Shot.model_validate(_shot(1, 1, 1, [lin], prompt=f"{lin.descriptor}. Medium shot, she turns."))
    once = with_setting(shot.prompt, shot, bible)
    assert once == f"{lin.descriptor}. Setting: {bible.locations[0].visual}. Medium shot, she turns."
    assert with_setting(once, shot, bible) == once
    alley = Shot.model_validate({**_shot(1, 1, 1, [lin]), "location": "a back alley"})
    assert with_setting(alley.prompt, alley, bible) == alley.prompt
