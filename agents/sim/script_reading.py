"""What a prompt shows the sim that it can quote: the lines of a script, canon lines, and the characters
it lists by id.

A script is read in the form the room renders it for models (`agents/continuity.py` `script_text`):

    Scene 2 (5-2) INT 订婚宴会厅, night; cast: lin_wan, gu_chen
      △ 水晶灯忽然闪了一下。
      lin_wan (冷笑) [OS]: 你确定，是我拿的？
    Ending hook: 门外有人敲门。

or its Chinese rendering for a Chinese season (`第2场（5-2）内 订婚宴会厅，夜；出场：lin_wan, gu_chen`,
`lin_wan（冷笑）[OS]：你确定，是我拿的？`, `结尾钩子：门外有人敲门。`), and, failing that, in the Chinese script form (`1-2 内 宴会厅 夜`, `△动作`, `林晚（冷笑）：台词`). Canon lines
are the `- ` bullets that follow a line naming the canon (`Canon as of ...`, `## 正典`); those that say a
character is dead (`林晚: status = dead`), like the checker's notes (`lin_wan died in ep 2`), mark who may
no longer act. Characters come from
a bare list of ids (`lin_wan, gu_chen`), bible lines (`lin_wan 林晚 (protagonist, 24): ...`), locked-look lines
(`- lin_wan (林晚 / Lin Wan): ...`), entity lines (`lin_wan: 林晚, 晚晚`) and the script's speakers and casts.

Pure functions of the prompt text: the same prompt always reads the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from cliffhanger.genres.ids import ID_BODY as _ID
from cliffhanger.genres.ids import is_id

_SCENE = re.compile(rf"^Scene (\d+) \([^)\n]*\) (?:INT/EXT|INT|EXT) (.*), ([^,;\n]*); cast: ((?:{_ID}(?:, )?)*|none)\s*$")
_ACTION = re.compile(r"^\s+△ ?(.*\S)\s*$")
_SPEECH = re.compile(rf"^\s+({_ID})(?: \((.*?)\))?(?: \[(OS|VO)\])?: (.*\S)\s*$")
_HOOK = re.compile(r"^Ending hook: (.*\S)\s*$")
# The same rendering for a Chinese season: 第2场（5-2）内 宴会厅，夜；出场：lin_wan / lin_wan（冷笑）[OS]：台词 / 结尾钩子：...
_SCENE_ZH = re.compile(rf"^第(\d+)场（[^）\n]*）(?:内/外|内|外) (.*)，([^，；\n]*)；出场：((?:{_ID}(?:, )?)*|无)\s*$")
_SPEECH_ZH = re.compile(rf"^\s+({_ID})(?:（(.*?)）)?(?:\[(OS|VO)\])?：(.*\S)\s*$")
_HOOK_ZH = re.compile(r"^结尾钩子：(.*\S)\s*$")
# The Chinese script form: 1-2 内 宴会厅 夜 / △动作 / 林晚（冷笑）：台词
_ZH_SCENE = re.compile(r"^\s*(\d{1,3})-(\d{1,2})\s+(?:内|外|内外)\s+(\S+)")
_ZH_ACTION = re.compile(r"^\s*△\s*(.*\S)\s*$")
_ZH_SPEECH = re.compile(r"^\s*([\u4e00-\u9fff]{2,4})(?:（[^）\n]{0,30}）)?(?:\[(OS|VO)\])?[：:]\s*(.*\S)\s*$")
_CANON_HEAD = re.compile(r"canon|正典", re.IGNORECASE)
_BULLET = re.compile(r"^- (.*\S)\s*$")
_ID_LIST = re.compile(rf"^\s*{_ID}(?:\s*,\s*{_ID})*\s*$")
# `id name (role, age): ...`, or a Chinese prompt's `id 名字（角色，年龄）：...`
_BIBLE_LINE = re.compile(rf"^({_ID}) ([^()（）\n]{{1,40}}?)(?: \([^()\n]*\): |（[^（）\n]*）：)")
_LOOK_LINE = re.compile(rf"^- ({_ID}) \(([^()\n]*)\): ")
_ENTITY_LINE = re.compile(rf"^({_ID}): (.*\S)\s*$")
_SENTENCE = re.compile(r"[。，,.!?！？；;：:]")

# A character dies in this line (action lines and the ending hook only: what the camera shows).
_DEATH = re.compile(
    r"再也没有醒来|没了气息|断了气|咽了气|当场身亡|坠楼身亡|身亡|去世|死去|死了"
    r"|\b(?:dies|died|is dead|lies dead|falls dead|drops dead|never wakes|stops breathing|breathes (?:his|her) last)\b",
    re.IGNORECASE,
)
# Canon that a character is dead: a state line (`林晚: status = dead`, `... status is now dead`, a Chinese
# season's `林晚：status = 已死`, `林晚：status 变为 已死`) or the checker's note (`lin_wan died in ep 2 but acts in ep 4`).
_DEAD_STATE = re.compile(r"\bstatus(?: is now| =|:| 变为)\s*(?:dead\b|已死)", re.IGNORECASE)
_DIED_NOTE = re.compile(rf"(?<![a-z0-9_])({_ID}) died in ep\b")
_NOT_DEATH = re.compile(r"死亡证明|假死|没死|装死|death certificate|faked (?:his|her) death|not dead", re.IGNORECASE)


@dataclass(frozen=True)
class ScriptLine:
    """One element of a script as the prompt shows it. `text` is verbatim: the spoken words or the action."""

    scene: int
    text: str
    speaker: str | None = None  # who speaks it (an id, or a name in the Chinese form); None for action
    delivery: str | None = None  # 'OS', 'VO' or None (spoken on screen)
    cast: tuple[str, ...] = ()  # the scene's cast
    location: str = ""  # the scene's location

    @property
    def heard_here(self) -> bool:
        """Spoken by someone in the scene: on screen or off screen, not a voice-over."""
        return self.speaker is not None and self.delivery != "VO"


@dataclass(frozen=True)
class Material:
    """What the prompt gives to quote and to name."""

    script: tuple[ScriptLine, ...] = ()
    canon: tuple[str, ...] = ()
    people: tuple[str, ...] = ()  # character ids the prompt lists, in order of appearance
    names: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())  # (id, the names the prompt gives it)
    dead: tuple[str, ...] = ()  # character ids the prompt's canon or notes say are dead

    @property
    def living(self) -> tuple[str, ...]:
        """The people who may still act: the dead stay out of a draft (unless no one else is listed)."""
        return tuple(p for p in self.people if p not in self.dead) or self.people

    def __bool__(self) -> bool:
        return bool(self.script or self.canon or self.people)

    def mentioned(self, text: str) -> list[str]:
        """Ids of the characters a line names (by id or by a name the prompt gives), people first."""
        found: list[str] = []
        for cid, names in self.names:
            if cid in found:
                continue
            if re.search(rf"(?<![a-z0-9_]){re.escape(cid)}(?![a-z0-9_])", text) or any(
                    _names_in(n, text) for n in names):
                found.append(cid)
        people = set(self.people)
        return sorted(found, key=lambda c: c not in people)

    def dies_in(self, line: ScriptLine) -> list[str]:
        """Characters an action line (or the ending hook) shows dying."""
        if line.speaker is not None or not _DEATH.search(line.text) or _NOT_DEATH.search(line.text):
            return []
        return self.mentioned(line.text)


def _names_in(name: str, text: str) -> bool:
    if re.search(r"[\u4e00-\u9fff]", name):
        return len(name) >= 2 and name in text
    words = [name, name.split()[0]] if " " in name else [name]
    return any(len(w) >= 3 and re.search(rf"\b{re.escape(w)}\b", text) for w in words)


def _usable_name(name: str) -> bool:
    """A name, not a sentence that happens to sit in an alias list."""
    name = name.strip()
    return 0 < len(name) <= 20 and not _SENTENCE.search(name)


def read_material(prompt: str) -> Material:
    lines = prompt.splitlines()
    script = _rendered_script(lines) or _zh_script(lines)
    people: dict[str, None] = {}
    names: dict[str, list[str]] = {}

    def named(cid: str, found: list[str]) -> None:
        names.setdefault(cid, [])
        names[cid] += [n.strip() for n in found if _usable_name(n) and n.strip() not in names[cid]]

    for line in lines:
        if _ID_LIST.match(line) and "_" in line:
            for cid in re.split(r"\s*,\s*", line.strip()):
                people.setdefault(cid)
        elif m := _BIBLE_LINE.match(line):
            people.setdefault(m.group(1))
            named(m.group(1), [m.group(2)])
        elif m := _LOOK_LINE.match(line):
            people.setdefault(m.group(1))
            named(m.group(1), m.group(2).split(" / "))
        elif (m := _ENTITY_LINE.match(line)) and "_" in m.group(1):
            named(m.group(1), m.group(2).split(", "))
    for sl in script:
        for cid in (*sl.cast, *([sl.speaker] if sl.speaker else [])):
            if is_id(cid):
                people.setdefault(cid)
                names.setdefault(cid, [])
    canon = tuple(_canon(lines))
    material = Material(script=tuple(script), canon=canon, people=tuple(people),
                        names=tuple((cid, tuple(ns)) for cid, ns in names.items()))
    dead = dict.fromkeys(_DIED_NOTE.findall(prompt))
    for line in canon:
        if m := _DEAD_STATE.search(line):
            # The subject is the head's first name: the lore index writes `name / alias / alias: status ...`,
            # and an alias may itself name other people.
            dead.update(dict.fromkeys(material.mentioned(line[: m.start()].split(" / ")[0])))
    return replace(material, dead=tuple(dead)) if dead else material


def _rendered_script(lines: list[str]) -> list[ScriptLine]:
    out: list[ScriptLine] = []
    scene: tuple[int, tuple[str, ...], str] | None = None
    for line in lines:
        if m := _SCENE.match(line) or _SCENE_ZH.match(line):
            cast = () if m.group(4) in ("none", "无") else tuple(c.strip() for c in m.group(4).split(",") if c.strip())
            scene = (int(m.group(1)), cast, m.group(2).strip())
        elif scene is None:
            continue
        elif m := _ACTION.match(line):
            out.append(ScriptLine(scene[0], m.group(1), None, None, scene[1], scene[2]))
        elif m := _SPEECH.match(line) or _SPEECH_ZH.match(line):
            out.append(ScriptLine(scene[0], m.group(4), m.group(1), m.group(3), scene[1], scene[2]))
        elif m := _HOOK.match(line) or _HOOK_ZH.match(line):
            out.append(ScriptLine(scene[0], m.group(1), None, None, scene[1], scene[2]))
            scene = None
        elif line.strip():
            scene = None  # the script block ended
    return out


def _zh_script(lines: list[str]) -> list[ScriptLine]:
    out: list[ScriptLine] = []
    number, where = 1, ""
    for line in lines:
        if m := _ZH_SCENE.match(line):
            number, where = int(m.group(2)), m.group(3)
        elif m := _ZH_ACTION.match(line):
            out.append(ScriptLine(number, m.group(1), None, None, (), where))
        elif (m := _ZH_SPEECH.match(line)) and out:  # a speech only counts once the script has begun
            out.append(ScriptLine(number, m.group(3), m.group(1), m.group(2), (), where))
    return out


def _canon(lines: list[str]) -> list[str]:
    """Bullets after a line that names the canon, until the first line that is neither a bullet, a heading
    nor blank."""
    out: list[str] = []
    inside = False
    for line in lines:
        stripped = line.strip()
        if _CANON_HEAD.search(line) and not _BULLET.match(line):
            inside = True
        elif not inside:
            continue
        elif m := _BULLET.match(line):
            out.append(m.group(1))
        elif stripped and not stripped.startswith("#"):
            inside = False
    return out
