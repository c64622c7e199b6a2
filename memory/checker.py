"""The deterministic continuity checker: rules over time-stamped facts.

Rules (the canon-memory contract):
- trait_changed: a trait gets a different value without `change: true`;
- state_changed_silently: a state attribute differs from the subject's latest value without `change`;
- dead_character_active: a presence while the subject's latest status is dead, unless a status change
  back happens in the same episode at or before that scene;
- knowledge_before_learning: `uses` of a secret by a subject with no earlier `knows` of it;
- item_in_two_hands: `holds` of an item another subject still holds, without `change` (a hand-over).

Facts are replayed in story order: episode, scene, then given order (canon before the checked facts
within a tie). A fact that violates a rule is reported and not applied, so canon stays what it was
and one mistake does not cascade into others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from cliffhanger.memory.facts import Fact

Rule = Literal["trait_changed", "state_changed_silently", "dead_character_active", "knowledge_before_learning",
               "item_in_two_hands"]
RULES: tuple[Rule, ...] = ("trait_changed", "state_changed_silently", "dead_character_active",
                           "knowledge_before_learning", "item_in_two_hands")

DEAD = "dead"


@dataclass(frozen=True)
class Violation:
    rule: Rule
    fact: Fact
    conflicts_with: Fact | None
    message: str

    def as_dict(self) -> dict[str, object]:
        f = self.fact
        return {
            "rule": self.rule, "subject": f.subject, "attribute": f.attribute, "value": f.value,
            "episode": f.episode, "scene": f.scene,
            "conflicts_with": self.conflicts_with.model_dump() if self.conflicts_with else None,
            "message": self.message,
        }


@dataclass
class CanonState:
    """What is true at a point of the story, built by replaying facts."""

    traits: dict[tuple[str, str], Fact] = field(default_factory=dict)
    states: dict[tuple[str, str], Fact] = field(default_factory=dict)
    knows: dict[tuple[str, str], Fact] = field(default_factory=dict)
    holder: dict[str, Fact] = field(default_factory=dict)  # item id -> the standing holds fact

    def status(self, subject: str) -> Fact | None:
        return self.states.get((subject, "status"))

    def who_knows(self, secret: str) -> list[Fact]:
        return [f for (_, s), f in self.knows.items() if s == secret]


def story_order(facts: Iterable[Fact]) -> list[Fact]:
    """Facts sorted by episode, then scene, keeping the given order within a tie (sort is stable)."""
    return sorted(facts, key=lambda f: (f.episode, f.scene))


class Checker:
    """Replays facts into a CanonState and reports rule violations."""

    def __init__(self, resolve: Callable[[str], str] | None = None) -> None:
        self.state = CanonState()
        self._resolve = resolve or (lambda name: name)

    def normalise(self, fact: Fact) -> Fact:
        """The fact with its subject (and item/secret value) resolved through aliases."""
        subject = self._resolve(fact.subject)
        value = self._resolve(fact.value) if fact.kind in ("knows", "uses", "holds") and isinstance(fact.value, str) \
            else fact.value
        if subject == fact.subject and value == fact.value:
            return fact
        return fact.model_copy(update={"subject": subject, "value": value})

    def apply(self, fact: Fact, lookahead: Iterable[Fact] = ()) -> Violation | None:
        """Check one fact against the current state; apply it when it is legal."""
        fact = self.normalise(fact)
        s = self.state
        key = (fact.subject, fact.attribute)
        if fact.kind == "trait":
            prev = s.traits.get(key)
            if prev is not None and prev.norm_value != fact.norm_value and not fact.change:
                return Violation("trait_changed", fact, prev,
                                 f"{fact.subject}'s {fact.attribute} was {prev.value!r} (ep {prev.episode}), "
                                 f"now {fact.value!r} with no change marked")
            s.traits[key] = fact
        elif fact.kind == "state":
            prev = s.states.get(key)
            if prev is not None and prev.norm_value != fact.norm_value and not fact.change:
                return Violation("state_changed_silently", fact, prev,
                                 f"{fact.subject}'s {fact.attribute} was {prev.value!r} (ep {prev.episode}), "
                                 f"now {fact.value!r} with no change shown")
            s.states[key] = fact
        elif fact.kind == "presence":
            status = s.status(fact.subject)
            if status is not None and status.norm_value == DEAD and not self._revived(fact, lookahead):
                return Violation("dead_character_active", fact, status,
                                 f"{fact.subject} died in ep {status.episode} but acts in ep {fact.episode}")
        elif fact.kind == "knows":
            s.knows.setdefault((fact.subject, str(fact.value)), fact)
        elif fact.kind == "uses":
            if (fact.subject, str(fact.value)) not in s.knows:
                learned = next((f for f in s.who_knows(str(fact.value))), None)
                return Violation("knowledge_before_learning", fact, learned,
                                 f"{fact.subject} acts on secret {fact.value} before learning it")
        elif fact.kind == "holds":
            item = str(fact.value)
            prev = s.holder.get(item)
            if prev is not None and prev.subject != fact.subject and not fact.change:
                return Violation("item_in_two_hands", fact, prev,
                                 f"{item} is held by {prev.subject} (ep {prev.episode}) and by {fact.subject} "
                                 "with no hand-over")
            s.holder[item] = fact
        return None

    def _revived(self, presence: Fact, lookahead: Iterable[Fact]) -> bool:
        """A status change away from dead later in the file, same episode, at or before this scene."""
        for f in lookahead:
            if f.episode > presence.episode:
                break  # lookahead is in story order
            f = self.normalise(f)
            if (f.subject == presence.subject and f.kind == "state" and f.attribute == "status"
                    and f.episode == presence.episode and f.scene <= presence.scene
                    and f.norm_value != DEAD and f.change):
                return True
        return False


def replay(facts: Iterable[Fact], resolve: Callable[[str], str] | None = None) -> Checker:
    """A checker whose state is the canon after `facts` (violating facts are skipped)."""
    checker = Checker(resolve)
    ordered = story_order(facts)
    for i, fact in enumerate(ordered):
        checker.apply(fact, (ordered[j] for j in range(i + 1, len(ordered))))
    return checker


def check(canon: Iterable[Fact], new: Iterable[Fact], resolve: Callable[[str], str] | None = None) -> list[Violation]:
    """Violations in `new`, checked against `canon` and against themselves, in story order."""
    tagged = [(f, False) for f in canon] + [(f, True) for f in new]
    ordered = sorted(tagged, key=lambda t: (t[0].episode, t[0].scene))
    checker = Checker(resolve)
    found: list[Violation] = []
    for i, (fact, is_new) in enumerate(ordered):
        violation = checker.apply(fact, (ordered[j][0] for j in range(i + 1, len(ordered))))
        if violation is not None and is_new:
            found.append(violation)
    return found


def resolver(aliases: Mapping[str, str]) -> Callable[[str], str]:
    """A resolve function from an alias -> id mapping (ids resolve to themselves)."""
    lowered = {k.strip().lower(): v for k, v in aliases.items()}
    return lambda name: lowered.get(name.strip().lower(), name) if isinstance(name, str) else name
