"""What each role is given reaches its request: read from the sim's log of request bodies, not from the code.

Seasons are drafted against a sim started with `log_bodies=True`; each prompt is matched against its
template in agents/prompts/ to recover the value of every `$variable`, and each value is compared with
the season folder: the writer gets its row, the bible, the canon as of the last episode, the last
episode's ending and, in a revision, the draft and every note; the critic gets the draft, the row and
the last cliffhanger; continuity gets the draft, the known entities, the canon and the planned changes;
the showrunner gets the critique and the continuity report it decides on.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from season_kit import make_season, prompt_values, recorded_requests, run, sim_models

from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.endpoint import CallPolicy, EndpointConfig
from cliffhanger.agents.llm.usage import UsageLog
from cliffhanger.agents.roles import review_context, writer, writer_context
from cliffhanger.agents.roles.continuity import review_continuity, script_text, seed_canon
from cliffhanger.agents.roles.showrunner import Decision
from cliffhanger.agents.roles.showrunner_chat import parse_slash
from cliffhanger.agents.roles.writer_context import empty, row_text
from cliffhanger.agents.season.artifacts import Bible, ContinuityReport, Critique, EpisodeScript
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.agents.sim.config import SimConfig
from cliffhanger.agents.sim.runner import run_in_thread
from cliffhanger.app.room import Room
from cliffhanger.genres.loader import builtin_catalog
from cliffhanger.memory.context import VALUES_ZH
from cliffhanger.memory.embeddings import HashEmbedding
from cliffhanger.memory.facts import Fact
from cliffhanger.memory.ledger import Ledger

NOTE = "Make Victor colder: he never raises his voice, and he smiles when he threatens."
FIRST_NOTE = "Open on the torn wedding photo in the rain; nobody speaks for the first five seconds."

# ---- helpers ------------------------------------------------------------------------------------------


def drafted(tmp_path: Path, episodes: int = 3, *, language: str = "zh", **options: object) -> tuple[SeasonStore, Path]:
    """A season drafted against a sim that logs bodies. The arc is edited so that episode 2 reveals a secret, and
    no critic score passes (unless `accept_threshold` is given), so every episode is revised up to the bound."""
    options.setdefault("accept_threshold", 10.0)
    genre = "revenge" if language == "zh" else "revenge_us"
    store = make_season(tmp_path / "s", episodes, language=language, genre=genre, free=1)
    log = tmp_path / "sim.jsonl"
    with run_in_thread(SimConfig(log_path=log, log_bodies=True)) as url:
        assert run(store, sim_models(url, UsageLog(store.usage_path)), review_arc=True, **options).stop == "arc_review"
        arc = json.loads((store.root / "arc.json").read_text(encoding="utf-8"))
        arc["rows"][1]["reveals"] = [store.bible().secrets[0].id]
        (store.root / "arc.json").write_text(json.dumps(arc, ensure_ascii=False), encoding="utf-8")
        result = run(store, sim_models(url, UsageLog(store.usage_path)), **options)
    assert result.stop == "done" and result.accepted == list(range(1, episodes + 1))
    assert store.arc().row(2).reveals
    return store, log


def revisions(store: SeasonStore, ep: int, folder: Path | None = None) -> list[EpisodeScript]:
    """The drafts of an episode on disk, r00 first (under `folder`, e.g. a history folder, when given)."""
    out, k = [], 0
    while True:
        path = store.revision_path(ep, k)
        if folder is not None:
            path = folder / path.relative_to(store.episode_dir(ep))
        if not path.exists():
            return out
        out.append(store.read_model(path, EpisodeScript))
        k += 1


def revision_of(store: SeasonStore, ep: int, text: str, language: str | None = None) -> int:
    """Which revision of `ep` on disk reads as `text` (script_text in `language`, by default the season's:
    the creative roles read the script in it, the continuity checker in English), or fail."""
    language = language or store.spec().language
    found = [k for k, s in enumerate(revisions(store, ep)) if script_text(s, language) == text]
    assert found, f"episode {ep}: the script in the request is no revision on disk"
    return found[-1]


def values(prompt: str, *templates: str) -> tuple[str, dict[str, str]]:
    for name in templates:
        got = prompt_values(prompt, name)
        if got is not None:
            return name, got
    raise AssertionError(f"the prompt matches none of {templates}: {prompt[:300]!r}")


def writer_prompts(store: SeasonStore, log: Path) -> list[tuple[str, int, dict[str, str]]]:
    """(draft or revise, episode, values) of every writer request."""
    lang = store.spec().language
    out = []
    for req in recorded_requests(log, "EpisodeScript"):
        name, got = values(req.prompt, f"writer.draft_episode.{lang}", f"writer.revise_episode.{lang}")
        out.append(("draft" if ".draft_" in name else "revise", int(got["episode"]), got))
    return out


def lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def assert_canon(canon: str, store: SeasonStore, ep: int) -> None:
    """The canon as of the end of episode ep-1: where it ended, the cast's status, the secrets it reveals."""
    assert canon not in ("(nothing yet)", "(nothing recorded yet)", "（暂无）"), f"episode {ep}: no canon"
    if ep > 1:
        assert store.script(ep - 1).ending_hook in canon, f"episode {ep}: the canon lacks where {ep - 1} ended"
    with Ledger(store.ledger_path) as ledger:
        state = ledger.state_as_of(ep - 1)
        names = {e.id: e.name or e.id for e in ledger.entities()}
        for c in store.bible().characters[:8]:
            status = state.status(c.id)
            assert status is not None
            said = {str(status.value), VALUES_ZH.get(str(status.value), str(status.value))}  # a zh season's canon is zh
            assert [ln for ln in lines(canon) if c.name in ln and "status" in ln and any(v in ln for v in said)], \
                f"episode {ep}: the canon lacks {c.name}'s status ({status.value})"
        for secret in store.arc().row(ep).revealed:  # the secrets this episode reveals, and who knows them
            assert [ln for ln in lines(canon) if names.get(secret, secret) in ln and ("known by" in ln or "知情者" in ln)], \
                f"episode {ep}: the canon lacks the secret {secret} it reveals"


