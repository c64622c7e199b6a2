"""Micro-drama text for sim answers: plain replies and field-aware strings inside JSON.

`DramaText` knows the answer language, the cast (names read from the prompt, then a built-in cast) and
what the prompt shows to quote and to name (`script_reading.Material`: script lines, canon lines, the
character ids it lists). Every method takes the caller's `random.Random`, so answers are reproducible.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cliffhanger.agents.sim import phrase_banks as bank
from cliffhanger.agents.sim.prompt_reading import detect_language, find_names, prompt_text
from cliffhanger.agents.sim.script_reading import Material, read_material

_KEY_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

# Field-aware string kinds, checked in order against the words of a key.
_KIND_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("location", frozenset({"location", "place", "setting", "where", "venue", "locale"})),
    ("time_of_day", frozenset({"tod", "daypart"})),
    ("emotion", frozenset({"emotion", "mood", "tone", "feeling", "expression", "attitude"})),
    ("hook", frozenset({"hook", "cliffhanger", "tease", "teaser", "twist", "reveal", "ending", "stinger"})),
    ("logline", frozenset({"logline", "premise", "summary", "synopsis", "pitch", "overview", "recap",
                           "arc", "goal", "motivation", "backstory", "outline", "theme", "conflict"})),
    ("note", frozenset({"note", "notes", "feedback", "reason", "rationale", "evidence", "explanation",
                        "comment", "critique", "suggestion", "issue", "problem", "fix", "verdict"})),
    ("line", frozenset({"line", "lines", "dialogue", "dialog", "quote", "says", "speech", "voiceover",
                        "vo", "utterance", "subtitle", "text"})),
    ("action", frozenset({"action", "description", "desc", "visual", "prompt", "beat", "direction",
                          "stage", "content", "body", "event", "scene"})),
    ("title", frozenset({"title", "headline", "caption"})),
    ("name", frozenset({"name", "speaker", "character", "characters", "protagonist", "antagonist",
                        "villain", "hero", "heroine", "lead", "who", "cast", "owner", "holder", "person"})),
    ("trait", frozenset({"trait", "traits", "personality", "appearance", "look", "descriptor", "visual_descriptor"})),
    ("sound", frozenset({"sound", "sfx", "music", "audio", "cue"})),
    ("genre", frozenset({"genre", "genres"})),
)
_CAMERA_KEYS = {"shot_size": "shot_size", "size": "shot_size", "angle": "angle", "movement": "movement",
                "camera_movement": "movement", "lens": "lens"}


def key_words(key: str | None) -> list[str]:
    """`characterId` / `character_id` -> ['character', 'id']."""
    if not key:
        return []
    return [w for w in _KEY_SPLIT.split(_CAMEL.sub("_", key).lower()) if w]


def is_id_key(key: str | None) -> bool:
    words = key_words(key)
    return bool(words) and words[-1] in ("id", "ids", "slug", "key")


@dataclass(frozen=True)
class DramaText:
    """Writes in one language with one cast."""

    language: str = "en"
    cast: tuple[str, ...] = ()
    material: Material = Material()

    @classmethod
    def from_messages(cls, messages: Iterable[dict[str, Any]]) -> DramaText:
        prompt = prompt_text(messages)
        language = detect_language(prompt)
        return cls(language, tuple(find_names(prompt, language)), read_material(prompt))

    # -- people and places -------------------------------------------------------------------
    def name(self, rng: random.Random) -> str:
        """A cast member: from the prompt when it names two or more people, else mostly the built-in cast."""
        if len(self.cast) >= 2 or (self.cast and rng.random() < 0.85):
            return rng.choice(self.cast[:4])
        return rng.choice(bank.CAST[self.language])

    def pair(self, rng: random.Random) -> tuple[str, str]:
        """Two different cast members."""
        a = self.name(rng)
        others = [n for n in self.cast[:4] if n != a] or [n for n in bank.CAST[self.language] if n != a]
        return a, rng.choice(others)

    def _short(self, name: str) -> str:
        return name if self.language == "zh" else name.split()[0]

    def _fill(self, template: str, rng: random.Random) -> str:
        a, b = self.pair(rng)
        return template.format(a=self._short(a), b=self._short(b))

    def _pick(self, table: dict[str, tuple[str, ...]], rng: random.Random) -> str:
        return self._fill(rng.choice(table[self.language]), rng)

    def line(self, rng: random.Random) -> str:
        return self._pick(bank.LINES, rng)

    def action(self, rng: random.Random) -> str:
        return self._pick(bank.ACTIONS, rng)

    def hook(self, rng: random.Random) -> str:
        return self._pick(bank.HOOKS, rng)

    def logline(self, rng: random.Random) -> str:
        return self._pick(bank.LOGLINES, rng)

    def note(self, rng: random.Random) -> str:
        return self._pick(bank.NOTES, rng)

    def location(self, rng: random.Random) -> str:
        return rng.choice(bank.LOCATIONS[self.language])

    def emotion(self, rng: random.Random) -> str:
        return rng.choice(bank.EMOTIONS[self.language])

    def time_of_day(self, rng: random.Random) -> str:
        return rng.choice(bank.TIMES[self.language])

    def title(self, rng: random.Random) -> str:
        return rng.choice(bank.TITLES[self.language])

    def trait(self, rng: random.Random) -> str:
        return rng.choice(bank.TRAITS[self.language])

    def sound(self, rng: random.Random) -> str:
        return rng.choice(bank.SOUNDS[self.language])

    def word(self, rng: random.Random) -> str:
        return rng.choice(bank.GENERIC_WORDS[self.language])

    def think(self, rng: random.Random) -> str:
        return "<think>\n" + rng.choice(bank.THINK[self.language]) + "\n</think>\n"

    def ident(self, key: str | None, rng: random.Random) -> str:
        """A snake_case id fitting the key: `character_id` -> `ethan_cole`, `scene_id` -> `scene_03`.

        A character id is one the prompt lists when it lists any (the cast of the episode, the bible's), and
        not one its canon says is dead.
        """
        words = [w for w in key_words(key) if w not in ("id", "ids", "slug", "key")]
        if words and words[0] in ("character", "char", "speaker", "person", "cast", "owner", "holder"):
            if self.material.people:
                return rng.choice(self.material.living[:12])
            name = self.name(rng)
            slug = bank.PINYIN.get(name) or re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
            if slug:
                return slug
        prefix = "_".join(words) or rng.choice(("item", "beat", "fact", "scene"))
        return f"{prefix}_{rng.randint(1, 40):02d}"

    # -- whole answers -----------------------------------------------------------------------
    def prose(self, rng: random.Random) -> str:
        """A short scene: heading, two or three exchanges, an unresolved last beat."""
        a, b = self.pair(rng)
        if self.language == "zh":
            out = [f"{rng.randint(1, 60)}-{rng.randint(1, 4)} {rng.choice(('内', '外'))} "
                   f"{self.location(rng)} {self.time_of_day(rng)}", f"人物：{a}、{b}"]
            for speaker in (a, b, a)[: rng.randint(2, 3)]:
                out.append("△" + self.action(rng))
                out.append(f"{speaker}（{self.emotion(rng)}）：{self.line(rng)}")
            out.append("△" + self.hook(rng))
            return "\n".join(out)
        out = [f"{rng.choice(('INT.', 'EXT.'))} {self.location(rng).upper()} - {self.time_of_day(rng)}"]
        for speaker in (a, b, a)[: rng.randint(2, 3)]:
            out.append(self.action(rng))
            out.append(f"{self._short(speaker).upper()}\n({self.emotion(rng)})\n{self.line(rng)}")
        out.append(self.hook(rng))
        return "\n\n".join(out)

    def for_key(self, key: str | None, rng: random.Random) -> str:
        """A string that suits a JSON field called `key`."""
        words = key_words(key)
        wordset = set(words)
        joined = "_".join(words)
        if is_id_key(key):
            return self.ident(key, rng)
        if joined in _CAMERA_KEYS:
            return rng.choice(bank.CAMERA[_CAMERA_KEYS[joined]])
        if joined == "aspect_ratio":
            return "9:16"
        if wordset & {"language", "lang", "locale"}:
            return self.language
        if "time" in wordset and ("day" in wordset or "of" in wordset):
            return self.time_of_day(rng)
        if wordset & {"email", "mail"}:
            return "writers@example.com"
        if wordset & {"url", "uri", "link", "href"}:
            return f"https://example.com/{self.ident(None, rng)}"
        for kind, vocab in _KIND_WORDS:
            if wordset & vocab:
                return self._by_kind(kind, rng)
        return self.note(rng) if rng.random() < 0.5 else self.action(rng)

    def _by_kind(self, kind: str, rng: random.Random) -> str:
        if kind == "genre":
            return rng.choice(("revenge", "CEO romance", "identity reveal", "rebirth", "family secrets"))
        return getattr(self, kind)(rng)

    def fit(self, text: str, rng: random.Random, min_len: int = 0, max_len: int | None = None) -> str:
        """`text` padded with more drama up to `min_len` and cut to `max_len` characters."""
        sep = "" if self.language == "zh" else " "
        while len(text) < min_len:
            text = text + sep + self.line(rng)
        if max_len is not None and len(text) > max_len:
            cut = text[:max_len]
            if sep and " " in cut.strip() and len(cut) < len(text) and text[len(cut)] != " ":
                cut = cut[: cut.rstrip().rfind(" ")]
            cut = cut.rstrip(" ,;:-")
            text = cut if len(cut) >= min_len else text[:max_len]
        return text
