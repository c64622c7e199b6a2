"""What the sim reads from a chat request's messages: language, character names, an embedded schema.

Only system and user messages count as the prompt. All of this is heuristic by design: it makes
the sim's answers look like they belong to the conversation, it does not understand it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

_FENCED_JSON = re.compile(r"```(?:json|JSON)\s*\n(.*?)```", re.DOTALL)
_ANY_FENCE = re.compile(r"```.*?```", re.DOTALL)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_SAYS_ZH = re.compile(
    r"中文|汉语|简体|language\W{0,3}(?:zh|chinese|cn)\b|\bin chinese\b|语言\W{0,2}(?:zh|中)", re.IGNORECASE
)
_SAYS_EN = re.compile(r"language\W{0,3}(?:en|english)\b|\bin english\b|英文|英语", re.IGNORECASE)

_ZH_NAME = r"[\u4e00-\u9fff]{2,3}"
# 名字：林晚 / 角色: 林晚、顾沉 / 主角是苏念
_ZH_LABELLED = re.compile(
    r"(?:名字|姓名|角色|人物|主角|女主|男主|反派|name)\s*(?:叫|是|为|[:：])\s*([\u4e00-\u9fff、，,/ ]{2,40})",
    re.IGNORECASE,
)
# Script lines: 林晚（冷笑）：台词
_ZH_SPEAKER = re.compile(rf"(?m)^\s*({_ZH_NAME})（[^）\n]{{1,12}}）[:：]")
_JSON_NAME = re.compile(r'"(?:name|speaker|character|full_name|display_name)"\s*:\s*"([^"\\]{2,40})"')
_EN_NAME = re.compile(r"\b([A-Z][a-z]{2,14}(?: [A-Z][a-z]{2,14})?)\b")
_ZH_STOP = frozenset(
    "场景 时间 地点 人物 角色 旁白 内景 外景 备注 要求 任务 输出 格式 语言 标题 梗概 集数 台词 动作 主角 反派".split()
)
_EN_STOP = frozenset(
    """The This That These Those There Then When Where What Which Who Whom Whose Why How And But Or Nor For
    Yet Not You Your Yours She Her Hers His Him They Them Their Our Ours Its Let Use Write Return Answer
    Give Make Keep Each Every Episode Episodes Scene Scenes Season Act Shot Shots Title Hook Cliffhanger
    Json Schema Object Array String Number Integer Boolean Null None True False Only Output Input Format
    Respond Reply Please Note Also From With Without Into Onto After Before During Now Today Tomorrow
    Night Day Dawn Dusk Int Ext Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February
    March April May June July August September October November December English Chinese Character
    Characters Name Names Genre Premise Logline Summary Mr Mrs Ms Dr Sir Madam One Two Three Four Five
    Here Just Some Any All Both Draft Critic Showrunner Writer Continuity Canon Bible Arc Plan Story
    Drama Series Properties Required Type Description Items Default Enum Title Defs Ref""".split()
)


def message_text(content: Any) -> str:
    """The text of a message's `content`: a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def prompt_text(messages: Iterable[dict[str, Any]]) -> str:
    """System, developer and user message text, joined."""
    return "\n".join(
        message_text(m.get("content"))
        for m in messages
        if isinstance(m, dict) and m.get("role") in ("system", "developer", "user")
    )


def detect_language(prompt: str) -> str:
    """'zh' when the prompt asks for Chinese or is mostly CJK, else 'en'. Code fences do not count."""
    prose = _ANY_FENCE.sub(" ", prompt)
    if _SAYS_ZH.search(prose):
        return "zh"
    if _SAYS_EN.search(prose):
        return "en"
    cjk = len(_CJK.findall(prose))
    latin = len(_LATIN_WORD.findall(prose))
    # One CJK character carries about as much as one English word.
    return "zh" if cjk > latin else "en"


def find_names(prompt: str, language: str) -> list[str]:
    """Character names the prompt mentions, most frequent first."""
    counts: Counter[str] = Counter()
    for m in _JSON_NAME.finditer(prompt):
        value = m.group(1).strip()
        if _looks_like_name(value, language):
            counts[value] += 3
    if language == "zh":
        for m in _ZH_LABELLED.finditer(prompt):
            for name in re.split(r"[、，,/ 和与及]+", m.group(1)):
                if 2 <= len(name) <= 3 and name not in _ZH_STOP:
                    counts[name] += 3
        for m in _ZH_SPEAKER.finditer(prompt):
            if m.group(1) not in _ZH_STOP:
                counts[m.group(1)] += 2
    else:
        prose = _ANY_FENCE.sub(" ", prompt)
        seen = Counter(m.group(1) for m in _EN_NAME.finditer(prose))
        for name, n in seen.items():
            words = name.split()
            if any(w in _EN_STOP for w in words):
                continue
            if n >= 2 or len(words) == 2:
                counts[name] += n
        # A first name that is only ever seen inside a full name is the same person.
        for full in [n for n in counts if " " in n]:
            first = full.split()[0]
            if first in counts:
                counts[full] += counts.pop(first)
    return [name for name, _ in counts.most_common(8)]


def _looks_like_name(value: str, language: str) -> bool:
    if language == "zh":
        return bool(re.fullmatch(_ZH_NAME, value)) and value not in _ZH_STOP
    words = value.split()
    return 1 <= len(words) <= 3 and all(w[:1].isupper() and w.replace("'", "").replace("-", "").isalpha()
                                        for w in words) and not any(w in _EN_STOP for w in words)


def embedded_schema(messages: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The last ```json block in system/user messages that looks like a JSON schema, if any."""
    found: dict[str, Any] | None = None
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user"):
            continue
        for block in _FENCED_JSON.findall(message_text(m.get("content"))):
            try:
                value = json.loads(block)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict) and ("properties" in value or "type" in value or "$defs" in value):
                found = value
    return found
