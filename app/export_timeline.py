"""An editor's timeline from the shot lists, with OpenTimelineIO: `.otio`, CMX 3600 EDL and Final Cut Pro XML.

Contracts
- One timeline per episode at `RATE` frames a second (24: Runway Gen-4 and Veo render at 24), three
  tracks: `picture` (video) holds one clip per shot, named by its shot id, `dialogue` (audio) one clip per
  spoken line (the TTS track), `subtitles` (kind "Subtitle") one clip per subtitle cue, exactly the cues of
  `export --format srt`; both named by their text, with gaps where nobody speaks. A clip's frames are cut
  from the shot list's running time, so the picture lasts the shot list's total to the frame.
- Media are not rendered yet: every picture clip has a `MissingReference` named by its shot id, the key of
  its job in `export --format jobs`; the shot's frame references (`first_frame_ref`, `last_frame_ref`) and
  the rest of what a conform needs ride in `metadata["cliffhanger"]`.
- Markers on picture clips, over the whole clip: `hook` (green) on the first hook shot, else the first
  shot (the hook is in the first seconds); `payoff` (yellow) on every payoff shot; `cliffhanger` (red) on
  the last cliffhanger shot, else the last shot. Their comments carry the arc row's opening hook, payoff
  and cliffhanger (kind, strength, hook line; the script's ending hook when the arc has no row), one line.
- The season: `season.otio`, one timeline whose single track plays the episodes' stacks one after another.
- EDL (the `cmx_3600` adapter) holds the picture track (one video track is all CMX 3600 takes), clips as
  events with the markers as `* LOC:` comments; FCP XML (`fcpx_xml`) picture and dialogue, the dialogue
  clips named by line id ('EEE-SS-NN.K') there, since that adapter puts clip names in XPath queries.
  Both adapters come with the `[edit]` extra.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.season.keyframes import starts
from cliffhanger.app.export_subtitles import Cue, episode_cues, plain

if TYPE_CHECKING:
    import opentimelineio as otio

    from cliffhanger.agents.season.artifacts import ArcPlan, ArcRow, Bible, EpisodeScript, SeasonSpec
    from cliffhanger.agents.season.shotlist import ShotList

RATE = 24
SUBTITLE_KIND = "Subtitle"  # OTIO knows Video and Audio; a track kind is any string
ADAPTERS = {"edl": ("cmx_3600", "otio_cmx3600_adapter"), "fcpxml": ("fcpx_xml", "otio_fcpx_xml_adapter")}
EDIT_EXTRA = 'pip install "cliffhanger[edit]"'
COMMENT_CHARS = 300


def _frames(seconds: float) -> int:
    return round(seconds * RATE)


def _range(start: int, duration: int) -> otio.opentime.TimeRange:
    import opentimelineio as otio

    return otio.opentime.TimeRange(otio.opentime.RationalTime(start, RATE), otio.opentime.RationalTime(duration, RATE))


def _comment(text: str) -> str:
    return plain(text)[:COMMENT_CHARS]


def _marker(name: str, color: str, frames: int, comment: str, meta: dict) -> otio.schema.Marker:
    import opentimelineio as otio

    return otio.schema.Marker(name=name, marked_range=_range(0, frames), color=color, comment=_comment(comment),
                              metadata={"cliffhanger": meta})


def _markers(shot_list: ShotList, row: ArcRow | None, script: EpisodeScript | None,
             spec: SeasonSpec) -> dict[int, list[tuple[str, str, str, dict]]]:
    """(name, colour, comment, metadata) of the markers, by the index of the shot they sit on."""
    roles = [s.beat_role for s in shot_list.shots]
    out: dict[int, list[tuple[str, str, str, dict]]] = {}
    hook = roles.index("hook") if "hook" in roles else 0
    out.setdefault(hook, []).append(("hook", "GREEN", row.opening_hook if row else "", {"beat": "hook"}))
    for i, role in enumerate(roles):
        if role == "payoff":
            meta = {"beat": "payoff", "kind": row.payoff_kind if row else None, "intensity": row.intensity if row else None}
            out.setdefault(i, []).append(("payoff", "YELLOW", row.payoff if row else "", meta))
    last = max((i for i, r in enumerate(roles) if r == "cliffhanger"), default=len(roles) - 1)
    cut = spec.episode_kind(shot_list.episode) == "cut"
    meta = {"beat": "cliffhanger", "paywall_cut": cut}
    if row is not None:
        ch = row.cliffhanger
        text = f"{ch.kind} ({ch.strength}/5): {ch.hook_line}"
        meta.update(kind=ch.kind, strength=ch.strength)
    else:
        text = script.ending_hook if script is not None else ""
    label = spec.episode_label(shot_list.episode, spec.language) if cut else ""
    out.setdefault(last, []).append(("cliffhanger", "RED", f"{label}: {text}" if label else text, meta))
    return out


def _timed_track(name: str, kind: str, items: Iterable[tuple[int, int, str, dict]]) -> otio.schema.Track:
    """A track of clips at (start frame, end frame, name, metadata), gaps between; an item that would overlap
    the one before starts where that one ends (a track plays one thing at a time)."""
    import opentimelineio as otio

    track = otio.schema.Track(name=name, kind=kind)
    at = 0
    for start, end, label, meta in items:
        start = max(start, at)
        if end <= start:
            continue
        if start > at:
            track.append(otio.schema.Gap(source_range=_range(0, start - at)))
        track.append(otio.schema.Clip(name=label, source_range=_range(0, end - start), metadata={"cliffhanger": meta}))
        at = end
    return track


def _ms_frames(ms: int) -> int:
    return round(ms * RATE / 1000)


def episode_timeline(shot_list: ShotList, spec: SeasonSpec, bible: Bible | None = None, row: ArcRow | None = None,
                     script: EpisodeScript | None = None, cues: list[Cue] | None = None) -> otio.schema.Timeline:
    """The episode's timeline (see the module's contracts)."""
    import opentimelineio as otio

    names = {c.id: c.name for c in bible.characters} if bible is not None else {}
    markers = _markers(shot_list, row, script, spec)
    picture = otio.schema.Track(name="picture", kind=otio.schema.TrackKind.Video)
    elapsed = 0.0
    begins = starts(shot_list)  # what each clip starts on, as its job does: a keyframe or the clip before
    for i, shot in enumerate(shot_list.shots):
        first, elapsed = _frames(elapsed), elapsed + shot.duration_s
        frames = _frames(elapsed) - first
        meta = {"shot_id": shot.shot_id, "scene": shot.scene, "beat_role": shot.beat_role, "duration_s": shot.duration_s,
                "setup_id": shot.setup_id, "keyframe": begins[shot.shot_id].keyframe,
                "starts_on": begins[shot.shot_id].ref,
                "first_frame_ref": shot.first_frame_ref, "last_frame_ref": shot.last_frame_ref,
                "characters": [c.id for c in shot.characters], "target": shot_list.target}
        ref = otio.schema.MissingReference(name=shot.shot_id, available_range=_range(0, frames),
                                           metadata={"cliffhanger": {"job": shot.shot_id}})
        clip = otio.schema.Clip(name=shot.shot_id, media_reference=ref, source_range=_range(0, frames),
                                metadata={"cliffhanger": meta})
        for name, color, comment, mmeta in markers.get(i, []):
            clip.markers.append(_marker(name, color, frames, comment, mmeta))
        picture.append(clip)
    lines = []
    for shot in shot_list.shots:
        for n, d in enumerate(shot.dialogue, start=1):
            start = round((shot.start_s + d.start_s) * 1000)
            end = round((shot.start_s + d.start_s + d.duration_s) * 1000)
            meta = {"line_id": f"{shot.shot_id}.{n}", "shot_id": shot.shot_id, "speaker": d.speaker,
                    "speaker_name": names.get(d.speaker, d.speaker), "emotion": d.emotion}
            lines.append((_ms_frames(start), _ms_frames(end), plain(d.line), meta))
    dialogue = _timed_track("dialogue", otio.schema.TrackKind.Audio, sorted(lines, key=lambda x: x[:2]))
    cues = episode_cues(shot_list) if cues is None else cues
    subtitles = _timed_track("subtitles", SUBTITLE_KIND, (
        (_ms_frames(c.start_ms), _ms_frames(c.end_ms), c.text, {"line_id": c.line_id, "lines": list(c.lines)})
        for c in cues))
    title = f"{spec.title} · {_episode_name(shot_list.episode, spec.language)}"
    timeline = otio.schema.Timeline(name=title, metadata={"cliffhanger": {
        "episode": shot_list.episode, "rate": RATE, "language": spec.language, "target": shot_list.target,
        "episode_kind": spec.episode_kind(shot_list.episode), "runtime_s": shot_list.runtime_s}})
    timeline.tracks.extend([picture, dialogue, subtitles])
    return timeline


def _episode_name(episode: int, language: str) -> str:
    return f"第{episode}集" if language == "zh" else f"Episode {episode}"


def season_timeline(timelines: Iterable[otio.schema.Timeline], spec: SeasonSpec) -> otio.schema.Timeline:
    """The season as one timeline: a single track of the episodes' stacks, one after another."""
    import opentimelineio as otio

    track = otio.schema.Track(name="episodes", kind=otio.schema.TrackKind.Video)
    for tl in timelines:
        stack = tl.tracks.clone()
        stack.name = tl.name
        stack.metadata["cliffhanger"] = dict(tl.metadata["cliffhanger"])
        track.append(stack)
    season = otio.schema.Timeline(name=spec.title, metadata={"cliffhanger": {"rate": RATE, "language": spec.language}})
    season.tracks.append(track)
    return season


