"""An act's arc rows as the showrunner's model writes them: the schema it is given (ids as enums of what
the season has) and the bookkeeping repair of its answer, which keeps each act on the bible's schedule
given the acts planned before it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from cliffhanger.agents.season.arc_check import plant_episodes
from cliffhanger.agents.season.artifacts import AUDIENCE, ArcRow, Bible, Cliffhanger, Reveal, SeasonSpec
from cliffhanger.genres.ids import Id
from cliffhanger.genres.pack import GenrePack


class ActRows(BaseModel):
    """Beat-sheet rows for the episodes of one act."""

    model_config = ConfigDict(extra="forbid")

    rows: list[ArcRow] = Field(description="one row per episode of the act, in order")


def must_be_strong(spec: SeasonSpec, ep: int) -> bool:
    """Episodes whose ending must make people pay: the 卡点集 (before a paywall point), and the paywall
    episode itself (the first paid episode ends hard too, so the next unlock sells)."""
    return spec.episode_kind(ep) in ("cut", "first_paid")


def _enum(values: list[str]) -> Any:
    return Literal[tuple(values)]  # a JSON schema enum: grammar-based servers and the sim pick from it


def rows_schema(count: int, pack: GenrePack, bible: Bible) -> type[ActRows]:
    """ActRows with exactly `count` rows whose ids are enums of what this season has: the pack's payoff
    and cliffhanger kinds, the bible's characters, secrets, cards and plants."""
    cast = list(bible.character_ids)
    cliff = create_model("Cliffhanger", __base__=Cliffhanger, kind=(
        _enum([k.id for k in pack.cliffhanger_kinds]), Field(description="Cliffhanger kind id from the genre pack.")))
    revealable = list(bible.revealable_ids)
    if revealable:
        reveal = create_model("Reveal", __base__=Reveal,
                              secret=(_enum(revealable), Field(description="Id of the bible secret or card revealed.")),
                              to=(_enum([*cast, AUDIENCE]), Field(description=f"Who learns it: a character id, or "
                                                                             f"{AUDIENCE!r} for the viewer.")))
        reveals: Any = (tuple[reveal, ...], Field(description="Secrets and cards that surface, each with who learns it.",
                                                  max_length=10))
    else:
        reveals = (tuple[Reveal, ...], Field(description="Always empty: the bible has no secrets or cards.", max_length=0))
    plant_ids = [p.id for p in bible.plants]
    plant: Any = _enum(plant_ids) if plant_ids else Id
    bound = 10 if plant_ids else 0
    row = create_model(
        "ArcRow", __base__=ArcRow,
        cliffhanger=(cliff, Field(description="How the episode ends.")),
        payoff_kind=(_enum([k.id for k in pack.payoff_kinds]), Field(description="Id of the pack's payoff kind.")),
        intensity=(Literal["small", "medium", "big"], Field(description="How big the payoff is.")),
        antagonist=(_enum(cast) | None, Field(description="Character id leading the pressure this episode, or null.")),
        reveals=reveals,
        plants=(tuple[plant, ...], Field(description="Ids of the bible plants planted in this episode.", max_length=bound)),
        pays=(tuple[plant, ...], Field(description="Ids of the bible plants paid off in this episode.", max_length=bound)),
    )
    return create_model(  # exactly `count` rows: the sim and grammar-based servers honour the bounds
        "ActRows", __base__=ActRows,
        rows=(list[row], Field(description="one row per episode of the act, in order", min_length=count,  # type: ignore[valid-type]
                               max_length=count)),
    )


def _text(value: Any) -> str | None:
    """A string stripped as the artifact will hold it; None for anything else a model put there."""
    return value.strip() if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _reveal(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):  # the older shape: a plain secret id, revealed to the viewer
        return {"secret": value.strip(), "to": AUDIENCE}
    if isinstance(value, dict):
        return {"secret": _text(value.get("secret")), "to": _text(value.get("to")) or AUDIENCE}
    return None


