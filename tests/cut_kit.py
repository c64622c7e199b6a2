"""Helpers for the subtitle and timeline tests: a hand-written season whose shots speak."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from season_kit import shot_season

from cliffhanger.agents.season.shotlist import ShotDialogue, ShotList
from cliffhanger.agents.season.store import SeasonStore

LONG_ZH = "你以为我还是三年前那个任人宰割的林晚吗？今天，我要把属于我的一切，全部拿回来！"  # 40 characters: 3 lines
HOSTILE = "a --> b\n\n2\n00:00:01,000 --> 00:00:09,000\n<i>fake</i> {\\an8}&amp; <b>x"

# episode -> shot index -> (speaker, line, start in the shot, duration)
Lines = Mapping[int, Mapping[int, Sequence[tuple[str, str, float, float]]]]

DURATIONS = {1: [3.5, 7.0, 12.0, 2.0, 9.0, 6.0], 2: [5.0, 10.0, 4.0]}
LINES: Lines = {
    1: {0: [("lin_wan", "你是谁？", 0.5, 1.5)],
        1: [("gu_yanshen", "把人放开。", 0.0, 2.0), ("lin_wan", "我回来了。", 2.5, 3.0)],
        2: [("lin_wan", LONG_ZH, 1.0, 9.0)],
        4: [("lin_xuerou", "这不可能……", 4.25, 2.5)]},
    2: {1: [("lin_wan", "今天，我要拿回属于我的一切。", 1.0, 4.0)]},
}


def speaking_season(root: Path, lines: Lines = LINES, durations: Mapping[int, list[float]] = DURATIONS,
                    roles: Mapping[int, Mapping[int, str]] | None = None, target: str = "generic") -> SeasonStore:
    """`shot_season` with `lines` spoken in its shots and `roles` (episode -> shot index -> beat_role) set."""
    store = shot_season(root, durations, target=target)
    for ep in durations:
        sl = store.shots(ep)
        assert sl is not None
        shots = []
        for i, shot in enumerate(sl.shots):
            spoken = tuple(ShotDialogue(speaker=s, line=t, emotion="cold", start_s=a, duration_s=d)
                           for s, t, a, d in lines.get(ep, {}).get(i, ()))
            role = (roles or {}).get(ep, {}).get(i, shot.beat_role)
            shots.append(shot.model_copy(update={"dialogue": spoken, "beat_role": role}))
        store.write_shots(ep, ShotList(episode=ep, target=sl.target, runtime_s=sl.runtime_s, shots=shots))
    return store


def spoken(store: SeasonStore, episode: int) -> list[tuple[float, float, str]]:
    """(start s, end s, line) of every line of an episode, from the shot list."""
    sl = store.shots(episode)
    assert sl is not None
    return [(s.start_s + d.start_s, s.start_s + d.start_s + d.duration_s, d.line) for s in sl.shots for d in s.dialogue]
