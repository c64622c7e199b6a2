#!/usr/bin/env python3
"""Chaos run: a season drafted against a faulty `cliffhanger sim`, killed with SIGKILL again and again.

    python scripts/chaos.py [--episodes 60] [--kills 10] [--seed 7] [--language zh|en] [--keep DIR] [--faults SPEC]

Starts `cliffhanger sim` (faults on, a free loopback port) and `cliffhanger draft DIR` as subprocesses and
kills the draft at seeded random moments: the first during planning, one while a shot list is in flight,
the rest spread over the season, each once the run has made progress since it (re)started (usage.jsonl
grew). It resumes after each kill and lets the last run finish, then prints one line per invariant (PASS
or FAIL, with its figures) and a table of figures. Exit 1 if any invariant fails.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FAULTS = "429:0.1,500:0.05,timeout:0.02,malformed:0.05,truncate:0.03,think:0.1"
CLI = [sys.executable, "-m", "cliffhanger.app"]
# model calls each saved file stands for: role -> (revision file kind, calls per file); shots: one per episode
EXPECT = {"writer": ("draft", 1), "continuity": ("continuity", 2), "critic": ("critique", 1), "showrunner": ("decision", 1)}
# Canon facts every accepted episode must hold before canon is compared with its replay: two empty sets are
# equal, so a season whose facts were all dropped would pass on nothing (the sim extracts 8 or more a draft).
FACT_FLOOR = 5


@dataclass
class Kill:
    n: int
    at_s: float
    phase: str                    # what was in flight, read from the folder right after the kill
    drafting: int | None          # the episode being drafted (None: still planning)
    accepted: list[int]
    snap: dict[str, tuple[int, str]]
    temps: int                    # .*.tmp files the kill left behind (the next run must remove them)
    redone: set[int] = field(default_factory=set)
    rewritten: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def ep_dir(root: Path, ep: int) -> Path:
    return root / "episodes" / f"{ep:03d}"


def accepted(root: Path) -> list[int]:
    eps = root / "episodes"
    return sorted(int(p.name) for p in eps.iterdir() if p.name.isdigit() and (p / "script.json").exists()) \
        if eps.is_dir() else []


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every saved artifact (planning and episodes): path -> (inode, sha1). A new inode means rewritten."""
    files = [root / "bible.json", root / "bible.md", root / "arc.json", *(root / "plan").rglob("*"),
             *(root / "episodes").rglob("*")]
    return {str(p.relative_to(root)): (p.stat().st_ino, hashlib.sha1(p.read_bytes()).hexdigest())
            for p in files if p.is_file() and not p.name.endswith(".tmp")}


def in_flight(root: Path, episodes: int) -> tuple[str, int | None, list[int]]:
    """(description, the episode being drafted, accepted episodes still without a shot list)."""
    if not (root / "arc.json").exists():
        return "planning", None, []
    acc = accepted(root)
    shots, nxt = [e for e in acc if not (ep_dir(root, e) / "shots.json").exists()], min(set(range(1, episodes + 1)) - set(acc), default=None)
    saved = len(list((ep_dir(root, nxt) / "revisions").glob("r*.draft.json"))) if nxt else 0
    parts = ([f"drafting ep {nxt} ({saved} drafts saved)"] if nxt else []) + [f"shots ep {e}" for e in shots]
    return " + ".join(parts) or "finishing", nxt, shots


