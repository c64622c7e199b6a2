"""The tic rule check: AI-prose tics (`genres.cringe`) located in a draft, and the note that asks for a cut
when there are too many. Run without a model by the showrunner's `decision_rules`; kept apart from the
critic's model call so the showrunner can use it without importing the writer."""

from __future__ import annotations

from cliffhanger.agents.season.artifacts import DialogueLine, EpisodeScript, count_units
from cliffhanger.genres import cringe
from cliffhanger.genres.pack import GenrePack, Language

MAX_TICS_NAMED = 5


def script_tics(script: EpisodeScript, pack: GenrePack, language: Language) -> list[tuple[str, cringe.Tic]]:
    """The AI-prose tics in the script's action lines, dialogue and parentheticals, each with where it is
    ("1-2 line 3", in a Chinese season "1-2 第3行": scene label, then the element's 1-based place in the scene)."""
    extra = pack.tic_families()
    found = []
    for scene in script.scenes:
        for n, el in enumerate(scene.elements, start=1):
            texts = [el.parenthetical or "", el.line] if isinstance(el, DialogueLine) else [el.text]
            place = f"第{n}行" if language == "zh" else f"line {n}"
            where = f"{scene.label(script.episode)} {place}"
            found += [(where, tic) for text in texts for tic in cringe.find_tics(text, language, extra)]
    return found


def tic_note(script: EpisodeScript, pack: GenrePack, language: Language) -> str | None:
    """A rule note when the script's tics per 1,000 units pass `cringe.TIC_LIMIT_PER_1000` (None: within
    it), naming at most MAX_TICS_NAMED of them with where they are."""
    found = script_tics(script, pack, language)
    units = sum(count_units(d.line) + count_units(d.parenthetical or "") for d in script.dialogue()) + sum(
        count_units(a.text) for a in script.actions())
    rate = len(found) / units * 1000 if units else 0.0
    limit = cringe.TIC_LIMIT_PER_1000[language]
    if rate <= limit:
        return None
    if language == "zh":
        named = "，".join(f"{tic.text}（{where}）" for where, tic in found[:MAX_TICS_NAMED])
        more = f"等 {len(found)} 处" if len(found) > MAX_TICS_NAMED else ""
        return (f"删掉AI腔：{named}{more}（{units} 字里 {len(found)} 处，每千字 {rate:.1f} 处，上限 {limit:g}）："
                f"改写成镜头拍得到的东西")
    named = ", ".join(f"{tic.text} ({where})" for where, tic in found[:MAX_TICS_NAMED])
    more = f" and {len(found) - MAX_TICS_NAMED} more" if len(found) > MAX_TICS_NAMED else ""
    return (f"cut the tics: {named}{more} ({len(found)} in {units} units, {rate:.1f} per 1,000 against at most "
            f"{limit:g}): write what the camera sees instead")
