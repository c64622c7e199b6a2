"""The critic: scores a draft on the genre-weighted rubric, with reasons and must-fix notes."""

from __future__ import annotations

from cliffhanger.agents.llm.client import StructuredModel
from cliffhanger.agents.prompts import render
from cliffhanger.agents.roles.compliance import compliance_text
from cliffhanger.agents.roles.continuity import script_text
from cliffhanger.agents.roles.review_context import floors_text, review_bible, score_floors
from cliffhanger.agents.roles.writer import position
from cliffhanger.agents.roles.writer_context import previous_scene_text, row_text
from cliffhanger.agents.season.artifacts import ArcRow, Bible, Critique, EpisodeScript, SeasonSpec
from cliffhanger.genres.pack import GenrePack


def stale_phrases(script: EpisodeScript, pack: GenrePack, language: str) -> list[str]:
    """Phrases from the pack's avoid list that the script uses (checked without a model)."""
    text = script_text(script).lower()
    return [p for p in pack.avoid_list(language) if p.lower() in text]


async def critique(model: StructuredModel, *, spec: SeasonSpec, pack: GenrePack, row: ArcRow, script: EpisodeScript,
                   previous_cliffhanger: str, bible: Bible | None = None,
                   previous: EpisodeScript | None = None) -> tuple[Critique, str]:
    """The critic's review of `script`, seeing the bible essentials for this episode, the previous
    episode's last scene (`previous`) and the row as text, in the season's language."""
    weights = ", ".join(f"{c} {w:.0%}" for c, w in pack.normalised_weights().items())
    p = render(
        f"critic.review.{spec.language}", episode=row.episode,
        genre_name=pack.names.zh if spec.language == "zh" else pack.names.en, position=position(spec, pack, row.episode),
        bible=review_bible(bible, row, script, spec.language),
        previous_scene=previous_scene_text(previous, bible, spec.language),
        arc_row=row_text(row, pack, bible, spec.language), previous_cliffhanger=previous_cliffhanger or ("（第一集）" if spec.language == "zh" else "(first episode)"),
        floors=floors_text(score_floors(spec, row), spec.language),
        compliance=compliance_text(pack, spec.language),
        weights=weights, avoid=" / ".join(pack.avoid_list(spec.language)), script=script_text(script, spec.language),
        runtime_estimate=f"{script.estimate_runtime_s(spec.language):.0f}", runtime_s=spec.runtime_s,
    )
    review = await model.structured(Critique, [("user", p.text)], episode=row.episode, prompt=p.ref)
    used = stale_phrases(script, pack, spec.language)
    if used:
        # The avoid list is checked by rule as well: a model that misses a stale phrase is corrected.
        review = review.model_copy(update={"must_fix": (*review.must_fix, *[(f"陈词滥调：{u}" if spec.language == "zh" else f"stale phrasing: {u}") for u in used])[:10]})
    return review, p.ref