def sql(path: Path, query: str) -> list[tuple]:
    """Read-only, so that checking never rolls back a hot journal a killed writer left (the run must)."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def start_sim(args: argparse.Namespace, work: Path) -> tuple[subprocess.Popen, str]:
    with (work / "sim.err").open("w") as err:
        proc = subprocess.Popen([*CLI, "sim", "--port", "0", "--seed", str(args.seed), "--faults", args.faults, "--log",
                                 str(work / "sim.jsonl")], stdout=subprocess.PIPE, stderr=err, text=True)
    line = proc.stdout.readline() if select.select([proc.stdout], [], [], 60)[0] else ""
    if "listening on " not in line:
        proc.kill()
        raise SystemExit(f"FAIL: cliffhanger sim did not start: {line!r} {(work / 'sim.err').read_text()[-500:]}")
    return proc, line.split("listening on ", 1)[1].strip()


def make_season(root: Path, episodes: int, language: str) -> None:
    from cliffhanger.agents.season.artifacts import SeasonSpec
    from cliffhanger.agents.season.store import SeasonStore

    zh = language == "zh"
    SeasonStore.create(root, SeasonSpec.create(
        title="千金归来" if zh else "The Heiress", genre="revenge" if zh else "revenge_us", language=language,
        logline="被调包的真千金回到豪门复仇。" if zh else "The swapped heiress returns to take her name back.",
        episodes=episodes, runtime_s=60, free_episodes=min(10, episodes - 1)))


class Runner:
    """Starts, watches and kills `cliffhanger draft` runs, all under one deadline."""

    def __init__(self, args: argparse.Namespace, work: Path, url: str) -> None:
        self.args, self.work, self.root, self.url = args, work, work / "season", url
        self.deadline = time.monotonic() + args.ceiling_s
        self.runs: list[tuple[int, str]] = []  # (exit code, or -9 for our kills; last stderr line) per run
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIFFHANGER_", "OPENAI_"))} | {
            "CLIFFHANGER_TIMEOUT_S": str(args.client_timeout_s), "CLIFFHANGER_MAX_RETRIES": "10",
            "CLIFFHANGER_MAX_ATTEMPTS": "5", "XDG_CONFIG_HOME": str(work / "xdg")}
        self.proc, self.recorded, self.usage_at_start = None, True, 0

    def log(self, kind: str) -> Path:
        return self.work / f"draft-{len(self.runs) + 1:02d}.{kind}"

    def usage_size(self) -> int:
        return (self.root / "usage.jsonl").stat().st_size if (self.root / "usage.jsonl").exists() else 0

    def start(self) -> None:
        self.usage_at_start, self.recorded = self.usage_size(), False
        with self.log("out").open("w") as out, self.log("err").open("w") as err:
            self.proc = subprocess.Popen([*CLI, "draft", str(self.root), "--provider", "sim", "--base-url", self.url,
                                          "--concurrency", str(self.args.concurrency)], stdout=out, stderr=err, env=self.env)

    def ended(self) -> bool:
        """True (and the run recorded) once the draft process has exited on its own."""
        if not self.recorded and self.proc.poll() is None:
            if time.monotonic() > self.deadline:
                self.kill()
                raise TimeoutError(f"no finished season within the {self.args.ceiling_s:.0f} s ceiling (accepted "
                              f"{len(accepted(self.root))}/{self.args.episodes}, {len(self.runs)} runs)")
            return False
        if not self.recorded:
            err = self.log("err").read_text(errors="replace").strip().splitlines()
            self.runs.append((self.proc.returncode, err[-1] if err else ""))
            self.recorded = True
        return True

    def wait(self, cond, then_s: float = 0.0) -> bool:  # noqa: ANN001
        """Poll until `cond()` holds, then wait `then_s` more; False when the run exited meanwhile."""
        until = None
        while not self.ended():
            until = until or (time.monotonic() + then_s if cond() else None)
            if until is not None and time.monotonic() >= until:
                return True
            time.sleep(0.01)
        return False

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.runs.append((-9, "killed"))
        self.recorded = True

    def finish(self) -> None:
        """Let the run finish; resume after an unexpected exit (at most 3; each is reported as a failure)."""
        while not self.wait(lambda: False) and self.runs[-1][0] != 0:
            if sum(code not in (0, -9) for code, _ in self.runs) > 3:
                return
            self.start()


def chaos(args: argparse.Namespace, work: Path, url: str) -> tuple[Runner, list[Kill]]:
    rng, runner, kills, root = random.Random(args.seed), Runner(args, work, url), [], work / "season"
    started, shots_kill = time.monotonic(), args.kills // 2 + 1
    runner.start()
    while len(kills) < args.kills:
        n = len(kills) + 1
        target = round(args.episodes * (n - 1) / args.kills)
        progressed = lambda t=target: runner.usage_size() > runner.usage_at_start and len(accepted(root)) >= t  # noqa: E731
        if n == shots_kill and n > 1:  # right after an episode is accepted, while its shot list is planned
            ok = runner.wait(progressed) and runner.wait(lambda: in_flight(root, args.episodes)[2], rng.uniform(0, 0.03))
        else:
            ok = runner.wait(progressed, rng.uniform(0, 0.5) if n == 1 else rng.uniform(0, 2.0))
        if not ok:  # the run ended before this kill: stop killing if it finished, else resume (and report it)
            if runner.runs[-1][0] == 0 or sum(code not in (0, -9) for code, _ in runner.runs) > 3:
                break
            runner.start()
            continue
        runner.kill()
        phase, drafting, _ = in_flight(root, args.episodes)
        kills.append(Kill(n, time.monotonic() - started, phase, drafting, accepted(root), snapshot(root),
                          len(list(root.rglob(".*.tmp")))))
        runner.start()
    runner.finish()
    for k, after in zip(kills, [k.snap for k in kills[1:]] + [snapshot(root)], strict=True):
        k.rewritten = [f for f, (ino, _) in k.snap.items() if after.get(f, (None,))[0] != ino]
        k.changed = [f for f in k.rewritten if f not in after or after[f][1] != k.snap[f][1]]
        # The in-flight episode is the one whose saved work was redone (say an accept step that had written
        # its files but not its checkpoint), else the one being drafted. Shot lists are counted apart.
        k.redone = {int(f.split("/")[1]) for f in k.rewritten if f.startswith("episodes/") and not f.endswith("shots.json")}
        k.redone = k.redone or ({k.drafting} if k.drafting else set())
    return runner, kills


# ---- the invariants ---------------------------------------------------------------------------------

def check_episodes(root: Path, n: int, kills: list[Kill]) -> tuple[bool, str]:
    problems, revisions = [f"missing {f}" for f in ("bible.json", "bible.md", "arc.json") if not (root / f).exists()], 0
    body = lambda data: {k: v for k, v in data.items() if k != "_meta"}  # noqa: E731
    for ep in range(1, n + 1):
        d = ep_dir(root, ep)
        missing = [f for f in ("review.json", "script.fountain", "script.json", "shots.json") if not (d / f).exists()]
        if missing or (d / "history").exists():
            problems.append(f"ep {ep}: " + (f"missing {', '.join(missing)}" if missing else "has history/"))
            continue
        review, script = json.loads((d / "review.json").read_text()), json.loads((d / "script.json").read_text())
        acc, drafts = review["accepted_revision"], sorted(p.name for p in (d / "revisions").glob("r*.draft.json"))
        revisions, draft = revisions + len(drafts), d / f"revisions/r{acc:02d}.draft.json"
        if drafts != [f"r{r:02d}.draft.json" for r in range(len(review["revisions"]))] or not draft.exists():
            problems.append(f"ep {ep}: drafts {drafts} vs {len(review['revisions'])} reviewed, accepted r{acc}")
        elif script["_meta"].get("revision") != acc or body(script) != body(json.loads(draft.read_text())):
            problems.append(f"ep {ep}: script.json is not revision r{acc}")
    changed = [(k.n, e) for k in kills for e in k.accepted if f"episodes/{e:03d}/script.json" in k.changed]
    problems += [f"ep {e} accepted before kill {k} and changed after it" for k, e in changed]
    return not problems, (f"{len(accepted(root))}/{n} accepted, {revisions} revisions, accepted scripts changed "
                          f"after a kill {len(changed)}" + ("; " + "; ".join(problems[:4]) if problems else ""))


def check_canon(root: Path, floor: int = FACT_FLOOR) -> tuple[bool, str]:
    """At least `floor` facts per accepted episode in canon.sqlite; then canon.sqlite against a fresh ledger fed
    the bible and each accepted revision's facts file, in order."""
    from cliffhanger.agents.roles.continuity import seed_canon
    from cliffhanger.agents.season.artifacts import Bible
    from cliffhanger.memory.facts import Fact
    from cliffhanger.memory.ledger import Ledger

    query = "SELECT subject, kind, attribute, value, episode, scene, change, evidence, source FROM facts"
    with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp) / "canon.sqlite") as fresh:
        bible = json.loads((root / "bible.json").read_text())
        seed_canon(fresh, Bible.model_validate({k: v for k, v in bible.items() if k != "_meta"}))
        for ep in accepted(root):
            rev = json.loads((ep_dir(root, ep) / "review.json").read_text())["accepted_revision"]
            lines = (ep_dir(root, ep) / f"revisions/r{rev:02d}.facts.json").read_text().splitlines()
            fresh.record_episode(ep, [Fact.model_validate_json(x) for x in lines if x.strip()], f"episode {ep} r{rev}")
        want = collections.Counter(fresh._db.execute(query).fetchall())
    got = collections.Counter(sql(root / "canon.sqlite", query))
    per = collections.Counter()
    for r, n in got.items():
        per[r[4]] += n
    counts = [per[ep] for ep in accepted(root)]
    thin = [ep for ep in accepted(root) if per[ep] < floor]
    floor_text = (f"facts per accepted episode min {min(counts, default=0)}, mean "
                  f"{sum(counts) / max(len(counts), 1):.1f} (floor {floor})"
                  + (f", below the floor: {thin[:8]}" if thin else ""))
    if thin or not counts:  # the floor first: a comparison of (nearly) empty sets proves nothing
        return False, floor_text + "; canon not compared with the replay"
    stray = sorted({r[4] for r in got} - {0, *accepted(root)})
    diff = sorted({r[4] for r in (want - got) + (got - want)})
    return not diff and not stray, (f"{floor_text}; {sum(got.values())} facts ({sum(counts)} from episodes) in "
                                    f"canon.sqlite, {sum(want.values())} from replaying the accepted facts files; "
                                    f"episodes differing: {diff[:8] or 'none'}; facts of unaccepted episodes: {stray or 'none'}")