def showrunner_notes(store: SeasonStore, ep: int, rev: int) -> list[str]:
    """The notes a revision of draft `rev` is owed: the rules' reasons and the showrunner's notes (the
    critic's must-fix items it kept), as decided on disk."""
    decision_path = store.revision_path(ep, rev, "decision")
    decision = store.read_model(decision_path, Decision)
    assert decision.decision == "revise" and decision.dropped is not None
    return list(dict.fromkeys([*store.meta(decision_path).get("rule_reasons", []), *decision.notes]))[:10]


def pack_of(store: SeasonStore):  # noqa: ANN201
    return builtin_catalog().get(store.spec().genre)


# ---- the writer ---------------------------------------------------------------------------------------

def test_the_writer_gets_its_row_the_bible_the_canon_the_last_ending_and_every_note(tmp_path: Path) -> None:
    store, log = drafted(tmp_path)
    spec, pack, bible, arc = store.spec(), pack_of(store), store.bible(), store.arc()
    prompts = writer_prompts(store, log)
    assert sorted(ep for kind, ep, _ in prompts if kind == "draft") == [1, 2, 3]
    revised = [(ep, got) for kind, ep, got in prompts if kind == "revise"]
    assert revised, "the season had no revision: the notes path went untested"
    for kind, ep, got in prompts:
        assert got["arc_row"] == row_text(arc.row(ep), pack, bible, spec.language)
        assert got["position"] == writer.position(spec, pack, ep)
        assert got["title"] == spec.title and got["episode"] == str(ep)
        assert got["avoid"] == " / ".join(pack.avoid_list(spec.language))
        assert_canon(got["canon"], store, ep)
        if kind == "draft":
            assert got["bible_essentials"] == writer.bible_essentials(bible, language=spec.language)
            assert bible.premise in got["bible_essentials"]
            assert got["cast"] == ", ".join(sorted(c.id for c in bible.characters))
            expected_ending = store.script(ep - 1).ending_hook if ep > 1 else empty(spec.language, "opening")
            assert got["previous_ending"] == expected_ending
            assert got["writer_notes"] == empty(spec.language, "notes")
    for ep, got in revised:
        before = revision_of(store, ep, got["draft"])  # the draft it revises is on disk, word for word
        owed = showrunner_notes(store, ep, before)
        given = lines(got["notes"])
        assert {f"- {n}" for n in owed[:10]} <= set(given), (owed, given)
        assert set(given) <= {f"- {n}" for n in owed}, (owed, given)


