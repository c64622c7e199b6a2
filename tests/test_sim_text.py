"""Reading prompts (language, names, embedded schemas) and writing drama text."""

from __future__ import annotations

import json
import random
import re

from cliffhanger.agents.sim.drama_text import DramaText
from cliffhanger.agents.sim.prompt_reading import detect_language, embedded_schema, find_names
from cliffhanger.agents.sim.wire import pieces

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_language_detection() -> None:
    assert detect_language("写一集复仇短剧，女主被赶出家门。") == "zh"
    assert detect_language("Write episode 3 of the revenge drama.") == "en"
    assert detect_language("Write episode 3. language: zh") == "zh"
    assert detect_language("Write the episode in 中文 please") == "zh"
    schema = json.dumps({"type": "object", "properties": {"title": {"type": "string"}, "logline": {"type": "string"}}})
    # A schema in a fence is English keywords; it does not turn a Chinese prompt English.
    assert detect_language("写第三集。按下面的格式回答：\n```json\n" + schema * 5 + "\n```") == "zh"


def test_english_names_from_repeated_capitalised_words() -> None:
    names = find_names("Episode 4. Ava Sterling returns. Ava slaps Marcus. Marcus laughs. The End. The gala.", "en")
    assert names[:2] == ["Ava Sterling", "Marcus"] or set(names[:2]) == {"Ava Sterling", "Marcus"}
    assert "The" not in names and "Episode" not in names


def test_chinese_names_from_labels_and_script_lines() -> None:
    assert find_names("角色：林晚、顾沉和苏念。", "zh")[:3] == ["林晚", "顾沉", "苏念"]
    assert "江柔" in find_names("女主名字叫江柔，今年二十五岁。", "zh")
    assert "周屿" in find_names("△门开了。\n周屿（冷笑）：你来晚了。\n周屿（起身）：走吧。", "zh")


def test_names_from_json_in_the_prompt() -> None:
    prompt = 'Canon: {"characters": [{"name": "Juno Reyes", "age": 29}, {"name": "Kai Moreau"}]}'
    assert set(find_names(prompt, "en")) >= {"Juno Reyes", "Kai Moreau"}
    schema_only = json.dumps({"properties": {"name": {"type": "string", "title": "Name"}}})
    assert find_names(schema_only, "en") == []


def test_embedded_schema_is_the_last_schema_like_fence() -> None:
    first = {"type": "object", "properties": {"a": {"type": "string"}}}
    last = {"$defs": {}, "properties": {"b": {"type": "integer"}}}
    messages = [
        {"role": "system", "content": "```json\n" + json.dumps(first) + "\n```"},
        {"role": "user", "content": [{"type": "text", "text": "```json\n" + json.dumps(last) + "\n```"}]},
        {"role": "user", "content": '```json\n{"example": true}\n```\n```json\nnot json\n```'},
        {"role": "assistant", "content": "```json\n" + json.dumps(first) + "\n```"},
    ]
    assert embedded_schema(messages) == last
    assert embedded_schema([{"role": "user", "content": "no fences"}]) is None


def test_prose_reads_like_a_script_in_each_language() -> None:
    zh = DramaText("zh", ("林晚", "顾沉")).prose(random.Random(1))
    assert "△" in zh and "人物：" in zh and re.search(r"(林晚|顾沉)（.+?）：", zh)
    en = DramaText("en", ("Mia Chen", "Leo Park")).prose(random.Random(1))
    assert re.match(r"(INT|EXT)\. ", en) and ("MIA" in en or "LEO" in en) and not CJK.search(en)
    assert "lorem" not in en.lower()


def test_field_aware_strings() -> None:
    text = DramaText("en", ("Mia Chen", "Leo Park"))
    rng = random.Random(3)
    assert text.for_key("speaker", rng) in ("Mia Chen", "Leo Park")
    assert re.fullmatch(r"[a-z0-9_]+", text.for_key("scene_id", rng))
    assert text.for_key("characterId", rng) in ("mia_chen", "leo_park")
    assert text.for_key("time_of_day", rng) in ("DAY", "NIGHT", "DAWN", "DUSK")
    assert text.for_key("aspect_ratio", rng) == "9:16"
    assert text.for_key("emotion", rng) in ("cold", "shocked", "furious", "restrained", "heartbroken", "smug",
                                            "panicked", "resolute", "contemptuous", "choked up")
    zh = DramaText("zh")
    for key in ("line", "action", "hook", "logline", "location", "title", "dialogue", "summary"):
        assert CJK.search(zh.for_key(key, rng)), key
    assert re.fullmatch(r"[a-z0-9_]+", zh.for_key("character_id", rng))


def test_fit_respects_lengths() -> None:
    for lang in ("en", "zh"):
        text = DramaText(lang)
        rng = random.Random(0)
        for n in (1, 5, 17, 40):
            assert 0 < len(text.fit(text.hook(rng), rng, 0, n)) <= n
        assert len(text.fit("x", rng, 200, 250)) >= 200


def test_stream_pieces_join_back() -> None:
    for text in ("Hello there,  world.\n\nAVA\n(cold)\nNo.", "林晚（冷笑）：三年前你亲手签的字，忘了吗？ ok", '{"a": [1, 2]}', ""):
        assert "".join(pieces(text)) == text
