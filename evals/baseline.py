"""The baseline an eval measures the room against: each episode from one prompt, no room.

No bible, no arc, no canon, no critic, no revisions: the writer model gets the premise, the
episode's place in the season and the previous episode's last line. The facts of each episode are
still extracted (with the config's continuity model) so the same continuity metric applies; that
call is measurement, and it is logged like any other.
"""

from __future__ import annotations

from typing import Any

from cliffhanger.agents.prompts import render
from cliffhanger.agents.roles.continuity import extract_facts
from cliffhanger.agents.roles.writer import episode_schema, guide_text, position, repair_script
from cliffhanger.agents.season.artifacts import EpisodeScript, Review
from cliffhanger.agents.season.screenplay import fountain
from cliffhanger.agents.season.store import SeasonStore
from cliffhanger.genres.pack import GenrePack
from cliffhanger.memory.ledger import Ledger


async def draft_baseline(store: SeasonStore, pack: GenrePack, models: dict[str, Any]) -> list[int]:
    """Draft every episode not yet on disk, in order; returns the episodes written by this call."""
    spec = store.spec()
    written = []
    with store.lock(), Ledger(store.ledger_path) as ledger:
        for ep in range(1, spec.episodes + 1):
            if store.script(ep) is not None:
                continue
            prev = store.script(ep - 1) if ep > 1 else None
            p = render("baseline.episode", episode=ep, episodes=spec.episodes, genre_name=pack.names.en,
                       runtime_s=spec.runtime_s, language_name="Chinese" if spec.language == "zh" else "English",
                       title=spec.title, logline=spec.logline, position=position(spec, pack, ep),
                       previous_ending=prev.ending_hook if prev else "(this is the first episode)",
                       scene_guide=guide_text(spec.runtime_s, spec.language))
            raw = await models["writer"].structured(episode_schema(spec.runtime_s), [("user", p.text)], episode=ep,
                                                   prompt=p.ref, repair=lambda d, ep=ep: repair_script(d, ep))
            script = EpisodeScript.model_validate(raw.model_dump())
            facts, _ = await extract_facts(models["continuity"], ledger, script)
            store.write_revision(ep, 0, "draft", script, {"prompt": p.ref, "revision": 0})
            store.write_facts(ep, 0, facts)
            ledger.record_episode(ep, facts, source=f"episode {ep} baseline")
            store.write_review(ep, Review(accepted_revision=0))
            store.write_script(ep, script, fountain(script, None, spec.title), {"prompt": p.ref, "revision": 0})
            written.append(ep)
    return written