def require_adapter(fmt: str) -> str:
    """The OTIO adapter name for `fmt`; UserError (one line, how to install it) when the `[edit]` extra is missing."""
    adapter, module = ADAPTERS[fmt]
    try:
        __import__(module)
    except ImportError:
        raise UserError(f"--format {fmt} needs the [edit] extra: {EDIT_EXTRA}") from None
    return adapter


def edl_text(timeline: otio.schema.Timeline, episode: int) -> str:
    """The picture track as a CMX 3600 EDL (titled 'EPISODE NNN': EDLs are ASCII)."""
    import opentimelineio as otio

    (picture,) = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video]
    edl = otio.schema.Timeline(name=f"EPISODE {episode:03d}", tracks=[picture.clone()])
    return otio.adapters.write_to_string(edl, "cmx_3600", rate=RATE)


def fcpxml_text(timeline: otio.schema.Timeline) -> str:
    """Picture and dialogue as Final Cut Pro XML, dialogue clips named by line id."""
    import opentimelineio as otio

    tracks = [t.clone() for t in timeline.tracks if t.kind in (otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio)]
    for track in tracks:
        if track.kind == otio.schema.TrackKind.Audio:
            for clip in track.find_clips():
                clip.name = clip.metadata["cliffhanger"]["line_id"]
    out = otio.schema.Timeline(name=timeline.name, tracks=tracks, metadata=timeline.metadata)
    return otio.adapters.write_to_string(out, "fcpx_xml")