def test_without_canon_memory_the_writer_prompt_holds_no_canon(tmp_path: Path) -> None:
    store, log = drafted(tmp_path, canon_memory=False)
    prompts = writer_prompts(store, log)
    assert {kind for kind, _, _ in prompts} == {"draft", "revise"}
    with Ledger(store.ledger_path) as ledger:
        status_lines = [f"status = {v}" for f in ledger.state_as_of(3).states.values()
                        for v in (f.value, VALUES_ZH.get(str(f.value), f.value))]
    for kind, ep, got in prompts:
        assert got["canon"] == empty(store.spec().language, "canon"), (kind, ep, got["canon"][:300])
        prompt = "\n".join(got.values())
        assert not [s for s in status_lines if s in prompt]
        if kind == "draft":  # the last ending is not canon memory: it still reaches the writer
            assert got["previous_ending"] == (store.script(ep - 1).ending_hook if ep > 1
                                              else empty(store.spec().language, "opening"))
    assert not recorded_requests(log, "ModelFindings")  # and no canon review


def room_redraft(store: SeasonStore, log: Path, command: str) -> None:
    with run_in_thread(SimConfig(log_path=log, log_bodies=True)) as url, \
            Room(store, models=sim_models(url, UsageLog(store.usage_path)), embedding=HashEmbedding()) as room:
        room.submit(room.execute(parse_slash(command))).result(timeout=240)
        room.submit(room.wait_idle()).result(timeout=240)


def test_a_redraft_note_reaches_the_writer_with_the_version_it_revises(tmp_path: Path) -> None:
    store, _ = drafted(tmp_path, language="en")
    old = store.script(2)
    log = tmp_path / "redraft.jsonl"
    room_redraft(store, log, f"/redraft 2 {NOTE}")
    assert store.accepted_episodes() == [1, 2, 3]
    prompts = [(kind, ep, got) for kind, ep, got in writer_prompts(store, log)]
    assert [ep for _, ep, _ in prompts] == [2] * len(prompts) and prompts
    (kind, _, first), *later = prompts
    assert kind == "revise" and lines(first["notes"]) == [f"- {NOTE}"]
    assert first["draft"] == script_text(old)  # the accepted version, now in history/01
    assert store.brief(2).base == "episodes/002/history/01/script.json"
    assert_canon(first["canon"], store, 2)
    for kind, _, got in later:  # every later revision still carries the head writer's note, first
        assert kind == "revise" and lines(got["notes"])[0] == f"- {NOTE}"
        assert_canon(got["canon"], store, 2)

    log = tmp_path / "revise.jsonl"
    old = store.script(3)
    room_redraft(store, log, "/revise 3 cut to black on the name")
    (kind, ep, got), *_ = writer_prompts(store, log)
    assert (kind, ep) == ("revise", 3) and got["draft"] == script_text(old)
    assert "cut to black on the name" in lines(got["notes"])[0] and "Rewrite only the ending" in got["notes"]


def test_a_brief_without_a_base_reaches_the_first_draft_as_the_head_writers_notes(tmp_path: Path) -> None:
    store, _ = drafted(tmp_path, 2)
    store.reopen_episode(1, FIRST_NOTE, revise=False)  # a fresh draft, not a revision: no base script
    log = tmp_path / "again.jsonl"
    with run_in_thread(SimConfig(log_path=log, log_bodies=True)) as url:
        assert run(store, sim_models(url, UsageLog(store.usage_path))).stop == "done"
    prompts = writer_prompts(store, log)
    (kind, ep, got), *later = prompts
    assert (kind, ep) == ("draft", 1) and got["writer_notes"] == FIRST_NOTE
    for kind, ep, got in later:
        assert (kind, ep) == ("revise", 1) and lines(got["notes"])[0] == f"- {FIRST_NOTE}"


# ---- the critic, continuity, the showrunner ----------------------------------------------------------------

