"""Shot lists out of the season folder: JSON, a production CSV, and per-clip job files for video APIs.

Contracts
- `shots_json` / `read_shots_json` round-trip ShotLists exactly (UTF-8, not ASCII-escaped).
- `shots_csv` writes one row per shot with `SHOT_COLUMNS`; `read_shots_csv(shots_csv(x)) == shot_rows(x)`
  cell for cell, whatever the text holds (commas, quotes, newlines, Chinese). Write the file as
  "utf-8-sig" if it is meant for Excel.
- Formula injection: a spreadsheet runs a cell that starts with = + - @ (or a tab / carriage return)
  as a formula, and model output can start that way. Such cells get a leading apostrophe on export,
  which spreadsheets show as text; so do cells that already start with apostrophes followed by one of
  those characters, which keeps the guard reversible. `read_shots_csv` removes exactly that apostrophe.
- `jobs(...)`/`jobs_jsonl(...)` build one request per shot for a video model's public API; nothing is
  sent. Each line is {"target", "endpoint", "body", "cliffhanger": {...}}: `body` is what the API takes,
  `cliffhanger` is our metadata (episode, shot id, timing, first/last frame, character reference
  slots for tools that take subject references, and `image_fields`, the body fields holding a season-relative image reference that the
  sender must turn into an upload, URL or base64 first). Every clip starts on an image (`keyframes.starts`):
  a scene's first shot and a cut to another camera set-up on the set-up's keyframe, a shot continuing its
  set-up on the last frame of the clip before ('001-01-02:last'), a first frame the user set on that.
  A keyframe is its image from assets.toml (`assets`) when it has one, else its id ('kf-001-01-3fa9c1', a
  still the sender makes from `export --format keyframes` first), and such ids are listed in
  `cliffhanger.missing_assets`, with reference sheets that have no image. No pinned model takes subject
  references in this endpoint, so each character's sheet (the look as of the episode) and image stay in
  `reference_images`. Prompts get the location's locked look after the descriptors (`with_setting`).
- Every body is checked against its target's schema as it is built (`validate_job`): a body that fails is a
  `JobError` naming the shot and the field, so an export writes all jobs or none.
- Durations are put on the target's clip lengths (`ShotList.for_target()`: retimed when a shot list was
  cut for another target or has off-grid shots; shots JSON/CSV with a target and the budget do the same); prompts are cut at a word boundary to the target's limit
  (the locked descriptors come first in every prompt, so they survive the cut).
- Speech: for targets that render sound (`AUDIO_TARGETS`), each prompt ends with the clip's lines,
  `Name (emotion): "line"`, and the speakers' voices (`job_prompt`); other targets' prompts carry no speech.
- `validate_job(target, body)` checks a body against a small hand-written JSON schema of that target.

Request shapes (checked against public docs with the `search` tool; "unverified" means no primary
source was available, and the shape is kept minimal and explicit)

| target   | endpoint                                   | duration field            | frame                  | prompt limit | source |
|----------|--------------------------------------------|---------------------------|------------------------|--------------|--------|
| kling    | POST /v1/videos/text2video, /image2video   | duration "5" / "10" (str) | aspect_ratio "9:16"    | 2500         | Kling API as mirrored by ComfyUI / aggregator docs |
| runway   | POST /v1/image_to_video (gen4_turbo)       | duration 5 / 10 (int)     | ratio "720:1280"       | 1000         | runwayml SDK, ComfyUI Gen4 node docs |
| sora     | POST /v1/videos (sora-2)                   | seconds "4"/"8"/"12" (str)| size "720x1280"        | 2000 (ours)  | OpenAI Videos API (SDK docs) |
| veo      | POST ...:predictLongRunning (Vertex AI)    | durationSeconds 4/6/8     | aspectRatio "9:16"     | 2000 (ours)  | Vertex AI Veo API reference |
| hailuo   | POST /v1/video_generation                  | duration 6 / 10 (int)     | follows first_frame_image; 768P | 2000 | MiniMax API as mirrored by Replicate / ComfyUI |
| wan      | POST .../video-generation/video-synthesis  | parameters.duration (int) | size "720*1280" (t2v), resolution "720P" (i2v) | 800 | DashScope docs (third-party mirrors) |
| skyreels | unverified                                 | duration 4 / 5 (int)      | aspect_ratio "9:16"    | 1500 (ours)  | no primary docs found |
| generic  | ours                                       | duration_s (number)       | aspect_ratio           | 2000         | this module |

Known gaps: Runway, Sora and Hailuo take no negative prompt (it stays in the metadata); Runway
gen4_turbo needs a start image, which every clip now has (a keyframe id until assets.toml names an image);
image fields hold at most 2,048 characters (Runway's URL limit);
Hailuo text-to-video has no aspect setting and renders vertical only from a 9:16 first frame; hosted
Wan models take 5 or 10 s clips, so the 8 s length in CLIP_LENGTHS_S["wan"] fits self-hosted Wan only.
Prompt optimisers (Hailuo `prompt_optimizer`, Wan `prompt_extend`) are off so the locked descriptors
are sent verbatim.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.season.artifacts import Bible
from cliffhanger.agents.season.keyframes import (
    character_refs,
    keyframe_id,
    location_ref,
    starts,
    with_setting,
)
from cliffhanger.agents.season.looks import LookBook
from cliffhanger.agents.season.shotlist import CLIP_LENGTHS_S, MAX_SHOT_S, Shot, ShotList, VideoTarget
from cliffhanger.agents.season.speech import Cast, speech_prompt

# ---- JSON ----------------------------------------------------------------------------------------


def shots_json(shot_lists: Iterable[ShotList]) -> str:
    """{"episodes": [ShotList dumps]} as indented UTF-8 JSON."""
    data = {"episodes": [sl.model_dump(mode="json") for sl in shot_lists]}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def read_shots_json(text: str) -> list[ShotList]:
    """The ShotLists of a `shots_json` document; ValidationError when one is invalid."""
    return [ShotList.model_validate(ep) for ep in json.loads(text)["episodes"]]


# ---- CSV -----------------------------------------------------------------------------------------

SHOT_COLUMNS: tuple[str, ...] = (
    "episode", "scene", "shot_id", "start_s", "duration_s", "beat_role", "shot_size", "angle", "movement", "lens",
    "characters", "location", "time_of_day", "action", "dialogue", "sound_vo_os", "sfx", "music_cue",
    "on_screen_text", "first_frame_ref", "last_frame_ref", "prompt", "prompt_native", "negative_prompt",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _num(x: float) -> str:
    return f"{x:g}"


def shot_row(shot: Shot) -> dict[str, str]:
    """One shot as CSV cells (before the formula guard); characters are ids joined by ';', dialogue
    is 'speaker: line | speaker: line', sfx are joined by '; '."""
    return {
        "episode": str(shot.episode), "scene": str(shot.scene), "shot_id": shot.shot_id,
        "start_s": _num(shot.start_s), "duration_s": _num(shot.duration_s), "beat_role": shot.beat_role,
        "shot_size": shot.shot_size, "angle": shot.angle, "movement": shot.movement, "lens": shot.lens,
        "characters": ";".join(c.id for c in shot.characters), "location": shot.location,
        "time_of_day": shot.time_of_day, "action": shot.action,
        "dialogue": " | ".join(f"{d.speaker}: {d.line}" for d in shot.dialogue),
        "sound_vo_os": shot.sound.vo_os or "", "sfx": "; ".join(shot.sound.sfx),
        "music_cue": shot.sound.music_cue or "", "on_screen_text": shot.on_screen_text or "",
        "first_frame_ref": shot.first_frame_ref or "", "last_frame_ref": shot.last_frame_ref or "",
        "prompt": shot.prompt, "prompt_native": shot.prompt_native, "negative_prompt": shot.negative_prompt,
    }


def shot_rows(shot_lists: Iterable[ShotList]) -> list[dict[str, str]]:
    return [shot_row(s) for sl in shot_lists for s in sl.shots]


def _needs_guard(cell: str) -> bool:
    return cell.lstrip("'").startswith(_FORMULA_START)


def guard_cell(cell: str) -> str:
    """`cell` safe to open in a spreadsheet (see the module docstring)."""
    return "'" + cell if _needs_guard(cell) else cell


def unguard_cell(cell: str) -> str:
    """The inverse of `guard_cell`."""
    return cell[1:] if cell.startswith("'") and _needs_guard(cell[1:]) else cell


def shots_csv(shot_lists: Iterable[ShotList]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(SHOT_COLUMNS)
    for row in shot_rows(shot_lists):
        writer.writerow([guard_cell(row[c]) for c in SHOT_COLUMNS])
    return out.getvalue()


def read_shots_csv(text: str) -> list[dict[str, str]]:
    """Rows of a `shots_csv` file as {column: cell}, with the formula guard removed. ValueError
    naming the missing columns when the header is not a shot list's."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    missing = [c for c in SHOT_COLUMNS if c not in (header or [])]
    if missing:
        raise ValueError(f"not a shot list CSV: missing columns {', '.join(missing)}; export it with shots_csv")
    return [{h: unguard_cell(cell) for h, cell in zip(header or [], row, strict=False)} for row in reader if row]