def check_lore(root: Path, floor: int = FACT_FLOOR) -> tuple[bool, str]:
    import chromadb
    from chromadb.config import Settings

    from cliffhanger.memory.ledger import Ledger
    from cliffhanger.memory.lore import COLLECTION, fact_id

    with Ledger(root / "canon.sqlite") as ledger:
        facts = {fact_id(f) for f in ledger.facts() if f.episode > 0}
        want = {fact_id(f) for f in ledger.facts()} | {f"doc:{d.id}" for d in ledger.docs()}
    client = chromadb.PersistentClient(path=str(root / "lore"), settings=Settings(anonymized_telemetry=False))
    got = set(client.get_collection(COLLECTION).get(include=[])["ids"])
    enough = len(facts & got) >= floor * len(accepted(root))  # the index holds the episodes' facts, not only docs
    return got == want and enough, (f"{len(got)} items ({len(facts & got)} episode facts, floor {floor} x "
                                    f"{len(accepted(root))} episodes), the ledger has {len(want)}; missing "
                                    f"{len(want - got)}, extra {len(got - want)}")


def check_usage(root: Path) -> tuple[bool, str, dict[str, int]]:
    lines = (root / "usage.jsonl").read_bytes().split(b"\n")
    torn, rows = int(lines[-1] != b""), []
    for line in lines[:-1]:
        try:
            rows.append(json.loads(line))
        except ValueError:
            torn += 1
    calls, short, excess = collections.Counter((r["role"], r["episode"]) for r in rows), [], 0
    for ep in accepted(root):
        for role, (kind, per) in [*EXPECT.items(), ("shots", ("", 0))]:
            need = per * len(list((ep_dir(root, ep) / "revisions").glob(f"r*.{kind}.json"))) if per else 1
            short += [f"ep {ep} {role} {calls[role, ep]} < {need}"] if calls[role, ep] < need else []
            excess += max(0, calls[role, ep] - need)
    fig = {"calls": len(rows), "retries": sum(r["retries"] for r in rows), "redone": excess,
           "attempts": sum(r["attempts"] - 1 for r in rows), "requests": sum(r["attempts"] + r["retries"] for r in rows),
           "failed": sum(r["outcome"] == "failed" for r in rows)}
    roles = collections.Counter(r["role"] for r in rows)
    return torn == 0 and not short and not fig["failed"], (
        f"{len(rows)} lines, torn {torn}; " + ", ".join(f"{k} {v}" for k, v in sorted(roles.items()))
        + f"; retries {fig['retries']}, extra attempts {fig['attempts']}, failed {fig['failed']}; calls beyond the "
        f"saved artifacts {excess}" + (f"; too few: {'; '.join(short[:4])}" if short else "")), fig