def test_the_critic_gets_the_draft_its_row_and_the_last_cliffhanger(tmp_path: Path) -> None:
    store, log = drafted(tmp_path)
    spec, pack, arc = store.spec(), pack_of(store), store.arc()
    seen = set()
    for req in recorded_requests(log, "Critique"):
        _, got = values(req.prompt, f"critic.review.{store.spec().language}")
        ep = int(got["episode"])
        rev = revision_of(store, ep, got["script"])
        seen.add((ep, rev))
        draft = revisions(store, ep)[rev]
        bible = store.bible()
        assert got["arc_row"] == writer_context.row_text(arc.row(ep), pack, bible, spec.language)
        assert got["bible"] == review_context.review_bible(bible, arc.row(ep), draft, spec.language)
        assert got["previous_scene"] == writer_context.previous_scene_text(store.script(ep - 1) if ep > 1 else None,
                                                                           bible, spec.language)
        assert got["previous_cliffhanger"] == (store.script(ep - 1).ending_hook if ep > 1 else ("（第一集）" if store.spec().language == "zh" else "(first episode)"))
        assert got["position"] == writer.position(spec, pack, ep)
        assert got["genre_name"] == (pack.names.zh if store.spec().language == "zh" else pack.names.en)
        assert all(criterion in got["weights"] for criterion in pack.normalised_weights())
        assert got["avoid"] == " / ".join(pack.avoid_list(spec.language))
        assert got["runtime_estimate"] == f"{draft.estimate_runtime_s(spec.language):.0f}"
        assert got["runtime_s"] == str(spec.runtime_s)
    on_disk = {(ep, k) for ep in (1, 2, 3) for k in range(len(revisions(store, ep)))
               if store.revision_path(ep, k, "critique").exists()}
    assert seen == on_disk and len(seen) > 3


def test_continuity_gets_the_draft_the_entities_the_canon_and_the_planned_changes(tmp_path: Path) -> None:
    store, log = drafted(tmp_path)
    bible, arc = store.bible(), store.arc()
    extracted = set()
    for req in recorded_requests(log, "ExtractedFacts"):
        _, got = values(req.prompt, "continuity.extract_facts")
        ep = int(got["episode"])
        extracted.add((ep, revision_of(store, ep, got["script"], "en")))
        entity_lines = lines(got["entities"])
        for c in bible.characters:
            assert [ln for ln in entity_lines if ln.startswith(f"{c.id}:") and c.name in ln], c.id
            assert all(a in got["entities"] for a in c.aliases)
        if arc.row(ep).reveals:  # a reveal may flip identities and statuses: the extractor is told which
            assert got["planned"].startswith("Planned changes") and all(c.id in got["planned"] for c in bible.characters)
        else:
            assert got["planned"] == ""
    reviewed = set()
    for req in recorded_requests(log, "ModelFindings"):
        _, got = values(req.prompt, "continuity.review")
        ep = int(got["episode"])
        rev = revision_of(store, ep, got["script"], "en")
        reviewed.add((ep, rev))
        assert got["previous"] == str(ep - 1)
        assert got["planned"] == ("; ".join(f"secret {r.secret} is revealed" + (f" to {r.to}" if r.to else "")
                                            for r in arc.row(ep).reveals) or "none")
        report = store.read_model(store.revision_path(ep, rev, "continuity"), ContinuityReport)
        rules = sorted({f.rule for f in report.findings if f.rule != "model_check"})
        assert got["already"] == (", ".join(rules) or "none found")
        assert got["canon"] != "(nothing recorded yet)"
        if ep > 1:
            assert store.script(ep - 1).ending_hook in got["canon"]
    on_disk = {(ep, k) for ep in (1, 2, 3) for k in range(len(revisions(store, ep)))}
    assert extracted == on_disk and reviewed == on_disk