# ---- jobs for video APIs -------------------------------------------------------------------------

PROMPT_LIMITS: dict[str, int] = {
    "kling": 2500, "runway": 1000, "sora": 2000, "veo": 2000, "hailuo": 2000, "wan": 800, "skyreels": 1500,
    "generic": 2000,
}
NEGATIVE_LIMITS: dict[str, int] = {"kling": 2500, "veo": 2000, "wan": 500, "skyreels": 1000, "generic": 200}
MODELS: dict[str, str] = {
    "kling": "kling-v2-1-master", "runway": "gen4_turbo", "sora": "sora-2", "veo": "veo-3.0-generate-001",
    "hailuo": "MiniMax-Hailuo-02", "wan": "wan2.2-t2v-plus", "skyreels": "skyreels-v2",
}
_WAN_I2V = "wan2.2-i2v-plus"
IMAGE_LIMIT = 2048  # a URL or file in an image field; Runway's documented URL limit
# Targets whose model (as MODELS names it) renders sound with the picture: their job prompts carry the clip's
# lines (`speech.speech_prompt`); the others' clips are silent and take the lines from `export --format tts`.
# As of 2025-12: Veo 3 (veo-3.0-generate-001: dialogue, effects, ambience; Vertex AI's `generateAudio`) and
# Sora 2 (sora-2: synchronized audio with every clip). Kling 2.6 and Wan 2.5 add audio too, but the models the
# jobs name (kling-v2-1-master, wan2.2) are silent, as are Runway gen4_turbo, Hailuo 02 and SkyReels V2.
AUDIO_TARGETS: frozenset[str] = frozenset({"veo", "sora"})
# The frame each target takes for each shot aspect ratio; a ratio missing here is not offered.
FRAMES: dict[str, dict[str, str]] = {
    "kling": {"9:16": "9:16", "1:1": "1:1", "16:9": "16:9"},
    "runway": {"9:16": "720:1280", "16:9": "1280:720", "1:1": "960:960", "3:4": "832:1104"},
    "sora": {"9:16": "720x1280", "16:9": "1280x720"},
    "veo": {"9:16": "9:16", "16:9": "16:9"},
    "hailuo": {"9:16": "768P", "3:4": "768P", "1:1": "768P", "16:9": "768P"},
    "wan": {"9:16": "720*1280", "16:9": "1280*720", "1:1": "960*960", "3:4": "832*1088"},
    "skyreels": {"9:16": "9:16", "16:9": "16:9", "1:1": "1:1"},
    "generic": {"9:16": "9:16", "3:4": "3:4", "1:1": "1:1", "16:9": "16:9"},
}