def timeline_files(fmt: str, spec: SeasonSpec, bible: Bible | None, arc: ArcPlan | None,
                   scripts: Mapping[int, EpisodeScript], shot_lists: Iterable[ShotList]) -> Iterator[tuple[str, str]]:
    """(file name, text) per episode, '001.otio' / '001.edl' / '001.fcpxml', and for `otio` 'season.otio' last."""
    import opentimelineio as otio

    adapter = require_adapter(fmt) if fmt in ADAPTERS else "otio_json"
    timelines = []
    for sl in shot_lists:
        row = arc.rows[sl.episode - 1] if arc is not None and sl.episode <= len(arc.rows) else None
        tl = episode_timeline(sl, spec, bible, row, scripts.get(sl.episode))
        timelines.append(tl)
        if adapter == "cmx_3600":
            yield f"{sl.episode:03d}.edl", edl_text(tl, sl.episode)
        elif adapter == "fcpx_xml":
            yield f"{sl.episode:03d}.fcpxml", fcpxml_text(tl)
        else:
            yield f"{sl.episode:03d}.otio", otio.adapters.write_to_string(tl, "otio_json")
    if adapter == "otio_json" and timelines:
        yield "season.otio", otio.adapters.write_to_string(season_timeline(timelines, spec), "otio_json")
