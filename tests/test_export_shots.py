"""Exports of shot lists (JSON, CSV, video-API jobs) and of the season book (Markdown, HTML)."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles.shot_planner import ShotPlan, build_shot_list, plan_shots
from cliffhanger.agents.season.artifacts import ArcPlan, Bible, DialogueLine, EpisodeScript, SeasonSpec
from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S, ShotList
from cliffhanger.app.export_book import NOT_DRAFTED, season_html, season_markdown
from cliffhanger.app.export_shots import (
    PROMPT_LIMITS,
    SHOT_COLUMNS,
    guard_cell,
    jobs,
    jobs_jsonl,
    read_shots_csv,
    read_shots_json,
    shot_rows,
    shots_csv,
    shots_json,
    unguard_cell,
    validate_job,
)
from cliffhanger.genres.loader import builtin_catalog

TARGETS = list(CLIP_LENGTHS_S)
HOSTILE = "<script>alert(1)</script>"
TRICKY = 'She says, "stop"\nthen leaves; 他说：“别走，”然后离开。'


@pytest.fixture(scope="module")
def pack():
    return builtin_catalog().get("revenge")


def _shot(scene: int, characters, dialogue=(), **kw) -> dict:
    return {
        "scene": scene, "shot_size": "medium", "angle": "eye_level", "movement": "static", "lens": "35mm",
        "characters": list(characters), "action": kw.get("action", "She turns to face the room."),
        "dialogue": [{"speaker": s, "line": line, "emotion": "cold"} for s, line in dialogue],
        "sound": {"vo_os": kw.get("vo_os"), "sfx": kw.get("sfx", ["glass shatters"]), "music_cue": None},
        "on_screen_text": kw.get("on_screen_text"), "beat_role": "escalation", "duration_hint_s": 5.0,
        "prompt": kw.get("prompt", "Medium shot, she turns, crystal chandelier light, 35mm."),
        "prompt_native": "中景，她转身。", "negative_prompt": kw.get("negative_prompt", ""),
    }


def _plan(script: EpisodeScript, hostile: bool = False) -> ShotPlan:
    shots = []
    for scene in script.scenes:
        for el in scene.elements:
            if isinstance(el, DialogueLine):
                shots.append(_shot(scene.number, [el.speaker], [(el.speaker, el.line)]))
            else:
                shots.append(_shot(scene.number, scene.cast, action=el.text))
    if hostile:  # cells a spreadsheet would run, and text that breaks naive CSV
        shots[0] = _shot(1, ["lin_wan"], [("lin_wan", "=HYPERLINK(\"http://x\", \"点我\")")], action=TRICKY,
                         on_screen_text="+三年后", negative_prompt="-blurry, @mention", vo_os="@lin_wan (VO): 嗯",
                         sfx=["=1+1", "'=quoted"])
    return ShotPlan.model_validate({"shots": shots})


@pytest.fixture
def season(sample, pack):
    """A 6-episode zh season with episodes 1 and 2 drafted (2 carries hostile text) and 3-6 missing."""
    bible = Bible.model_validate(sample("zh_bible"))
    spec = SeasonSpec.create(title="真千金归来", logline="被诬陷的真千金三年后归来复仇。", genre="revenge",
                             language="zh", episodes=6, free_episodes=2, paywall_episodes=[3])
    arc_rows = sample("zh_arc")["rows"]
    extra = [{**arc_rows[1], "episode": n, "paywall": n == 3} for n in range(3, 7)]
    arc = ArcPlan.model_validate({"rows": [arc_rows[0], arc_rows[1], *extra]})
    one = EpisodeScript.model_validate(sample("zh_script"))
    data = sample("zh_script")
    data.update(episode=2, title="寿宴" + HOSTILE[:60])
    data["scenes"][0]["elements"][0]["text"] = f"林晚走进大厅。{HOSTILE}"
    two = EpisodeScript.model_validate(data)
    scripts = {1: one, 2: two}
    shots = {n: build_shot_list(_plan(s, hostile=n == 1), script=s, bible=bible, spec=spec, pack=pack,
                                target="kling") for n, s in scripts.items()}
    return spec, bible, arc, scripts, shots


# ---- JSON and CSV --------------------------------------------------------------------------------

def test_json_parses_back_into_equal_shot_lists(season) -> None:
    *_, shots = season
    originals = list(shots.values())
    text = shots_json(originals)
    assert "林晚" in text and json.loads(text)["episodes"][0]["episode"] == 1
    assert read_shots_json(text) == originals


def test_csv_round_trips_every_cell(season) -> None:
    *_, shots = season
    originals = list(shots.values())
    rows = read_shots_csv(shots_csv(originals))
    assert rows == shot_rows(originals)
    assert list(rows[0]) == list(SHOT_COLUMNS)
    assert len(rows) == sum(len(sl.shots) for sl in originals)
    first = rows[0]
    assert first["action"] == TRICKY  # commas, quotes, newline and Chinese survive
    assert first["dialogue"].startswith("lin_wan: =HYPERLINK")
    assert first["characters"] == "lin_wan"
    assert "lin_wan;lin_xuerou" in {r["characters"] for r in rows}
    assert first["sfx"] == "=1+1; '=quoted"


def test_csv_guards_formula_cells(season) -> None:
    *_, shots = season
    text = shots_csv(shots.values())
    import csv
    import io

    raw = list(csv.reader(io.StringIO(text, newline="")))
    header, first = raw[0], dict(zip(raw[0], raw[1], strict=True))
    assert header == list(SHOT_COLUMNS)
    assert first["on_screen_text"] == "'+三年后"
    assert first["negative_prompt"] == "'-blurry, @mention"
    assert first["sound_vo_os"] == "'@lin_wan (VO): 嗯"
    assert first["sfx"] == "'=1+1; '=quoted"
    for row in raw[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


@pytest.mark.parametrize("cell", ["=1", "+1", "-x", "@a", "\tx", "'=1", "''+2", "'plain", "plain", "", "'", "-"])
def test_formula_guard_is_reversible(cell) -> None:
    guarded = guard_cell(cell)
    assert not guarded.startswith(("=", "+", "-", "@", "\t"))
    assert unguard_cell(guarded) == cell


def test_read_csv_rejects_a_foreign_header() -> None:
    with pytest.raises(ValueError, match="missing columns"):
        read_shots_csv("a,b\n1,2\n")


# ---- jobs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", TARGETS)
def test_jobs_are_valid_requests_on_the_target_grid(season, target) -> None:
    _, bible, _, _, shots = season
    lines = jobs_jsonl(shots.values(), target, bible).splitlines()
    # one job per clip: a shot longer than the target's longest clip is several (ShotList.for_target)
    assert len(lines) == sum(len(sl.for_target(target).shots) for sl in shots.values()) >= len(shots)
    lengths = CLIP_LENGTHS_S[target]
    for line in lines:
        job = json.loads(line)
        assert set(job) == {"target", "endpoint", "body", "cliffhanger"}
        assert validate_job(target, job["body"]) == [], job
        meta = job["cliffhanger"]
        assert {"episode", "shot_id", "reference_images"} <= set(meta)
        assert all(set(r) == {"character", "sheet", "image"} for r in meta["reference_images"])
        if lengths:
            assert any(abs(meta["duration_s"] - n) < 0.01 for n in lengths)
        assert "cliffhanger" not in job["body"]
    body = json.loads(lines[0])["body"]
    prompt = {"runway": "promptText"}.get(target, "prompt")
    text = body["instances"][0]["prompt"] if target == "veo" else body["input"]["prompt"] if target == "wan" else body[prompt]
    assert len(text) <= PROMPT_LIMITS[target]


def test_job_shapes_follow_each_api(season) -> None:
    _, bible, _, _, shots = season
    sl = [shots[1]]
    first, second = shots[1].shots[:2]
    assert first.scene == second.scene and first.setup_id != second.setup_id  # a cut within the scene
    kling = jobs(sl, "kling", bible)
    assert kling[0]["body"]["image"] == f"kf-{first.setup_id}" and kling[0]["body"]["duration"] in ("5", "10")
    assert kling[1]["body"]["image"] == f"kf-{second.setup_id}"  # a cut starts on its set-up's keyframe
    assert kling[1]["endpoint"].endswith("image2video") and kling[1]["cliffhanger"]["image_fields"] == ["image"]
    runway = jobs(sl, "runway", bible)[0]["body"]
    assert runway["model"] == "gen4_turbo" and runway["ratio"] == "720:1280" and runway["duration"] in (5, 10)
    assert runway["promptImage"] == f"kf-{first.setup_id}"
    sora = jobs(sl, "sora", bible)[0]["body"]
    assert sora["model"] == "sora-2" and sora["seconds"] in ("4", "8", "12") and sora["size"] == "720x1280"
    veo = jobs(sl, "veo", bible)[1]["body"]
    assert veo["parameters"]["aspectRatio"] == "9:16" and veo["parameters"]["sampleCount"] == 1
    assert veo["instances"][0]["image"]["gcsUri"] == f"kf-{second.setup_id}"
    hailuo = jobs(sl, "hailuo", bible)[0]["body"]
    assert hailuo["duration"] in (6, 10) and hailuo["prompt_optimizer"] is False
    wan = jobs(sl, "wan", bible)
    assert wan[0]["body"]["parameters"]["resolution"] == "720P" and "img_url" in wan[1]["body"]["input"]


def test_native_prompts_and_long_prompts_are_cut_at_a_word(season) -> None:
    _, bible, _, _, shots = season
    native = jobs([shots[1]], "kling", bible, native=True)
    shot, hall, body = shots[1].shots[0], bible.locations[0], "中景，她转身。"
    assert shot.location == hall.id and hall.visual not in shot.prompt_native and shot.prompt_native.endswith(body)
    head = shot.prompt_native.removesuffix(body)  # the descriptors, then the planner's text
    # the location's locked look comes right after the descriptors, in every prompt
    assert native[0]["body"]["prompt"] == f"{head}Setting: {hall.visual}. {body}"
    for job in jobs([shots[1]], "wan", bible):
        assert len(job["body"]["input"]["prompt"]) <= PROMPT_LIMITS["wan"]


@pytest.mark.parametrize(("target", "body", "fragment"), [
    ("kling", {"model_name": "k", "prompt": "p", "duration": "6"}, "allowed"),
    ("kling", {"model_name": "k", "prompt": "p", "duration": "5"}, "needs one of"),
    ("runway", {"model": "gen4_turbo", "promptImage": "a.png", "promptText": "x" * 1001, "ratio": "720:1280",
                "duration": 5}, "over the 1000 limit"),
    ("sora", {"model": "sora-2", "prompt": "p", "seconds": 8, "size": "720x1280"}, "type string"),
    ("veo", {"instances": [{"prompt": "p"}], "parameters": {"aspectRatio": "4:3", "durationSeconds": 8,
                                                           "sampleCount": 1}}, "parameters.aspectRatio"),
    ("hailuo", {"model": "m", "prompt": "p", "duration": 6}, "missing 'resolution'"),
    ("wan", {"model": "m", "input": {"prompt": "p"}, "parameters": {"duration": 5, "extra": 1}}, "unknown field"),
    ("generic", {"prompt": "p", "negative_prompt": "", "duration_s": 0, "aspect_ratio": "9:16"}, "more than 0"),
])
def test_validate_job_reports_bad_bodies(target, body, fragment) -> None:
    problems = validate_job(target, body)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize("target", ["sora", "hailuo"])
async def test_jobs_from_a_plan_through_the_sim(sample, pack, sim_url, tmp_path, target) -> None:
    bible = Bible.model_validate(sample("en_bible"))
    script = EpisodeScript.model_validate(sample("en_script"))
    spec = SeasonSpec.create(title="T", logline="Someone wants something.", genre="revenge", language="en")
    client = ModelClient("shots", EndpointConfig(provider="sim", base_url=sim_url, model="sim-drama"),
                         UsageLog(tmp_path / "usage.jsonl"))
    shots, _ = await plan_shots(client, script=script, bible=bible, spec=spec, pack=pack, target=target)
    for job in jobs([shots], target, bible):
        assert validate_job(target, job["body"]) == []
    # a list cut for one target is retimed onto another's clip lengths
    for job in jobs([shots], "kling", bible):
        assert validate_job("kling", job["body"]) == [] and job["cliffhanger"]["duration_s"] in (5, 10)
    assert ShotList.model_validate(json.loads(shots_json([shots]))["episodes"][0]) == shots


# ---- the book ------------------------------------------------------------------------------------

class _Strict(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.add(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()

    def handle_data(self, data) -> None:
        self.text.append(data)


def test_html_is_self_contained_escaped_and_complete(season) -> None:
    spec, bible, arc, scripts, shots = season
    page = season_html(spec, bible, arc, scripts, shots)
    parser = _Strict()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert "script" not in parser.tags and "<script" not in page.lower()
    assert not {"link", "img", "iframe", "object"} & parser.tags and "src=" not in page and 'href="http' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    text = "".join(parser.text)
    assert HOSTILE in text  # shown as text
    assert spec.title in text and spec.logline in text
    for script in scripts.values():
        assert script.title in text
    for c in bible.characters:
        assert c.name in text and c.visual.as_prompt() in text
    for n in range(3, 7):
        assert f'id="ep-{n}" class="missing"><h2>Episode {n}</h2><p>{NOT_DRAFTED}' in page
    assert "卡点集" in text and "付费首集" in text and "免费集" in text  # the one paywall vocabulary
    assert arc.rows[0].cliffhanger.kind in text
    assert "△ " in text and "林雪柔（捂着脖子）" in text  # zh screenplay layout
    assert shots[1].shots[0].shot_id in text


def test_html_for_an_english_season_without_shots(sample) -> None:
    bible = Bible.model_validate(sample("en_bible"))
    script = EpisodeScript.model_validate(sample("en_script"))
    spec = SeasonSpec.create(title="Gilded <Cage>", logline="A waitress & a heir.", genre="revenge", language="en",
                             episodes=3, mode="ad")
    page = season_html(spec, bible, None, [script], [])
    parser = _Strict()
    parser.feed(page)
    assert parser.errors == [] and "Gilded &lt;Cage&gt;" in page and "A waitress &amp; a heir." in page
    assert "shots not planned yet" in page and "arc is not planned yet" in page
    speaker = script.dialogue()[0]
    assert f'<p class="cue">{bible.character(speaker.speaker).name.upper()}' in page


def test_markdown_book(season) -> None:
    spec, bible, arc, scripts, shots = season
    md = season_markdown(spec, bible, arc, scripts, shots)
    assert md.startswith(f"# {spec.title}")
    assert "<script" not in md and "&lt;script>" in md
    assert "**付费首集**" in md and "**卡点集**" in md
    for n in range(3, 7):
        assert f"## Episode {n}: {NOT_DRAFTED}" in md
    for c in bible.characters:
        assert c.name in md
    table = [ln for ln in md.splitlines() if ln.startswith(f"| {shots[1].shots[0].shot_id} ")]
    assert len(table) == 1 and "\n" not in table[0]
