"""The genre's content-review notes (`GenrePack.compliance`): the critic reads them as must-fix rules, and
the notes that carry a pattern are also checked by rule on every draft (action lines and dialogue), so a
breach goes back to the writer whatever a model scores. Run without a model by the showrunner's
`decision_rules`."""

from __future__ import annotations

import re

from cliffhanger.agents.season.artifacts import DialogueLine, EpisodeScript
from cliffhanger.genres.pack import ComplianceNote, GenrePack, Language

MAX_QUOTE = 30


def compliance_text(pack: GenrePack, language: Language) -> str:
    """The notes as the critic's prompt lists them, one per line."""
    return "\n".join(f"- {c.id}：{c.rule}" if language == "zh" else f"- {c.id}: {c.rule}"
                     for c in pack.compliance) or ("（无）" if language == "zh" else "(none)")


def compliance_hits(script: EpisodeScript, pack: GenrePack) -> list[tuple[str, ComplianceNote, str]]:
    """(scene label, note, the matched text) for every line a note's pattern matches, in screen order."""
    checked = [(c, re.compile(c.pattern)) for c in pack.compliance if c.pattern]
    hits = []
    for scene in script.scenes:
        for el in scene.elements:
            text = f"{el.parenthetical or ''} {el.line}" if isinstance(el, DialogueLine) else el.text
            for note, pattern in checked:
                if m := pattern.search(text):
                    hits.append((scene.label(script.episode), note, m.group(0)[:MAX_QUOTE]))
    return hits


def compliance_reasons(script: EpisodeScript, pack: GenrePack, language: Language) -> list[str]:
    """One rule reason per note the script breaks (its first hit quoted), in the season's language."""
    first: dict[str, tuple[str, ComplianceNote, str]] = {}
    for where, note, text in compliance_hits(script, pack):
        first.setdefault(note.id, (where, note, text))
    if language == "zh":
        return [f"审核（{n.id}）：{n.rule}（{where}：“{text}”）" for where, n, text in first.values()]
    return [f"content review ({n.id}): {n.rule} ({where}: \"{text}\")" for where, n, text in first.values()]
