"""What the per-call overhead cuts (issue 19) must not change: the direct request path sends langchain's
request and reads the answer as langchain would; remembered reads (ledger, store, lore) see every change;
the lore written in a thread is in before any read of it, and a kill before it is written is repaired."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from pathlib import Path

import httpx2
import pytest

from cliffhanger.agents.errors import ModelError
from cliffhanger.agents.llm.client import ModelClient, _with_schema_prompt
from cliffhanger.agents.llm.direct import answer_of, message_text
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.failures import NotChatCompletion
from cliffhanger.agents.llm.usage import UsageLog, UsageRecord, _totals
from cliffhanger.agents.season.artifacts import Critique, WriterBrief
from cliffhanger.agents.season.store_io import ModelReader, SeasonError
from cliffhanger.memory.embeddings import HashEmbedding
from cliffhanger.memory.facts import Entity, Fact
from cliffhanger.memory.ledger import Doc, Ledger
from cliffhanger.memory.lore import PENDING, LoreIndex


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_the_direct_path_sends_what_with_structured_output_sent(sim_url: str, method: str) -> None:
    sent: list[dict[str, object]] = []
    original = httpx2.AsyncClient.send

    async def spy(self: httpx2.AsyncClient, request: httpx2.Request, **kw: object) -> httpx2.Response:
        sent.append(json.loads(request.content))
        return await original(self, request, **kw)

    ep = EndpointConfig(provider="sim", base_url=sim_url, model="sim-drama", structured_method=method, seed=3,
                        max_tokens=900)
    client = ModelClient("critic", ep, UsageLog())
    history = [("system", "你是评论家。"), ("user", "点评第3集。")]

    async def both() -> None:
        asked = _with_schema_prompt(history, Critique) if method == "json_mode" else history  # as structured() asks
        await client._structured_runnable(Critique).ainvoke(asked)  # langchain's own path, as before
        await client.structured(Critique, history, episode=3)

    httpx2.AsyncClient.send = spy  # type: ignore[method-assign]
    try:
        asyncio.run(both())
    finally:
        httpx2.AsyncClient.send = original  # type: ignore[method-assign]
    assert len(sent) == 2 and sent[0] == sent[1]
    assert client.usage.records[0].outcome in ("ok", "repaired") and client.usage.records[0].tokens_in > 0


def test_answers_are_read_as_langchain_read_them() -> None:
    args = '{"a": 1, "b": "林"}'
    assert message_text({"content": None, "tool_calls": [{"function": {"name": "X", "arguments": args}}]}) \
        == json.dumps(json.loads(args), ensure_ascii=False)
    broken = '{"a": 1'
    assert message_text({"tool_calls": [{"function": {"name": "X", "arguments": broken}}]}) == broken
    assert message_text({"tool_calls": [{"function": {"name": "X", "arguments": ""}}]}) == "{}"
    assert message_text({"content": "<think>x</think>{}"}) == "<think>x</think>{}"
    answer = answer_of({"choices": [{"message": {"content": "{}"}, "finish_reason": "length"}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "prompt_cache_hit_tokens": 4}})
    assert answer.finish_reason == "length" and answer.usage["input_tokens"] == 10
    assert answer.usage["input_token_details"] == {"cache_read": 4}
    assert answer_of({"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}]}).usage is None
    for bad in ("<html>sign in</html>", {"error": {"message": "no"}}, {"choices": None}, {"object": "list"}):
        with pytest.raises(NotChatCompletion):
            answer_of(bad)


def test_an_html_page_is_still_named_as_not_an_openai_api(make_sim) -> None:
    ep = EndpointConfig(provider="sim", base_url=make_sim(quirks="html"), model="sim-drama")
    with pytest.raises(ModelError, match="did not answer like an OpenAI-compatible API"):
        asyncio.run(ModelClient("critic", ep, UsageLog()).structured(Critique, [("user", "x")]))


def test_ledger_reads_see_writes_of_this_and_of_other_connections(tmp_path: Path) -> None:
    path = tmp_path / "canon.sqlite"
    with Ledger(path) as ledger, Ledger(path) as other:
        ledger.add_entity(Entity(id="lin_xia", type="character", name="林夏", aliases=("阿夏",)))
        assert ledger.resolve("阿夏") == "lin_xia" and ledger.facts() == []
        fact = Fact(subject="lin_xia", kind="state", attribute="status", value="alive", episode=1, scene=1,
                    evidence="她醒了。")
        other.record_episode(1, [fact])  # another connection: the remembered reads are dropped
        assert ledger.facts() == [fact] and ledger.state_as_of(1).status("lin_xia") == fact
        mine = ledger.facts()
        mine.clear()  # a caller's list is its own
        assert ledger.facts() == [fact]
        ledger.put_doc(Doc("ending_1", "ending", "她醒了。", 1))
        assert [d.id for d in other.docs()] == ["ending_1"]
        other.add_entity(Entity(id="gu_yan", type="character", name="顾言"))
        assert ledger.resolve("顾言") == "gu_yan"


def test_store_reads_follow_the_file_whoever_changes_it(tmp_path: Path) -> None:
    path = tmp_path / "brief.json"
    reader = ModelReader()
    path.write_text(json.dumps({"note": "aaaa", "base": None}), encoding="utf-8")
    first = reader.read(path, WriterBrief)
    assert reader.read(path, WriterBrief) is first  # unchanged bytes: the model made last time
    path.write_text(json.dumps({"note": "bbbb", "base": None}), encoding="utf-8")  # in place, same size
    assert reader.read(path, WriterBrief).note == "bbbb"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(SeasonError, match="damaged"):
        reader.read(path, WriterBrief)
    path.unlink()
    with pytest.raises(FileNotFoundError):
        reader.read(path, WriterBrief)


def _seed(ledger: Ledger, episode: int) -> None:
    ledger.add_entity(Entity(id="lin_xia", type="character", name="林夏"))
    ledger.record_episode(episode, [Fact(subject="lin_xia", kind="state", attribute="status", value="dead",
                                         episode=episode, scene=2, evidence="林夏倒在血泊中。")])
    ledger.put_doc(Doc(f"summary_{episode}", "summary", f"Episode {episode}: 林夏死了。", episode))


def test_lore_written_in_a_thread_is_in_before_any_read(tmp_path: Path) -> None:
    with Ledger(tmp_path / "canon.sqlite") as ledger:
        index = LoreIndex(tmp_path / "lore", HashEmbedding())
        _seed(ledger, 1)
        index.sync_episode(ledger, 1)
        hits = index.query("林夏 status", until_episode=1, k=5)  # waits for the write
        assert {h.id for h in hits} == {"doc:summary_1", *(h.id for h in hits if h.id.startswith("fact:1:"))}
        assert len(hits) == 2 and index.count() == 2
        asyncio.run(index.settled())
        assert not (tmp_path / "lore" / PENDING).exists()
        index.close()


def test_a_kill_before_the_lore_is_written_is_repaired_at_the_next_run(tmp_path: Path) -> None:
    with Ledger(tmp_path / "canon.sqlite") as ledger:
        _seed(ledger, 1)
        index = LoreIndex(tmp_path / "lore", HashEmbedding())
        index.ensure_built(ledger)
        assert index.count() == 2
        _seed(ledger, 2)
        # as a process killed after the marker and before the worker's write leaves it
        (tmp_path / "lore" / PENDING).write_text("[2]", encoding="utf-8")
        again = LoreIndex(tmp_path / "lore", HashEmbedding())
        again.ensure_built(ledger)
        assert again.count() == 2  # a reader's opening writes nothing
        assert again.finish_unwritten(ledger) == [2]  # the season's next run does
        assert again.count() == 4 and not (tmp_path / "lore" / PENDING).exists()
        assert {h.episode for h in again.query("林夏", until_episode=2, k=8)} == {1, 2}


def test_running_totals_are_the_totals_of_the_records() -> None:
    log = UsageLog()
    rng = random.Random(7)
    for _ in range(300):
        log.append(UsageRecord(time="t", role=rng.choice(["writer", "critic"]), episode=1, provider="sim", model="m",
                               kind="structured", method=None, tokens_in=rng.randint(0, 5000),
                               tokens_out=rng.randint(0, 900), estimated=False, latency_s=rng.random(),
                               cost_usd=rng.choice([None, rng.random() / 100]), attempts=1,
                               retries=rng.randint(0, 2), outcome="ok", cached_in=rng.randint(0, 10)))
    assert log.running_totals() == _totals(log.records)


def test_hash_embedding_vectors_are_unchanged() -> None:
    import hashlib

    import numpy as np

    def reference(text: str, dim: int = 256) -> np.ndarray:  # the vectors the index was built with before
        vec = np.zeros(dim, dtype=np.float32)
        t = f"  {text.lower()}  "
        for i in range(len(t) - 2):
            vec[int.from_bytes(hashlib.blake2b(t[i : i + 3].encode(), digest_size=4).digest(), "little") % dim] += 1.0
        return vec / (float(np.linalg.norm(vec)) or 1.0)

    texts = ["林夏倒在血泊中，没了气息。Episode 3: the heir returns" * 5, "x", "", "ab"]
    for got, text in zip(HashEmbedding()(texts), texts, strict=True):
        assert np.array_equal(got, reference(text))


def test_the_checkpoint_database_commits_without_fsync_and_stays_in_wal(tmp_path: Path) -> None:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from cliffhanger.agents.server.checkpoint import fast_commits

    async def open_it() -> tuple[int, str]:
        async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
            await fast_commits(saver)
            sync = await (await saver.conn.execute("PRAGMA synchronous")).fetchone()
            mode = await (await saver.conn.execute("PRAGMA journal_mode")).fetchone()
            return sync[0], mode[0]

    assert asyncio.run(open_it()) == (1, "wal")  # 1: NORMAL
    assert sqlite3.connect(tmp_path / "checkpoints.sqlite").execute("PRAGMA journal_mode").fetchone()[0] == "wal"
