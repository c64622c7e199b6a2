"""Cache-friendly prompts and cached-token accounting.

Each role's prompt opens with what is stable across the season's calls of that role (role brief, craft,
genre, bible essentials) and ends with this episode's material, so a provider's prompt cache serves the
opening; the sim reports cached tokens the way DeepSeek and OpenAI do, the usage log records them and
the cost prices them at the cached-input rate.
"""

from __future__ import annotations

import asyncio
import json
import string
from importlib import resources
from pathlib import Path

import httpx
import pytest
from season_kit import make_season, prompt_values, recorded_requests, run, sim_models

from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.profiles import Price, price_for
from cliffhanger.agents.llm.usage import UsageLog, read_usage, usage_summary
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.prompt_cache import MIN_HIT, UNIT, PromptCache, request_tokens, shared_prefix
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.memory.tokens import count_tokens

EPISODES = 3

# Per template: the variables that may stand before its first per-episode part (the `# ` task heading),
# all fixed for a season (or, wardrobe, changed only by canon, placed last).
STABLE: dict[str, set[str]] = {
    "writer.draft_episode.zh": {"title", "genre_name", "episodes", "runtime_s", "lift_by", "inner_voice_max", "avoid",
                                "moves", "tone", "beats_timed", "scene_guide", "bible_essentials", "locations",
                                "address", "cast", "wardrobe"},
    "writer.revise_episode.zh": {"title", "genre_name", "runtime_s", "lift_by", "inner_voice_max", "avoid", "moves",
                                 "scene_guide"},
    "critic.review.zh": {"genre_name", "weights", "avoid", "compliance"},
    "showrunner.decide": {"max_revisions"},
    "showrunner.plan_act_rows.zh": {"title", "cliffhanger_kinds", "payoff_kinds", "beats", "characters", "ladder",
                                    "cards"},
}
for _zh in [k for k in STABLE if k.endswith(".zh")]:
    STABLE[_zh[:-3] + ".en"] = STABLE[_zh]
_PLAIN = {"shots.plan": "Locked characters of this episode"}
CONTINUITY = ("continuity.extract_facts", "continuity.review")


def _template(name: str) -> str:
    return resources.files("cliffhanger.agents").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8")


def _variables(text: str) -> set[str]:
    return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(text)
            if m.group("named") or m.group("braced")}


@pytest.mark.parametrize("name", sorted(STABLE))
def test_a_templates_opening_holds_only_season_stable_fill_ins(name: str) -> None:
    text = _template(name)
    head, sep, _ = text.partition("\n# ")
    assert sep, f"{name}: no '# ' heading before this call's own material"
    assert _variables(head) <= STABLE[name], sorted(_variables(head) - STABLE[name])
    assert "episode" not in _variables(head) and "position" not in _variables(head)


@pytest.mark.parametrize("name", sorted(_PLAIN))
def test_the_shot_prompt_opens_with_its_rules(name: str) -> None:
    head = _template(name).split(_PLAIN[name])[0]
    assert len(head) > 400 and _variables(head) <= {"target", "runtime_s", "shots", "clip_lengths", "language", "look"}


@pytest.mark.parametrize("name", CONTINUITY)
def test_the_continuity_prompts_open_with_their_rules_and_the_bible(name: str) -> None:
    head, sep, _ = _template(name).partition("\n# This episode")
    assert sep and _variables(head) <= {"bible", "entities"} and len(head) > 600


# ---- the prompts a season sends --------------------------------------------------------------------

@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[SeasonStore, Path]:
    root = tmp_path_factory.mktemp("cache")
    log = root / "sim.jsonl"
    with run_in_thread(SimConfig(log_path=log, log_bodies=True)) as url:
        store = make_season(root / "s", EPISODES, free=2)
        models = sim_models(url, UsageLog(store.usage_path))
        assert run(store, models, accept_threshold=0.0).stop == "done"
    return store, log