class _Schedule:
    """What the bible plans, and what the rows before the one being repaired have done already."""

    def __init__(self, bible: Bible, earlier: Sequence[ArcRow]) -> None:
        self.due: dict[int, list[dict[str, Any]]] = {}  # episode -> reveals the bible plans there
        self.audience_at: dict[str, int | None] = {}  # secret/card id -> the one episode the viewer learns it
        for s in bible.secrets:
            self.audience_at[s.id] = s.planned_reveal_episode
            if s.planned_reveal_episode:
                self.due.setdefault(s.planned_reveal_episode, []).append({"secret": s.id, "to": AUDIENCE})
        for c in bible.cards:
            heard = [st.episode for st in c.stages if st.to == AUDIENCE]
            if heard:
                self.audience_at[c.id] = min(heard)
            for st in c.stages:
                self.due.setdefault(st.episode, []).append({"secret": c.id, "to": st.to})
        self.told = {(r.secret, r.to) for row in earlier for r in row.reveals}
        self.planted, paid = plant_episodes(earlier)  # plant id -> the episode a row first planted it
        self.paid = set(paid)
        self.payoff_at = {p.id: p.payoff_episode for p in bible.plants}
        self.ladder = sorted({a.character: a for a in reversed(bible.antagonists)}.values(),
                             key=lambda a: (a.tier, a.downfall_episode or 10**6))

    def reveals(self, ep: int, asked: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The row's reveals the schedule allows, then what it plans here: the viewer learns a secret only in
        its planned episode, and nobody learns the same secret twice."""
        out = []
        for r in [*self.due.get(ep, []), *asked]:
            key = (r["secret"], r["to"])
            if key in self.told or (r["to"] == AUDIENCE and r["secret"] in self.audience_at
                                    and self.audience_at[r["secret"]] != ep):
                continue
            self.told.add(key)
            out.append(r)
        return out

    def plants_and_pays(self, ep: int, plants: list[str], pays: list[str]) -> tuple[list[str], list[str]]:
        """Each plant planted once and paid once, after the episode that planted it (or in the payoff
        episode the bible gives it)."""
        planted = [p for p in plants if p not in self.planted]
        for p in planted:
            self.planted[p] = ep
        paid = [p for p in pays if p not in self.paid
                and (self.planted.get(p, ep) < ep or (p in self.planted and self.payoff_at.get(p) == ep))]
        self.paid |= set(paid)
        return planted, paid

    def antagonist(self, ep: int, who: str | None) -> str | None:
        """Nobody leads after their downfall: the next rung of the ladder still standing takes over."""
        fallen = next((i for i, a in enumerate(self.ladder) if a.character == who and a.downfall_episode is not None
                       and a.downfall_episode < ep), None)
        if fallen is None:
            return who
        return next((a.character for a in self.ladder[fallen + 1:]
                     if a.downfall_episode is None or a.downfall_episode >= ep), None)


def repair_rows(data: Any, spec: SeasonSpec, pack: GenrePack, bible: Bible, act: int, first: int, last: int,
                 earlier: Sequence[ArcRow] = ()) -> Any:
    """Bookkeeping the schema cannot do: the act's episode numbers, act and paywall flags; ids that name
    nothing in the pack or bible dropped (an unknown payoff or cliffhanger kind replaced); the bible's
    schedule kept given the `earlier` rows (a secret reaches the viewer in its planned episode only, and
    each party once; a card's stages and the plants planted and paid where the bible puts them; each plant
    planted once and paid once, after it is planted; nobody leads the pressure after their downfall);
    walk-ons that are no bible character, at most 3; and the cut's and the first paid episode's endings as
    strong as the paywall needs.
    What spans acts (payoff and ending rhythm, plants left unpaid) is `arc_repair.repair_arc`'s, at assembly."""
    if not isinstance(data, dict):
        return data  # validation says what is wrong
    rows = [r for r in _list(data.get("rows")) if isinstance(r, dict)]
    while rows and len(rows) < last - first + 1:
        rows.append(dict(rows[-1]))
    rows = rows[: last - first + 1]
    revealable, cast = set(bible.revealable_ids), set(bible.character_ids)
    plant_ids = {p.id for p in bible.plants}
    schedule = _Schedule(bible, earlier)
    strong = pack.paywall_kinds()
    known_kinds = {k.id for k in pack.cliffhanger_kinds}
    payoff_kinds = [k.id for k in pack.payoff_kinds]
    for i, row in enumerate(rows):
        ep = first + i
        row["episode"], row["act"], row["paywall"] = ep, act, spec.is_paywall(ep)
        if _text(row.get("payoff_kind")) not in payoff_kinds:
            row["payoff_kind"] = payoff_kinds[ep % len(payoff_kinds)]
        if _text(row.get("intensity")) not in ("small", "medium", "big"):
            row["intensity"] = "medium"
        who = _text(row.get("antagonist"))
        row["antagonist"] = schedule.antagonist(ep, who if who in cast else None)
        asked = [r for r in (_reveal(v) for v in _list(row.get("reveals")))
                 if r and r["secret"] in revealable and (r["to"] in cast or r["to"] == AUDIENCE)]
        row["reveals"] = schedule.reveals(ep, asked)[:10]
        ids: dict[str, list[str]] = {}
        for field, scheduled in (("plants", {p.id for p in bible.plants if p.planted_episode == ep}),
                                 ("pays", {p.id for p in bible.plants if p.payoff_episode == ep})):
            given = [_text(v) or "" for v in _list(row.get(field)) if _text(v) in plant_ids]
            ids[field] = list(dict.fromkeys([*given, *sorted(scheduled)]))
        plants, pays = schedule.plants_and_pays(ep, ids["plants"][:10], ids["pays"][:10])
        row["plants"], row["pays"] = plants, pays
        walk_ons = [w for w in _list(row.get("walk_ons")) if isinstance(w, dict) and _text(w.get("id")) not in cast]
        row["walk_ons"] = list({_text(w.get("id")): w for w in walk_ons}.values())[:3]
        cliff = dict(row.get("cliffhanger") or {})
        if _text(cliff.get("kind")) not in known_kinds:
            cliff["kind"] = pack.ordinary_kinds()[i % len(pack.ordinary_kinds())].id
        if must_be_strong(spec, ep):
            if cliff["kind"] not in {k.id for k in strong}:
                cliff["kind"] = strong[i % len(strong)].id
            given = cliff.get("strength")
            given = given if isinstance(given, int) and not isinstance(given, bool) else 0
            cliff["strength"] = max(given, 5 if spec.episode_kind(ep) == "cut" else 4)
        row["cliffhanger"] = cliff
    data["rows"] = rows
    return data