def fit_prompt(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, at the last space in the second half of the cut if any."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    head, space, _ = cut.rpartition(" ")
    return (head if space and len(head) > limit // 2 else cut).rstrip(" ,;")


def _seconds(shot: Shot) -> int | float:
    return int(shot.duration_s) if float(shot.duration_s).is_integer() else shot.duration_s


def _mime(ref: str) -> str:
    ext = ref.rsplit(".", 1)[-1].lower()
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}.get(ext, "image/png")


def _body(target: str, shot: Shot, prompt: str, negative: str, image: str | None, frame: str) -> tuple[str, dict]:
    seconds = _seconds(shot)
    if target == "kling":
        body: dict[str, Any] = {"model_name": MODELS["kling"], "prompt": prompt, "negative_prompt": negative,
                                "duration": str(seconds)}
        # image-to-video takes the frame of its image; text-to-video needs the aspect ratio
        body.update({"image": image} if image else {"aspect_ratio": frame})
        return ("POST /v1/videos/image2video" if image else "POST /v1/videos/text2video"), body
    if target == "runway":
        return "POST /v1/image_to_video", {"model": MODELS["runway"], "promptImage": image or keyframe_id(shot.setup_id),
                                           "promptText": prompt, "ratio": frame, "duration": seconds}
    if target == "sora":
        body = {"model": MODELS["sora"], "prompt": prompt, "seconds": str(seconds), "size": frame}
        if image:
            body["input_reference"] = image  # sent as a multipart file upload
        return "POST /v1/videos", body
    if target == "veo":
        instance: dict[str, Any] = {"prompt": prompt}
        if image:
            instance["image"] = {"gcsUri": image, "mimeType": _mime(image)}
        return (f"POST /v1/projects/PROJECT/locations/LOCATION/publishers/google/models/{MODELS['veo']}:predictLongRunning",
                {"instances": [instance], "parameters": {"aspectRatio": frame, "durationSeconds": seconds,
                                                         "negativePrompt": negative, "sampleCount": 1,
                                                         "generateAudio": True}})
    if target == "hailuo":
        body = {"model": MODELS["hailuo"], "prompt": prompt, "duration": seconds, "resolution": frame,
                "prompt_optimizer": False}
        if image:
            body["first_frame_image"] = image
        return "POST /v1/video_generation", body
    if target == "wan":
        inp: dict[str, Any] = {"prompt": prompt, "negative_prompt": negative}
        params: dict[str, Any] = {"duration": seconds, "prompt_extend": False}
        if image:
            inp["img_url"] = image
            params["resolution"] = "720P"  # image-to-video takes its frame from the image
        else:
            params["size"] = frame
        return ("POST /api/v1/services/aigc/video-generation/video-synthesis",
                {"model": _WAN_I2V if image else MODELS["wan"], "input": inp, "parameters": params})
    if target == "skyreels":
        body = {"model": MODELS["skyreels"], "prompt": prompt, "negative_prompt": negative, "duration": seconds,
                "aspect_ratio": frame}
        if image:
            body["image"] = image
        return "POST (unverified)", body
    body = {"prompt": prompt, "prompt_native": shot.prompt_native, "negative_prompt": negative,
            "duration_s": shot.duration_s, "aspect_ratio": frame}
    if image:
        body["first_frame_image"] = image
    return "generic", body


def _image_fields(target: str, body: dict) -> list[str]:
    paths = {"kling": ["image"], "runway": ["promptImage"], "sora": ["input_reference"],
             "veo": ["instances.0.image.gcsUri"], "hailuo": ["first_frame_image"], "wan": ["input.img_url"],
             "skyreels": ["image"], "generic": ["first_frame_image"]}[target]
    return [p for p in paths if _get(body, p) is not None]


def _get(body: Any, path: str) -> Any:
    for key in path.split("."):
        if isinstance(body, list):
            body = body[int(key)] if key.isdigit() and int(key) < len(body) else None
        elif isinstance(body, dict):
            body = body.get(key)
        else:
            return None
    return body


def job_prompt(target: str, shot: Shot, cast: Cast, *, native: bool = False, text: str | None = None) -> str:
    """The shot's prompt (or `text`) cut to the target's limit; for AUDIO_TARGETS followed by the clip's speech,
    which keeps its room (the prompt is cut first, down to half the limit)."""
    limit = PROMPT_LIMITS[target]
    text = text if text is not None else shot.prompt_native if native else shot.prompt
    speech = speech_prompt(shot, cast, native=native) if target in AUDIO_TARGETS else ""
    if not speech:
        return fit_prompt(text, limit)
    return fit_prompt(f"{fit_prompt(text, max(limit - len(speech) - 1, limit // 2))} {speech}", limit)


class JobError(UserError):
    """A job that cannot be made for its target (a frame it cannot render, a body that fails its schema)."""


def jobs(shot_lists: Iterable[ShotList], target: VideoTarget, bible: Bible, *, native: bool = False,
         looks: LookBook | None = None, assets: Mapping[str, str] | None = None) -> list[dict]:
    """One job per shot for `target` (module docstring). `native` sends the script-language prompt. `looks` give
    each character's look version as of the episode (default: the bible's looks), `assets` the images of keyframe
    and sheet ids (assets.toml). JobError when a shot's aspect ratio is one the target cannot render or a body
    fails `validate_job`."""
    lists = [sl.for_target(target) for sl in shot_lists]
    looks = looks or LookBook(bible, max((sl.episode for sl in lists), default=1))
    assets = assets or {}
    cast = Cast(bible)
    out = []
    for sl in lists:
        start = starts(sl)
        for shot in sl.shots:
            frame = FRAMES[target].get(shot.aspect_ratio)
            if frame is None:
                raise JobError(f"shot {shot.shot_id} is {shot.aspect_ratio}, which {target} cannot render: "
                               f"use one of {', '.join(FRAMES[target])} or another target")
            # A character's reference image is an identity reference, not a first frame: sent as the
            # start image it would open the clip on the portrait. It stays in the metadata slots.
            refs = character_refs(shot, looks, assets)
            begin = start[shot.shot_id]
            image = assets.get(begin.keyframe, begin.keyframe) if begin.keyframe else begin.ref
            missing = [begin.keyframe] if begin.keyframe and begin.keyframe not in assets else []
            missing += [r.sheet for r in refs if r.sheet and r.image is None]
            location = location_ref(shot, bible, assets)
            missing += [location.sheet] if location and location.sheet and location.image is None else []
            text = with_setting(shot.prompt_native if native else shot.prompt, shot, bible)
            prompt = job_prompt(target, shot, cast, native=native, text=text)
            negative = fit_prompt(shot.negative_prompt, NEGATIVE_LIMITS.get(target, 200))
            endpoint, body = _body(target, shot, prompt, negative, image, frame)
            if problems := validate_job(target, body):
                raise JobError(f"shot {shot.shot_id}: its {target} job fails the request schema: {'; '.join(problems)}: "
                               "nothing was written; fix the shot or the image in assets.toml")
            out.append({"target": target, "endpoint": endpoint, "body": body, "cliffhanger": {
                "episode": shot.episode, "shot_id": shot.shot_id, "start_s": shot.start_s,
                "duration_s": shot.duration_s, "first_frame": begin.ref, "keyframe": begin.keyframe,
                "last_frame": shot.last_frame_ref, "negative_prompt": shot.negative_prompt,
                "reference_images": [{"character": r.id, "sheet": r.sheet, "image": r.image} for r in refs],
                "location": location.model_dump() if location else None, "missing_assets": missing,
                "image_fields": _image_fields(target, body)}})
    return out


def jobs_jsonl(shot_lists: Iterable[ShotList], target: VideoTarget, bible: Bible, *, native: bool = False,
               looks: LookBook | None = None, assets: Mapping[str, str] | None = None) -> str:
    """`jobs(...)` as JSON Lines, one job per line."""
    made = jobs(shot_lists, target, bible, native=native, looks=looks, assets=assets)
    return "".join(json.dumps(j, ensure_ascii=False) + "\n" for j in made)


# ---- validation ----------------------------------------------------------------------------------

def _durations(target: str, as_str: bool = False) -> list[Any]:
    values = [int(n) if float(n).is_integer() else n for n in CLIP_LENGTHS_S[target]]
    return [str(v) for v in values] if as_str else values


def _str(limit: int | None = None, **kw: Any) -> dict:
    return {"type": "string", "minLength": 1, **({"maxLength": limit} if limit else {}), **kw}


def job_schema(target: VideoTarget) -> dict:
    """A small JSON schema (type, enum, const, min/maxLength, required, properties,
    additionalProperties, items, anyRequired) of `target`'s request body."""
    p, n = PROMPT_LIMITS[target], NEGATIVE_LIMITS.get(target, 200)
    frames = sorted(set(FRAMES[target].values()))
    image = _str(IMAGE_LIMIT)
    obj = lambda props, required, **kw: {"type": "object", "properties": props, "required": required,  # noqa: E731
                                         "additionalProperties": False, **kw}
    if target == "kling":
        return obj({"model_name": _str(), "prompt": _str(p), "negative_prompt": {"type": "string", "maxLength": n},
                    "duration": {"type": "string", "enum": _durations(target, True)},
                    "aspect_ratio": {"type": "string", "enum": frames}, "image": image},
                   ["model_name", "prompt", "duration"], anyRequired=[["aspect_ratio"], ["image"]])
    if target == "runway":
        return obj({"model": {"const": "gen4_turbo"}, "promptImage": image, "promptText": _str(p),
                    "ratio": {"type": "string", "enum": frames},
                    "duration": {"type": "integer", "enum": _durations(target)}},
                   ["model", "promptImage", "promptText", "ratio", "duration"])
    if target == "sora":
        return obj({"model": _str(), "prompt": _str(p), "seconds": {"type": "string", "enum": _durations(target, True)},
                    "size": {"type": "string", "enum": frames}, "input_reference": image},
                   ["model", "prompt", "seconds", "size"])
    if target == "veo":
        instance = obj({"prompt": _str(p), "image": obj({"gcsUri": image, "mimeType": _str()}, ["gcsUri", "mimeType"])},
                       ["prompt"])
        params = obj({"aspectRatio": {"type": "string", "enum": frames},
                      "durationSeconds": {"type": "integer", "enum": _durations(target)},
                      "negativePrompt": {"type": "string", "maxLength": n}, "sampleCount": {"const": 1},
                      "generateAudio": {"type": "boolean"}},
                     ["aspectRatio", "durationSeconds", "sampleCount"])
        return obj({"instances": {"type": "array", "items": instance, "minItems": 1, "maxItems": 1},
                    "parameters": params}, ["instances", "parameters"])
    if target == "hailuo":
        return obj({"model": _str(), "prompt": _str(p), "duration": {"type": "integer", "enum": _durations(target)},
                    "resolution": {"type": "string", "enum": frames}, "prompt_optimizer": {"type": "boolean"},
                    "first_frame_image": image}, ["model", "prompt", "duration", "resolution"])
    if target == "wan":
        inp = obj({"prompt": _str(p), "negative_prompt": {"type": "string", "maxLength": n}, "img_url": image},
                  ["prompt"])
        params = obj({"duration": {"type": "integer", "enum": _durations(target)}, "prompt_extend": {"type": "boolean"},
                      "size": {"type": "string", "enum": frames}, "resolution": {"const": "720P"}},
                     ["duration"], anyRequired=[["size"], ["resolution"]])
        return obj({"model": _str(), "input": inp, "parameters": params}, ["model", "input", "parameters"])
    if target == "skyreels":
        return obj({"model": _str(), "prompt": _str(p), "negative_prompt": {"type": "string", "maxLength": n},
                    "duration": {"type": "integer", "enum": _durations(target)},
                    "aspect_ratio": {"type": "string", "enum": frames}, "image": image},
                   ["model", "prompt", "duration", "aspect_ratio"])
    return obj({"prompt": _str(p), "prompt_native": _str(p), "negative_prompt": {"type": "string", "maxLength": n},
                "duration_s": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SHOT_S},
                "aspect_ratio": {"type": "string", "enum": frames}, "first_frame_image": image},
               ["prompt", "negative_prompt", "duration_s", "aspect_ratio"])


