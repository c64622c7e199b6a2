"""Canon check results and canon answers, printed for the CLI or as plain text for the room's chat.
Canon text is shown as text, never as markup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cliffhanger.app.console import console, untrusted

if TYPE_CHECKING:
    from cliffhanger.memory.checker import Violation
    from cliffhanger.memory.query import CanonAnswer


def print_violations(violations: list[Violation], checked: int) -> None:
    out = console()
    for v in violations:
        f = v.fact
        where = f"ep {f.episode}" + (f" sc {f.scene}" if f.scene else "")
        out.print(untrusted(f"{where}  {v.rule}  {v.message}"), style="red", soft_wrap=True)
        if v.conflicts_with is not None:
            c = v.conflicts_with
            quote = f": {c.evidence}" if c.evidence else ""
            out.print(untrusted(f"    conflicts with {c.describe()}{quote}"), soft_wrap=True)
        if f.evidence:
            out.print(untrusted(f"    line: {f.evidence}"), soft_wrap=True)
    verdict = f"{len(violations)} violation(s) in {checked} fact(s)" if violations else f"ok: {checked} fact(s), no violations"
    out.print(verdict, style="bold red" if violations else "bold green")


def print_answer(result: CanonAnswer) -> None:
    out = console()
    out.print(untrusted(f"Canon as of episode {result.until_episode}: {result.question}"), style="bold", soft_wrap=True)
    if not result.entities:
        out.print("No known character, item or secret is named in the question.", style="dim")
    for ent in result.entities:
        out.print(untrusted(f"{ent.name} ({ent.id}, {ent.type})"), style="bold")
        if not ent.lines:
            out.print("    nothing recorded yet", style="dim")
        for ln in ent.lines:
            where = f"ep {ln.episode}" + (f" sc {ln.scene}" if ln.scene else "")
            quote = f"  «{ln.evidence}»" if ln.evidence else ""
            out.print(untrusted(f"    {ln.text}  [{where}]{quote}"), soft_wrap=True)
    if result.lore:
        out.print("Related lore:", style="bold")
        for hit in result.lore:
            out.print(untrusted(f"    [ep {hit.episode}] {hit.text}"), soft_wrap=True)


def format_canon(ans: CanonAnswer) -> str:
    """A canon answer as plain text with episode references, as the chat shows it."""
    out = [f"canon as of episode {ans.until_episode}:"]
    for ent in ans.entities:
        out.append(f"{ent.name} ({ent.id}, {ent.type})")
        for ln in ent.lines[-12:]:
            where = "bible" if ln.episode == 0 else f"ep {ln.episode}" + (f" sc {ln.scene}" if ln.scene else "")
            evidence = f": «{ln.evidence[:120]}»" if ln.evidence and ln.evidence != "bible" else ""
            out.append(f"  - {ln.text} ({where}{evidence})")
    if ans.lore:
        out.append("related:")
        for hit in ans.lore[:6]:
            out.append(f"  - {hit.text[:200]} (ep {hit.episode})")
    if len(out) == 1:
        out.append("nothing in canon matches that yet")
    return "\n".join(out)