def test_the_continuity_review_gets_the_rule_findings_and_the_canon_they_break(tmp_path: Path, sample) -> None:
    """A dead character speaks: the review is told which rule already caught it, and shown her death in canon."""
    bible = Bible.model_validate(sample("zh_bible"))
    victim = next(c for c in bible.characters if c.id == "lin_xuerou")
    fall, ghost = "林雪柔从天台坠下，再也没有醒来。", "姐姐，你以为我真的死了吗？"
    script = EpisodeScript.model_validate({"episode": 2, "title": "第2集", "ending_hook": "灯灭了。", "scenes": [
        {"number": 1, "int_ext": "INT", "location": "lin_mansion_hall", "time": "night", "cast": ["lin_wan", victim.id],
         "elements": [{"type": "action", "text": "林晚推开大厅的门。"}, {"type": "dialogue", "speaker": victim.id, "line": ghost},
                      {"type": "dialogue", "speaker": "lin_wan", "line": "你到底是谁？"}]}]})
    log = tmp_path / "sim.jsonl"
    with Ledger(tmp_path / "canon.sqlite") as ledger, run_in_thread(SimConfig(log_path=log, log_bodies=True)) as url:
        seed_canon(ledger, bible)
        ledger.record_episode(1, [Fact(subject=victim.id, kind="state", attribute="status", value="dead", episode=1,
                                       scene=1, change=True, evidence=fall)])
        model = ModelClient("continuity", EndpointConfig(provider="sim", base_url=url, model="sim-drama"), UsageLog(),
                            CallPolicy(backoff_base_s=0.01))
        facts = [Fact(subject=victim.id, kind="presence", attribute="appears", value=True, episode=2, scene=1,
                      evidence=ghost)]
        report = asyncio.run(review_continuity(model, ledger, None, script, facts, planned=["secret s1 is revealed"]))
    assert [f.rule for f in report.findings if f.rule != "model_check"] == ["dead_character_active"]
    (req,) = recorded_requests(log, "ModelFindings")
    _, got = values(req.prompt, "continuity.review")
    assert got["already"] == "dead_character_active"
    assert [ln for ln in lines(got["canon"]) if victim.name in ln and "dead" in ln], got["canon"]
    assert got["script"] == script_text(script) and ghost in got["script"]
    assert got["planned"] == "secret s1 is revealed" and (got["episode"], got["previous"]) == ("2", "1")


def test_the_showrunner_decides_on_the_critique_and_the_continuity_report_on_disk(tmp_path: Path) -> None:
    store, log = drafted(tmp_path)
    arc = store.arc()
    decided = set()
    for req in recorded_requests(log, "Decision"):
        _, got = values(req.prompt, "showrunner.decide")
        ep, rev = int(got["episode"]), int(got["revision"])
        decided.add((ep, rev))
        path = store.revision_path(ep, rev, "decision")
        assert got["arc_row"] == arc.row(ep).model_dump_json() and got["max_revisions"] == "2"
        critique = store.read_model(store.revision_path(ep, rev, "critique"), Critique)
        assert got["critique"] == critique.model_dump_json()
        report = store.read_model(store.revision_path(ep, rev, "continuity"), ContinuityReport)
        assert got["continuity"] == report.model_dump_json()
        assert got["runtime_note"] == ("; ".join(store.meta(path).get("rule_reasons", [])) or "on target")
        assert got["script"] == script_text(revisions(store, ep)[rev])  # a short script is read whole
    on_disk = {(ep, k) for ep in (1, 2, 3) for k in range(3) if store.revision_path(ep, k, "decision").exists()}
    assert decided == on_disk and decided


# ---- the recorder itself -----------------------------------------------------------------------------------

def test_the_log_carries_bodies_only_when_asked_and_never_a_header(tmp_path: Path) -> None:
    import httpx

    key = "sk-sim-secret-0123456789"
    plain, full = tmp_path / "plain.jsonl", tmp_path / "full.jsonl"
    body = {"model": "sim-drama", "messages": [{"role": "user", "content": "Say hi."}]}
    for log, bodies in ((plain, False), (full, True)):
        with run_in_thread(SimConfig(log_path=log, log_bodies=bodies, api_key=key)) as url:
            r = httpx.post(f"{url}/chat/completions", json=body, headers={"authorization": f"Bearer {key}"},
                           trust_env=False, timeout=10)
            assert r.status_code == 200
    (rec,) = [json.loads(x) for x in plain.read_text().splitlines()]
    assert "messages" not in rec and "schema" not in rec
    (rec,) = [json.loads(x) for x in full.read_text().splitlines()]
    assert rec["messages"] == body["messages"] and rec["schema"] is None
    assert key not in full.read_text() and "authorization" not in full.read_text().lower()
    with pytest.raises(ValueError, match="log_bodies needs log_path"):
        SimConfig(log_bodies=True)
