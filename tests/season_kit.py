"""Helpers shared by test modules (conftest puts tests/ on sys.path): seasons drafted against the sim."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.crew import RoleModel
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.role_names import ROOM_ROLES as ROLES
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.run import run_season
from cliffhanger.agents.season.artifacts import SeasonSpec
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.state import RunSettings
from cliffhanger.memory.embeddings import HashEmbedding


def make_season(root: Path, episodes: int = 12, *, language: str = "zh", genre: str = "revenge", free: int = 4,
                runtime: int = 60) -> SeasonStore:
    spec = SeasonSpec.create(title="千金归来" if language == "zh" else "The Heiress", logline="被调包的真千金回到豪门复仇。",
                             genre=genre, language=language, episodes=episodes, runtime_s=runtime, free_episodes=free)
    return SeasonStore.create(root, spec)


def sim_models(url: str, usage: UsageLog, model: str = "sim-drama", provider: str = "sim",
               policy: CallPolicy | None = None) -> dict[str, ModelClient]:
    ep = EndpointConfig(provider=provider, base_url=url, model=model)
    return {r: ModelClient(r, ep, usage, policy or CallPolicy(backoff_base_s=0.01, backoff_max_s=0.05)) for r in ROLES}


def run(store: SeasonStore, models: Mapping[str, RoleModel], **options: object):  # noqa: ANN201
    return asyncio.run(run_season(store, models, RunSettings(embedding=HashEmbedding(), **options)))


def tree_hash(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """`cliffhanger ARGS` in-process: (exit code, stdout, stderr)."""
    from cliffhanger.app.cli import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# ---- what each role was given: the sim's request log with bodies ------------------------------------------

@dataclass(frozen=True)
class Request:
    """One chat request as the sim received it: the schema it asked for, its prompt (the first user message)
    and all its messages (a retry adds the rejected answer and the problem after the prompt)."""

    schema: str | None
    prompt: str
    messages: tuple[dict, ...]


def recorded_requests(log: Path, schema: str | None = None) -> list[Request]:
    """The requests in a sim log written with `SimConfig(log_path=..., log_bodies=True)`, in arrival order;
    with `schema`, only those asking for it (EpisodeScript: writer, Critique: critic, ExtractedFacts and
    ModelFindings: continuity, Decision: showrunner)."""
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if "messages" not in rec:
            if rec.get("mode") is not None:  # a chat request logged without its body
                raise AssertionError(f"{log} was written without log_bodies=True")
            continue  # GET /v1/models, or a body the sim refused before reading it
        if schema is None or rec.get("schema") == schema:
            messages = rec["messages"]
            first = next((m for m in messages if m.get("role") == "user"), messages[0])["content"]
            if isinstance(first, list):  # content parts
                first = "\n".join(str(p.get("text", "")) for p in first if isinstance(p, dict))
            out.append(Request(rec.get("schema"), first or "", tuple(messages)))
    return out


@functools.cache
def _template_pattern(name: str) -> re.Pattern[str]:
    text = resources.files("cliffhanger.agents").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8").strip()
    parts, seen, at = [], set(), 0  # rendered prompts are stripped: so is the template
    for m in string.Template.pattern.finditer(text):
        parts.append(re.escape(text[at:m.start()]))
        at = m.end()
        var = m.group("named") or m.group("braced")
        if var is None:  # $$ or a stray $
            parts.append(re.escape(m.group(0).replace("$$", "$")))
        elif var in seen:
            parts.append(f"(?P={var})")
        else:
            seen.add(var)
            parts.append(f"(?P<{var}>.*?)")
    parts.append(re.escape(text[at:]))
    return re.compile("".join(parts), re.DOTALL)


def prompt_values(prompt: str, template: str) -> dict[str, str] | None:
    """The value each `$variable` of prompts/<template>.md took in `prompt`; None when the prompt was not
    rendered from that template. Reads the request, not the code that built it."""
    m = _template_pattern(template).fullmatch(prompt)
    return m.groupdict() if m else None


# ---- a season with shot lists, written by hand (no model): exports and the video budget ----------------------

def shot_season(root: Path, durations: Mapping[int, list[float]], *, episodes: int = 4,
                target: str = "generic") -> SeasonStore:
    """A zh season with the sample bible and, for each episode in `durations`, a script and a shot list cut for
    `target` whose shots last those seconds (bible characters in turn, the bible's first location, no dialogue)."""
    from conftest import load_sample

    from cliffhanger.agents.season.artifacts import Bible, EpisodeScript
    from cliffhanger.agents.season.shotlist import Shot, ShotCharacter, ShotList, shot_id

    bible = Bible.model_validate(load_sample("zh_bible"))
    spec = SeasonSpec.create(title="千金归来", logline="被调包的真千金回到豪门复仇。", genre="revenge", language="zh",
                             episodes=episodes, runtime_s=60, free_episodes=2)
    store = SeasonStore.create(root, spec)
    store.write_bible(bible)
    script = load_sample("zh_script")
    for ep, lengths in durations.items():
        store.write_script(ep, EpisodeScript.model_validate({**script, "episode": ep}), "Title: 千金归来\n")
        shots, start = [], 0.0
        for i, seconds in enumerate(lengths):
            who = bible.characters[i % len(bible.characters)]
            shots.append(Shot(
                episode=ep, scene=1, shot_id=shot_id(ep, 1, i + 1), start_s=start, duration_s=seconds,
                shot_size="medium", angle="eye_level", movement="static", lens="35mm",
                characters=[ShotCharacter.from_character(who)], location=bible.locations[0].id, time_of_day="night",
                action="She turns to face the room.", dialogue=[], sound={"vo_os": None, "sfx": [], "music_cue": None},
                on_screen_text=None, first_frame_ref=None, last_frame_ref=None, prompt=f"{who.visual.as_prompt()}, turns",
                prompt_native="她转身。", negative_prompt="extra fingers", beat_role="escalation"))
            start += seconds
        store.write_shots(ep, ShotList(episode=ep, target=target, runtime_s=60, shots=shots))
    return store
