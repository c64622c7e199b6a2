"""The season commands behind the CLI: new, draft (and its dry run), status, demo.

Each turns user input into the agents' one code path (`run_season`) and prints the outcome; the
terminal UI calls the same functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError

from cliffhanger.agents.errors import UserError, format_validation_error
from cliffhanger.agents.llm.client import ModelClient
from cliffhanger.agents.llm.crew import Crew, open_crew
from cliffhanger.agents.llm.endpoint import EndpointConfig
from cliffhanger.agents.llm.local import local_available
from cliffhanger.agents.llm.profiles import price_for
from cliffhanger.agents.llm.role_names import ROOM_ROLES
from cliffhanger.agents.llm.usage import UsageLog, read_usage, usage_summary
from cliffhanger.agents.season.arc_check import check_arc
from cliffhanger.agents.season.artifacts import SeasonSpec
from cliffhanger.agents.season.report import audit_arc, audit_lines, summarise
from cliffhanger.agents.season.store import SeasonError, SeasonStore
from cliffhanger.agents.state import RunSettings
from cliffhanger.app.console import console, err_console, untrusted
from cliffhanger.app.progress import Progress
from cliffhanger.app.settings import Settings, load_settings
from cliffhanger.genres.loader import load_catalog

if TYPE_CHECKING:
    from cliffhanger.agents.run import RunResult

EXIT_STOPPED = 130


def parse_paywall(paywall: str | None) -> list[int] | None:
    """`--paywall 11,30,50` as episode numbers; None when not given (the genre pack's points then)."""
    if not paywall:
        return None
    try:
        return [int(p) for p in paywall.replace(" ", "").split(",") if p]
    except ValueError:
        raise UserError(f"--paywall {paywall!r} is not a list of episode numbers: use e.g. 11,30,50") from None


def create_season(directory: Path, *, logline: str, genre: str, episodes: int, free: int | None, paywall: str | None,
                  runtime: int, language: str | None, title: str | None, mode: str | None,
                  genres_dirs: list[Path] | None = None) -> SeasonStore:
    """A new season folder. What is not given (None) comes from the genre pack: its script language, and
    its paywall conventions (mode, free episodes, the spacing of later paywall points)."""
    pack = load_catalog(genres_dirs or []).get(genre)
    points = parse_paywall(paywall)
    if language not in (None, "zh", "en"):
        raise UserError(f"--language {language!r}: use zh or en")
    if mode not in (None, "paywall", "ad"):
        raise UserError(f"--mode {mode!r}: use paywall or ad")
    mode, free, points = pack.season_paywall(episodes, mode=mode, free=free, points=points)
    try:
        spec = SeasonSpec.create(
            title=title or logline.strip()[:40], logline=logline, genre=pack.id, language=language or pack.language,
            episodes=episodes, runtime_s=runtime, free_episodes=free if mode == "paywall" else None,
            paywall_episodes=points, mode=mode)
    except ValidationError as exc:
        raise UserError(format_validation_error(exc, "season")) from None
    return SeasonStore.create(directory, spec)


@dataclass(frozen=True)
class DraftRequest:
    directory: Path
    run: RunSettings = field(default_factory=RunSettings)
    dry_run: bool = False
    config: Path | None = None
    flags: dict[str, object] = field(default_factory=dict)  # option values as the CLI got them
    live: bool | None = None  # None: a live table on a terminal, log lines otherwise
    more: tuple[Path, ...] = ()  # further season folders, drafted beside `directory` in the same process

    @property
    def directories(self) -> tuple[Path, ...]:
        return (self.directory, *self.more)


def open_room_crew(settings: Settings, usage: UsageLog, *, sim: bool = False,
                   announce: Callable[[str], None] | None = None) -> Crew[ModelClient]:
    """The room's roles' models as `settings` say (`sim`: all on a simulator started for them), logging to
    `usage`; notices (the bundled model starting, a model asked of its server) go to `announce`, else
    stderr. Close the crew (or use it as a context manager) to stop what it started."""
    if sim:
        endpoints = {r: EndpointConfig(provider="sim", base_url="", model="sim-drama") for r in ROOM_ROLES}
    else:
        endpoints = settings.endpoints(ROOM_ROLES, local_installed=local_available())
    return open_crew(endpoints, usage=usage, policy=settings.policy(), prices=settings.price_overrides(),
                     cache_dir=settings.cache_dir,
                     announce=announce or (lambda m: err_console().print(m, markup=False)))


def draft_season(req: DraftRequest) -> int:
    """Run or resume one season; the exit code. (Several, side by side: `many_seasons.draft_seasons`.)"""
    store = SeasonStore.open(req.directory)
    settings = load_settings(req.config, req.flags)
    if req.dry_run:
        return _dry_run(store, settings, req)
    return _run(store, settings, with_video_prices(req.run, settings), req.live, sim=False)


def with_video_prices(options: RunSettings, settings: Settings) -> RunSettings:
    """`options` with the user's [video_prices], which the run's report prices its video budget with."""
    return dataclasses.replace(options, video_prices=settings.video_price_overrides())


def _run(store: SeasonStore, settings: Settings, options: RunSettings, live: bool | None, *, sim: bool) -> int:
    from cliffhanger.agents.run import run_season  # loads langgraph: only when a season runs

    spec = store.spec()
    usage = UsageLog(store.usage_path)
    configure_limits(settings, options)
    with contextlib.ExitStack() as stack:
        crew = stack.enter_context(open_room_crew(settings, usage, sim=sim))
        progress = stack.enter_context(Progress(spec.episodes, len(store.accepted_episodes()), usage, live=live))
        result = asyncio.run(run_season(store, crew, options, emit=progress.event))
    code, text = run_outcome(store, result, options)
    if result.stop == "budget":
        raise UserError(text)  # one line on stderr, exit 2; the season is intact and resumable
    t = usage.totals()
    console().print(untrusted(f"{text} ({result.wall_s:.0f} s, {t.calls} calls, ${t.cost_usd:.4f} this run)"),
                    soft_wrap=True)
    if result.stop == "arc_review":
        audit = audit_arc(store)
        if audit is not None:
            print_arc_audit([f.model_dump(mode="json") for f in audit.findings], list(audit.skipped))
    return code


def configure_limits(settings: Settings, options: RunSettings) -> None:
    """The process's endpoint limiters as `[limits]` says; an endpoint whose provider sets no max_in_flight
    takes --concurrency calls in flight, all seasons of the process together."""
    from cliffhanger.agents.llm.call_limits import process_limits

    process_limits().configure(settings.rate_limits(), default_in_flight=options.concurrency)


def run_outcome(store: SeasonStore, result: RunResult, options: RunSettings) -> tuple[int, str]:
    """The exit code of a season's run and the line that says how it ended."""
    where = store.root
    messages = {
        "done": (0, f"season complete: {len(result.accepted)} episodes in {where}; report: {store.report_path}"),
        "until": (0, f"stopped after episode {options.until} as asked; run `cliffhanger draft {where}` to continue"),
        "arc_review": (0, f"the arc is ready for your review: {store.arc_path} (edit it if you like; "
                          f"`cliffhanger arc check {where}` re-checks it after an edit), then run "
                          f"`cliffhanger draft {where}` to approve it and continue"),
        "interrupted": (EXIT_STOPPED, f"stopped at a step boundary; run `cliffhanger draft {where}` to resume"),
        "budget": (2, result.message),
        "failed": (1, f"the run failed; run `cliffhanger draft {where}` to resume"),
    }
    return messages.get(result.stop, (0, f"stopped: {result.stop}"))


def _dry_run(store: SeasonStore, settings: Settings, req: DraftRequest) -> int:
    """Draft a copy of the season against the simulator and estimate what the real run would cost."""
    with tempfile.TemporaryDirectory(prefix="cliffhanger-dry-") as tmp:
        copy = Path(tmp) / "season"
        copy.mkdir()
        shutil.copy2(store.spec_path, SeasonStore(copy).spec_path)  # the same spec and season id
        dry = SeasonStore.open(copy)
        # The simulator costs nothing: no budget, and no arc review pause in the copy.
        _run(dry, settings, dataclasses.replace(req.run, budget_usd=None, review_arc=False), False, sim=True)
        usage = usage_summary(read_usage(dry.usage_path))
    total = 0.0
    unknown = []
    out = console()
    out.print("dry run against the simulator (the real season was not touched):")
    for role in ROOM_ROLES:
        if role not in usage.by_role:
            continue
        used = usage.by_role[role]
        try:
            ep = settings.endpoint(role)
            # No model configured: the run would use the server's one model (asked when it starts).
            price = price_for(ep.model, ep.provider, settings.price_overrides())
            name = ep.model or "(the server's one model)"
        except UserError:
            price, name = None, "(no model configured)"
        cost = price.cost(used.tokens_in, used.tokens_out, used.cached_in) if price else None  # cache hits priced
        if cost is None:
            unknown.append(role)
        else:
            total += cost
        shown = f"${cost:.4f}" if cost is not None else "price unknown"
        out.print(f"  {role:11} {used.calls:5d} calls {used.tokens_in:>10,} in ({used.cached_in:,} cached) "
                  f"{used.tokens_out:>9,} out  {name}: {shown}",
                  markup=False)
    ref = {m: p.cost(usage.tokens_in, usage.tokens_out, usage.cached_in)
           for m in ("deepseek-chat", "gpt-4o-mini") if (p := price_for(m, "openai"))}
    out.print(f"estimated cost with your models: ${total:.4f}" + (f" (+ unknown for {', '.join(unknown)})" if unknown else ""),
              markup=False)
    out.print("at reference prices: " + ", ".join(f"{m} ${c:.4f}" for m, c in ref.items()), markup=False)
    return 0


def season_status(directory: Path, *, as_json: bool) -> None:
    store = SeasonStore.open(directory)
    summary = summarise(store)
    running = store.lock_holder() or ""
    report = store.report_path
    stopped = next((ln.split(":", 1)[1].strip() for ln in report.read_text(encoding="utf-8", errors="replace").splitlines()
                    if ln.startswith("- Stopped:")), "") if report.exists() else "never run"
    state = f"running ({running})" if running else f"not running; last run: {stopped}"
    if as_json:
        typer.echo(json.dumps({**summary.as_dict(), "state": state, "running": bool(running)}, ensure_ascii=False,
                              indent=2))
        return
    out = console()
    out.print(untrusted(f"{summary.title}: {summary.accepted}/{summary.episodes} episodes accepted, "
                        f"{summary.with_shots} shot lists; {state}"), soft_wrap=True)
    out.print(f"{summary.calls} model calls, {summary.tokens_in + summary.tokens_out:,} tokens, "
              f"${summary.cost_usd:.4f}" + (f" (+{summary.cost_unknown_calls} calls at unknown prices)"
                                             if summary.cost_unknown_calls else ""), markup=False)
    from rich.table import Table  # rich only when a table is printed, as app.console does

    table = Table("ep", "status", "paywall", "cliffhanger", "revisions", "score", "open findings", "arc", "shots")
    for ln in summary.lines:
        if ln.status == "planned" and ln.episode > summary.accepted + 3 and not ln.arc_findings:
            continue
        table.add_row(str(ln.episode), ln.status, ln.paywall_point, untrusted(ln.cliffhanger),
                      str(ln.revisions), f"{ln.overall:.1f}" if ln.overall is not None else "", str(ln.open_findings),
                      f"{len(ln.arc_findings)}!" if ln.arc_findings else "", str(ln.shots or ""))
    out.print(table)
    if summary.arc_checked:
        print_arc_audit(summary.arc_findings, summary.arc_skipped)
        if summary.arc_findings:
            out.print(untrusted(f"all findings: `cliffhanger arc check {store.root}`"), soft_wrap=True)


def print_arc_audit(findings: list[dict[str, object]], skipped: list[str]) -> None:
    """The arc audit under a status or the arc review: counts per rule, the first findings one a line."""
    out = console()
    for line in audit_lines(findings, skipped):
        out.print(untrusted(line), soft_wrap=True)


def check_season_arc(directory: Path, *, as_json: bool, genres_dirs: list[Path]) -> int:
    """`cliffhanger arc check`: the audit of the season's arc; returns 0 clean, 1 findings (bad input raises)."""
    store = SeasonStore.open(directory)
    spec = store.spec()
    arc = store.arc()
    if arc is None:
        raise SeasonError(f"{store.arc_path}: no arc yet: plan it with `cliffhanger draft {directory} --review arc`")
    bible = store.bible()
    problems = arc.problems_against(spec, bible)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SeasonError(f"{store.arc_path}: does not match the season: {problems[0]}{more}")
    audit = check_arc(arc, bible, spec, load_catalog(genres_dirs).get(spec.genre))
    if as_json:
        typer.echo(json.dumps([f.model_dump(mode="json") for f in audit.findings], ensure_ascii=False, indent=2))
        for why in audit.skipped:
            typer.echo(f"skipped {why}", err=True)
    else:
        for finding in audit.findings:
            typer.echo(finding.line())
        for why in audit.skipped:
            typer.echo(f"skipped {why}")
        found = f"{len(audit.findings)} finding{'s' if len(audit.findings) != 1 else ''}" if audit.findings else "clean"
        typer.echo(f"arc check: {found} ({len(arc.rows)} episodes)")
    return 1 if audit.findings else 0


def run_demo(directory: Path | None, config: Path | None, flags: dict[str, object]) -> int:
    """A 3-episode season, the third behind the paywall, drafted with the default model."""
    settings = load_settings(config, flags)
    if directory is None:
        directory = Path("cliffhanger-demo")
        n = 2
        while (directory / "season.toml").exists():
            directory = Path(f"cliffhanger-demo-{n}")
            n += 1
    if (directory / "season.toml").exists():
        store = SeasonStore.open(directory)
    else:
        store = create_season(directory, logline="A maid humiliated at the engagement party is the heiress they "
                              "swapped at birth, and tonight she takes her name back.", genre="revenge_us",
                              episodes=3, free=2, paywall="3", runtime=30, language="en",
                              title="The Swapped Heiress", mode="paywall")
    typer.echo(f"demo season in {directory}")
    return _run(store, settings, RunSettings(max_revisions=0, concurrency=2), None, sim=False)