def integrity(path: Path) -> tuple[bool, str]:
    verdict = sql(path, "PRAGMA integrity_check")[0][0]
    return verdict == "ok", verdict


def safe(check, *args):  # noqa: ANN001, ANN201 - a check that cannot even run is a FAIL with its reason
    try:
        return check(*args)
    except Exception as exc:  # noqa: BLE001
        return False, f"could not check: {exc.__class__.__name__}: {exc}"


def report(args: argparse.Namespace, work: Path, runner: Runner, kills: list[Kill], wall: float) -> int:
    root = work / "season"
    print(f"\n{'kill':>4} {'t (s)':>6} {'accepted':>8} {'redone':>6} {'rewritten':>9}  in flight at the kill")
    for k in kills:
        print(f"{k.n:>4} {k.at_s:>6.1f} {len(k.accepted):>8} {len(k.redone):>6} {len(k.rewritten):>9}  {k.phase}")
    final, unexpected = runner.runs[-1], [r for r in runner.runs if r[0] not in (0, -9)]
    redone, changed = [len(k.redone) for k in kills] or [0], sorted({f for k in kills for f in k.changed})
    temps = sorted(str(p.relative_to(root)) for p in root.rglob(".*.tmp"))
    usage_ok, usage_text, fig = check_usage(root) if (root / "usage.jsonl").exists() else \
        (False, "no usage.jsonl", collections.defaultdict(int))
    size = sum(p.stat().st_size for p in root.glob("checkpoints.sqlite*") if not p.name.endswith("-shm")) / 1e6
    intact = {name: safe(integrity, root / name) for name in ("checkpoints.sqlite", "canon.sqlite")}
    done = (root / "report.md").exists() and "Stopped: done" in (root / "report.md").read_text()
    checks = [
        ("runs", len(kills) == args.kills and final[0] == 0 and not unexpected and done,
         f"{len(kills)}/{args.kills} kills delivered, {len(runner.runs)} runs, final exit {final[0]}, report says "
         f"{'done' if done else 'not done'}, unexpected exits {len(unexpected)}" + (f" (last: {unexpected[-1][1][:200]})" if unexpected else "")),
        ("accepted exactly once", *safe(check_episodes, root, args.episodes, kills)),
        ("canon = accepted facts", *safe(check_canon, root)),
        ("lore index = canon", *safe(check_lore, root)),
        ("usage log complete", usage_ok, usage_text),
        ("no temp files", not temps, f"{len(temps)} .*.tmp files at the end ({sum(k.temps for k in kills)} left by "
         "the kills, for the next run to remove)" + (f": {', '.join(temps[:4])}" if temps else "")),
        ("saved work kept", not changed, f"{sum(len(k.rewritten) for k in kills)} files saved before a kill rewritten "
         f"after it with the same bytes, {len(changed)} changed or lost" + (f": {', '.join(changed[:4])}" if changed else "")),
        ("redone per kill", max(redone) <= 1, f"in-flight episodes redone: max {max(redone)}, mean "
         f"{sum(redone) / len(redone):.2f} (target <= 1); shot lists in flight at a kill {sum('shots' in k.phase for k in kills)}"),
        ("databases intact", all(ok for ok, _ in intact.values()),
         ", ".join(f"{k} {text}" for k, (_, text) in intact.items()) + f"; checkpoints {size:.1f} MB (with -wal)"),
    ]
    print()
    for name, ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {text}")
    sim = [json.loads(line) for line in (work / "sim.jsonl").read_text().splitlines() if line.strip()] \
        if (work / "sim.jsonl").exists() else []
    faults = collections.Counter(r["fault"] for r in sim if r["fault"])
    phases = {"planning": sum(k.phase == "planning" for k in kills), "drafting": sum(k.drafting is not None for k in kills),
              "shot planning": sum("shots" in k.phase for k in kills)}
    print("\n| figure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in [
        ("season", f"{args.episodes} episodes ({args.language}), concurrency {args.concurrency}, seed {args.seed}"),
        ("wall time", f"{wall:.1f} s"), ("kills", f"{len(kills)} ({', '.join(f'{v} {k}' for k, v in phases.items())})"),
        ("sim requests", f"{len(sim)}; faults {sum(faults.values())}: " + ", ".join(f"{k} {v}" for k, v in sorted(faults.items()))
         + f"; client gone (499) {sum(r['status'] == 499 for r in sim)}"),
        ("model calls", f"{fig['calls']} ({fig['retries']} transport retries, {fig['attempts']} extra attempts)"),
        ("requests lost to kills", f"{len(sim) - fig['requests']} (sim requests not accounted for in usage.jsonl)"),
        ("calls redone after kills", f"{fig['redone']} (calls beyond those the saved artifacts need)"),
        ("episodes redone per kill", f"max {max(redone)}, mean {sum(redone) / len(redone):.2f}"),
        ("checkpoint db", f"{size:.1f} MB")]))
    failed = [name for name, ok, _ in checks if not ok]
    print(f"\n{'FAIL: ' + ', '.join(failed) if failed else 'all invariants hold'}; "
          f"{'folder: ' + str(work) if args.keep else 'folder removed (pass --keep DIR to keep it)'}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=60)
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--language", choices=("zh", "en"), default="zh")
    p.add_argument("--keep", type=Path, help="keep the season, the sim log and the run logs in this folder")
    p.add_argument("--faults", default=FAULTS)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--client-timeout-s", type=float, default=3.0, help="the draft's per-request timeout")
    p.add_argument("--ceiling-s", type=float, help="give up after this long (default 240 s + 15 s per episode)")
    args = p.parse_args(argv)
    args.ceiling_s = args.ceiling_s or 240 + 15 * args.episodes
    if args.episodes < 2 or args.kills < 0:
        p.error("--episodes must be at least 2 and --kills at least 0")
    print(f"# command: python scripts/chaos.py {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip(), flush=True)
    with tempfile.TemporaryDirectory(prefix="cliffhanger-chaos-") as tmp:
        work = args.keep or Path(tmp)
        if (work / "season").exists():
            p.error(f"{work / 'season'} exists: pass an empty or new --keep folder")
        work.mkdir(parents=True, exist_ok=True)
        make_season(work / "season", args.episodes, args.language)
        sim, url = start_sim(args, work)
        started = time.monotonic()
        try:
            runner, kills = chaos(args, work, url)
        except TimeoutError as exc:  # the overall ceiling: the run is stuck or far too slow
            print(f"FAIL  ceiling: {exc}; " + (f"logs in {work}" if args.keep else "pass --keep DIR to keep the logs"))
            return 1
        finally:
            sim.terminate()
            sim.wait(timeout=30)
        return report(args, work, runner, kills, time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