_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
}


def _check(schema: dict, value: Any, path: str) -> list[str]:
    where = path or "body"
    if "const" in schema and value != schema["const"]:
        return [f"{where} must be {schema['const']!r}, not {value!r}"]
    if "type" in schema and not _TYPES[schema["type"]](value):
        return [f"{where} must be of type {schema['type']}, not {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where} is {value!r}; allowed: {schema['enum']}"]
    out: list[str] = []
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{where} is empty")
        if len(value) > schema.get("maxLength", len(value)):
            out.append(f"{where} is {len(value)} characters, over the {schema['maxLength']} limit")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            out.append(f"{where} must be more than {schema['exclusiveMinimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{where} must be at most {schema['maximum']}")
    if isinstance(value, list):
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
            out.append(f"{where} has {len(value)} items")
        out += [e for i, item in enumerate(value) for e in _check(schema.get("items", {}), item, f"{path}[{i}]")]
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out += [f"{where} is missing {k!r}" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties", True) is False:
            out += [f"{where} has unknown field {k!r}" for k in value if k not in props]
        groups = schema.get("anyRequired")
        if groups and not any(all(k in value for k in g) for g in groups):
            out.append(f"{where} needs one of: {' or '.join('+'.join(g) for g in groups)}")
        out += [e for k, v in value.items() if k in props for e in _check(props[k], v, f"{path}.{k}" if path else k)]
    return out


def validate_job(target: VideoTarget, body: dict) -> list[str]:
    """Problems of `body` against `job_schema(target)`; empty when it is a valid request."""
    return _check(job_schema(target), body, "")