def _first_per_episode(log: Path, schema: str, template: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for req in recorded_requests(log, schema):
        got = prompt_values(req.prompt, template)
        if got is not None:
            out.setdefault(int(got["episode"]), req.prompt)
    return out


def _common(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


@pytest.mark.parametrize(("schema", "template", "boundary", "floor"), [
    ("EpisodeScript", "writer.draft_episode.zh", "## 本集服装", 0.5),
    ("Critique", "critic.review.zh", "# 本集：第", 0.5),
    ("ExtractedFacts", "continuity.extract_facts", "Known entities", 0.5),
    ("ModelFindings", "continuity.review", "# This episode", 0.35),
])
def test_the_stable_prefix_is_byte_identical_across_episodes(season: tuple[SeasonStore, Path], schema: str,
                                                              template: str, boundary: str, floor: float) -> None:
    _, log = season
    prompts = _first_per_episode(log, schema, template)
    assert sorted(prompts) == list(range(1, EPISODES + 1))
    two, three = prompts[2], prompts[3]
    common = _common(two, three)
    # everything before the boundary is the same bytes in both episodes' prompts ...
    assert two.index(boundary) <= len(common), (template, two[len(common) - 80:len(common) + 80])
    # ... and it is a large part of the prompt
    assert count_tokens(common) / count_tokens(three) >= floor, count_tokens(common) / count_tokens(three)


def test_the_season_logs_cached_tokens_and_prices_them(season: tuple[SeasonStore, Path]) -> None:
    store, _ = season
    rows = read_usage(store.usage_path)
    total = usage_summary(rows)
    assert total.cached_in > 0 and total.by_role["writer"].cached_in > 0 and total.by_role["critic"].cached_in > 0
    assert all(0 <= r.cached_in <= r.tokens_in and r.cached_in % UNIT == 0 for r in rows)
    price = price_for("deepseek-chat", "deepseek")
    assert price is not None
    with_cache = sum(price.cost(r.tokens_in, r.tokens_out, r.cached_in) for r in rows)
    without = sum(price.cost(r.tokens_in, r.tokens_out) for r in rows)
    assert with_cache < 0.9 * without


# ---- the sim's cache and the client's accounting -----------------------------------------------------

LONG = "".join(f"第{i}条规矩：主角从不自报身份，由别人叫破；反派当众把话说死。\n" for i in range(120))


def test_the_sim_caches_the_longest_shared_prefix_in_128_token_steps_from_1024() -> None:
    cache = PromptCache()
    first = request_tokens([{"role": "user", "content": LONG + "第1集"}], "", "m")
    second = request_tokens([{"role": "user", "content": LONG + "第2集，换一个结尾"}], "", "m")
    assert cache.hit("m", first) == 0
    got = cache.hit("m", second)
    shared = shared_prefix(first, second)
    assert got == shared // UNIT * UNIT and got > 1000
    assert cache.hit("other-model", second) == 0  # per model
    short = request_tokens([{"role": "user", "content": LONG[:600]}], "", "m")
    assert UNIT * 2 < len(short) < MIN_HIT and cache.hit("m", short) == 0  # shared, but under the minimum
    small = PromptCache(max_units=4)  # least recently used units are forgotten
    small.hit("m", first)
    assert small.hit("m", second) == 0


def _client(url: str, log: UsageLog, price: Price) -> ModelClient:
    ep = EndpointConfig(provider="sim", base_url=url, model="sim-drama")
    return ModelClient("writer", ep, log, CallPolicy(backoff_base_s=0.01), prices={"sim-drama": price})


def test_a_repeated_long_prefix_is_reported_logged_and_priced_lower() -> None:
    price = Price(0.28, 0.42, 0.028)
    with run_in_thread(SimConfig()) as url:
        log = UsageLog()
        client = _client(url, log, price)
        asyncio.run(client.text([("user", LONG + "写第1集的开场。")]))
        asyncio.run(client.text([("user", LONG + "写第2集的开场，更狠。")]))
        streamed = UsageLog()

        async def stream() -> None:
            async for _ in _client(url, streamed, price).stream([("user", LONG + "写第3集。")]):
                pass

        asyncio.run(stream())
    first, second = log.records
    assert first.cached_in == 0 and second.cached_in > 1000 and second.cached_in % UNIT == 0
    assert second.cached_in < second.tokens_in
    assert second.cost_usd == pytest.approx(price.cost(second.tokens_in, second.tokens_out, second.cached_in), abs=1e-8)
    assert second.cost_usd < 0.9 * price.cost(second.tokens_in, second.tokens_out)
    assert streamed.records[0].cached_in > 1000  # the final usage chunk of a stream carries it too
    assert log.totals().cached_in == second.cached_in


def test_the_wire_carries_both_providers_fields() -> None:
    body = {"model": "sim-drama", "messages": [{"role": "user", "content": LONG}]}
    with run_in_thread(SimConfig()) as url, httpx.Client(base_url=url, timeout=30) as http:
        http.post("/chat/completions", json=body).raise_for_status()
        usage = http.post("/chat/completions", json=body).json()["usage"]
        with http.stream("POST", "/chat/completions",
                         json={**body, "stream": True, "stream_options": {"include_usage": True}}) as resp:
            chunks = [json.loads(line[6:]) for line in resp.iter_lines() if line.startswith("data: {")]
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    assert cached > 1000 and usage["prompt_cache_hit_tokens"] == cached
    assert usage["prompt_cache_miss_tokens"] == usage["prompt_tokens"] - cached
    assert chunks[-1]["usage"]["prompt_tokens_details"]["cached_tokens"] >= cached


# ---- the usage log and the price ---------------------------------------------------------------------

def test_a_usage_line_from_before_cached_tokens_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    old = {"time": "2026-01-01T00:00:00Z", "role": "writer", "episode": 3, "provider": "deepseek",
           "model": "deepseek-chat", "kind": "structured", "method": "function_calling", "tokens_in": 5000,
           "tokens_out": 900, "estimated": False, "latency_s": 2.5, "cost_usd": 0.0018, "attempts": 1,
           "retries": 0, "outcome": "ok", "prompt": "writer.draft_episode.zh@abc"}
    path.write_text(json.dumps(old) + "\n" + json.dumps({**old, "cached_in": 3200}) + "\n", encoding="utf-8")
    before, after = read_usage(path)
    assert before.cached_in == 0 and after.cached_in == 3200
    assert usage_summary([before, after]).by_role["writer"].cached_in == 3200


def test_a_price_with_and_without_a_cached_rate() -> None:
    plain = Price(0.40, 1.20)
    assert plain.cost(1_000_000, 0, cached_in=800_000) == pytest.approx(0.40)  # no cache discount: full price
    cached = Price(0.28, 0.42, 0.028)
    assert cached.cost(1_000_000, 1_000_000) == pytest.approx(0.70)
    assert cached.cost(1_000_000, 1_000_000, cached_in=800_000) == pytest.approx(0.2 * 0.28 + 0.8 * 0.028 + 0.42)
    assert cached.cost(100, 0, cached_in=500) == pytest.approx(cached.cost(100, 0, cached_in=100))  # clamped
    ds, oa = price_for("deepseek-chat", "deepseek"), price_for("gpt-4o-mini", "openai")
    assert ds is not None and ds.cached_input_per_m == pytest.approx(0.028)
    assert oa is not None and oa.cached_input_per_m == pytest.approx(0.075)


def test_a_price_override_takes_a_cached_rate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cliffhanger.app.settings import load_settings

    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CLIFFHANGER_BASE_URL", "CLIFFHANGER_MODEL"):
        monkeypatch.delenv(var, raising=False)
    config = tmp_path / "cliffhanger.toml"
    config.write_text('[prices."my-model"]\ninput_per_m = 1.0\noutput_per_m = 2.0\ncached_input_per_mtok = 0.1\n'
                      '[prices."no-cache"]\ninput_per_m = 1.0\noutput_per_m = 2.0\n', encoding="utf-8")
    prices = load_settings(config).price_overrides()
    assert prices["my-model"] == Price(1.0, 2.0, 0.1) and prices["no-cache"] == Price(1.0, 2.0)
    assert prices["my-model"].cost(1_000_000, 0, cached_in=1_000_000) == pytest.approx(0.1)


def test_deepseeks_cache_hit_field_is_read_where_langchain_does_not() -> None:
    from types import SimpleNamespace

    from openai.types import CompletionUsage

    from cliffhanger.agents.llm.failures import usage_dict
    from cliffhanger.agents.llm.usage import cached_tokens, response_usage

    msg = SimpleNamespace(usage_metadata={"input_tokens": 3000, "output_tokens": 50, "total_tokens": 3050},
                          response_metadata={"token_usage": {"prompt_tokens": 3000, "prompt_cache_hit_tokens": 2048,
                                                             "prompt_cache_miss_tokens": 952}})
    assert cached_tokens(response_usage(msg)) == 2048
    openai_style = SimpleNamespace(usage_metadata={"input_tokens": 3000, "output_tokens": 50,
                                                   "input_token_details": {"cache_read": 1024}}, response_metadata={})
    assert cached_tokens(response_usage(openai_style)) == 1024
    assert cached_tokens(response_usage(SimpleNamespace(usage_metadata=None, response_metadata={}))) == 0
    # a truncated answer's usage (read from the raw completion) carries either provider's field
    ds = CompletionUsage.model_validate({"prompt_tokens": 3000, "completion_tokens": 9, "total_tokens": 3009,
                                         "prompt_cache_hit_tokens": 2048})
    oa = CompletionUsage.model_validate({"prompt_tokens": 3000, "completion_tokens": 9, "total_tokens": 3009,
                                         "prompt_tokens_details": {"cached_tokens": 1536}})
    assert cached_tokens(usage_dict(ds)) == 2048 and cached_tokens(usage_dict(oa)) == 1536
