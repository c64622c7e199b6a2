"""The `cliffhanger` command line.

Start-up stays light: langchain, chromadb, textual and the sim server load only inside the commands
that need them. Errors a user can fix print one line and exit 2; bugs print one line and leave their
traceback in the log file.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cliffhanger.agents.errors import UserError, one_line
from cliffhanger.app import cli_serve
from cliffhanger.app.error_log import log_to_file, log_traceback
from cliffhanger.genres.errors import GenreError

app = typer.Typer(
    name="cliffhanger",
    help="An AI writers' room for serialized vertical micro-dramas.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
canon_app = typer.Typer(help="Check and query the canon ledger.", no_args_is_help=True)
genres_app = typer.Typer(help="List, show and validate genre packs.", no_args_is_help=True)
app.add_typer(canon_app, name="canon")
app.add_typer(genres_app, name="genres")
arc_app = typer.Typer(help="Audit a season's arc (no model needed).", no_args_is_help=True)
app.add_typer(arc_app, name="arc")
cli_serve.register(app)  # serve, submit


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


ConfigOpt = Annotated[Path | None, typer.Option("--config", help="settings file (default: the user's cliffhanger.toml)")]
ProviderOpt = Annotated[str | None, typer.Option("--provider", help="openai, deepseek, qwen, ollama, vllm, llama-server, llama-cpp-python, local, sim")]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible base URL, ending in /v1")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="model name for every role")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="text for people, json for scripts")]
GenresDirOpt = Annotated[list[Path] | None, typer.Option("--genres-dir", help="extra folder of user packs (repeatable)")]


# ---- model commands -------------------------------------------------------------------------------


@app.command()
def doctor(
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    provider: ProviderOpt = None,
    config: ConfigOpt = None,
    timeout: Annotated[float, typer.Option("--timeout", help="seconds per probe")] = 30.0,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Probe the configured (or given) endpoint and report what works.

    Exit 0 when a structured-output method works, 1 when none does, 2 on bad arguments.
    """
    import asyncio

    from cliffhanger.agents.llm.crew import open_crew
    from cliffhanger.agents.llm.doctor import run_doctor
    from cliffhanger.agents.llm.local import local_available
    from cliffhanger.app.console import err_console, print_doctor
    from cliffhanger.app.settings import load_settings

    if not timeout > 0:
        raise UserError(f"--timeout {timeout:g}: must be more than 0 seconds per probe")
    settings = load_settings(config, {"base_url": base_url, "model": model, "provider": provider})
    endpoint = settings.endpoint("writer", local_installed=local_available())
    with open_crew({"doctor": endpoint}, cache_dir=settings.cache_dir,
                   announce=lambda m: err_console().print(m, markup=False)) as crew:
        report = asyncio.run(run_doctor(crew.endpoints["doctor"], timeout_s=timeout))
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_doctor(report)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def sim(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1; 0 picks a free one")] = 8765,
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="seed: same seed and request give the same answer")] = 0,
    tps: Annotated[float, typer.Option(help="output tokens per second; 0 answers at once")] = 0.0,
    ttft_ms: Annotated[int, typer.Option("--ttft-ms", help="time to first token, ms")] = 0,
    max_concurrency: Annotated[int, typer.Option("--max-concurrency", help="429 beyond this many in flight; 0 = no cap")] = 0,
    faults: Annotated[str, typer.Option(help="KIND:P,... with KIND 429, 500, timeout, malformed, truncate, think, "
                                             "inject (markup, escape codes, instructions, path tricks in strings), "
                                             "huge (a 100,000-character string), nested (10,000 levels of JSON), "
                                             "hostile (one of those three); e.g. 429:0.1,500:0.05,hostile:0.3")] = "",
    quirks: Annotated[str, typer.Option(help="e.g. no-json-schema,no-stream-usage (see README)")] = "",
    log: Annotated[Path | None, typer.Option(help="append one JSON line per request to this file")] = None,
    api_key: Annotated[str | None, typer.Option("--require-key", help="answer 401 unless this bearer key is sent")] = None,
) -> None:
    """Run the deterministic OpenAI-compatible simulator (for dry runs, benchmarks and tests)."""
    from cliffhanger.agents.sim.config import SimConfig
    from cliffhanger.agents.sim.faults import parse_faults, parse_quirks
    from cliffhanger.agents.sim.runner import serve

    try:
        plan, quirk_set = parse_faults(faults), parse_quirks(quirks)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port} is not a port number: use 0-65535 (0 picks a free one)")
    if tps < 0 or ttft_ms < 0 or max_concurrency < 0:
        raise UserError("--tps, --ttft-ms and --max-concurrency must be zero or more")
    serve(SimConfig(host=host, port=port, seed=seed, tps=tps, ttft_ms=ttft_ms, max_concurrency=max_concurrency,
                    faults=plan, quirks=quirk_set, log_path=log, api_key=api_key))


# ---- commands that later issues fill --------------------------------------------------------------


@app.command()
def new(
    directory: Annotated[Path, typer.Argument(help="season folder to create")],
    genre: Annotated[str | None, typer.Option(help="genre pack id (cliffhanger genres list; without it, new lists "
                                                   "them by audience)")] = None,
    logline: Annotated[str | None, typer.Option(help="one-sentence premise")] = None,
    from_file: Annotated[Path | None, typer.Option("--from", help="start from an existing script (Fountain or plain text): its opening becomes the first episodes")] = None,
    episodes: Annotated[int, typer.Option(help="episode count")] = 60,
    free: Annotated[int | None, typer.Option(help="free episodes before the first paywall (default: the genre's usual)")] = None,
    paywall: Annotated[str | None, typer.Option(help="paywall episodes, e.g. 11,30,50 (default: after the free episodes, "
                                                     "then the genre's usual spacing)")] = None,
    runtime: Annotated[int, typer.Option(help="target seconds per episode")] = 90,
    language: Annotated[str | None, typer.Option(help="zh or en (default: the genre pack's)")] = None,
    title: Annotated[str | None, typer.Option(help="series title (default: from the logline)")] = None,
    mode: Annotated[str | None, typer.Option(help="paywall or ad (ad-supported: every episode free; default: the "
                                                  "genre's usual)")] = None,
    genres_dir: GenresDirOpt = None,
) -> None:
    """Create a season folder with its season.toml (refuses to overwrite an existing season)."""
    from cliffhanger.app.seasons import create_season

    if genre is None:
        from cliffhanger.app.genre_view import print_catalog_by_audience, warn_broken
        from cliffhanger.genres.loader import load_catalog

        catalog = load_catalog(genres_dir or [])
        warn_broken(catalog.problems)
        print_catalog_by_audience(catalog)
        raise UserError("choose a genre: cliffhanger new DIR --genre ID (the genres above, by audience)")
    if from_file is not None and logline is not None:
        raise UserError("give --logline or --from, not both: an imported season takes its premise from the script "
                        "(edit bible.json afterwards to change it)")
    if from_file is not None:
        from cliffhanger.app.importer import import_script
        from cliffhanger.genres.loader import load_catalog

        if mode in (None, "paywall", "ad"):  # the genre's paywall conventions fill what is not given
            try:
                given = [int(p) for p in paywall.replace(" ", "").split(",") if p] if paywall else None
            except ValueError:
                given = None  # the importer names the bad value
            pack = load_catalog(genres_dir or []).get(genre)
            mode, free, points = pack.season_paywall(episodes, mode=mode, free=free, points=given)
            paywall = paywall or (",".join(str(p) for p in points) if points else None)
        store = import_script(from_file, directory, genre=genre, language=language, title=title, episodes=episodes,
                              free=free if free is not None else 0, runtime=runtime, mode=mode or "paywall",
                              paywall=paywall, genres_dirs=genres_dir or [])
    elif logline is None:
        raise UserError("give --logline TEXT, or --from SCRIPT to import a script's opening")
    else:
        store = create_season(directory, logline=logline, genre=genre, episodes=episodes, free=free, paywall=paywall,
                              runtime=runtime, language=language, title=title, mode=mode, genres_dirs=genres_dir or [])
    spec = store.spec()
    typer.echo(f"created {directory}: {spec.title} ({spec.genre}, {spec.language}, {spec.episodes} episodes, "
               f"{spec.paywall.mode}); next: cliffhanger draft {directory}")


@app.command()
def draft(
    directories: Annotated[list[Path], typer.Argument(help="season folders (several: side by side)", metavar="DIR")],
    until: Annotated[int | None, typer.Option(help="stop after this episode (of each season)")] = None,
    concurrency: Annotated[int, typer.Option(help="model calls in flight at once, per season, and per endpoint for "
                                                  "all seasons together (unless [limits] max_in_flight)")] = 4,
    budget_usd: Annotated[float | None, typer.Option("--budget-usd", help="stop before a call would pass this spend "
                                                                         "(per season)")] = None,
    review: Annotated[str | None, typer.Option(help="'arc' pauses after the arc for your review")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="draft a copy against the simulator; estimate tokens and "
                                                            "cost (several folders: each in turn)")] = False,
    max_revisions: Annotated[int, typer.Option("--max-revisions", help="revisions per episode before the best wins")] = 2,
    target: Annotated[str, typer.Option(help="video model for shot lists: kling, runway, sora, veo, hailuo, wan, skyreels, generic")] = "generic",
    checkpoint_url: Annotated[str | None, typer.Option("--checkpoint-url", help="PostgreSQL URL for the checkpoints "
                                                       "(default: the season folder's SQLite file)")] = None,
    move_checkpoints: Annotated[bool, typer.Option("--move-checkpoints", help="let a season's checkpoints move to "
                                                   "where this run keeps them")] = False,
    config: ConfigOpt = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
) -> None:
    """Draft the season (the overnight run); resumes where it stopped.

    Several folders are drafted side by side, sharing each endpoint's limits (--concurrency, [limits] in
    cliffhanger.toml, a 429's Retry-After), each with its own lock, budget and report; one that fails is named
    at the end. Exit code: the worst of the seasons' (2 bad input, 1 failure, 130 stopped, 0 done).
    """
    from cliffhanger.agents.state import RunSettings
    from cliffhanger.app.seasons import DraftRequest, draft_season

    if review not in (None, "arc"):
        raise UserError(f"--review {review!r} is not supported: use --review arc")
    run = RunSettings(until=until, concurrency=concurrency, budget_usd=budget_usd, review_arc=review == "arc",
                      max_revisions=max_revisions, target=target, checkpoint_url=checkpoint_url,
                      move_checkpoints=move_checkpoints)
    req = DraftRequest(directory=directories[0], run=run, dry_run=dry_run, config=config,
                       flags={"provider": provider, "base_url": base_url, "model": model}, more=tuple(directories[1:]))
    if req.more:
        from cliffhanger.app.many_seasons import draft_seasons

        raise typer.Exit(draft_seasons(req))
    code = draft_season(req)
    raise typer.Exit(code)


@app.command()
def status(directory: Annotated[Path, typer.Argument(help="season folder")], fmt: FormatOpt = OutputFormat.text) -> None:
    """What is done, what is running or where it stopped, and the cost so far."""
    from cliffhanger.app.seasons import season_status

    season_status(directory, as_json=fmt is OutputFormat.json)


@app.command()
def chat(
    directory: Annotated[Path | None, typer.Argument(help="season folder (omit to create one)")] = None,
    config: ConfigOpt = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
) -> None:
    """Open the showrunner's room, the terminal UI: board, episodes, bible and canon, chat."""
    from cliffhanger.app.tui.app import run_chat

    raise typer.Exit(run_chat(directory, config, {"provider": provider, "base_url": base_url, "model": model}))


@app.command()
def export(
    directory: Annotated[Path, typer.Argument(help="season folder")],
    fmt: Annotated[str, typer.Option("--format", help="fountain, fdx, zh-script, shots-json, shots-csv, jobs, keyframes, references, budget, tts, bible-md, html; per episode: srt, vtt, otio, edl, fcpxml")],
    target: Annotated[str | None, typer.Option(help="video model: kling, runway, sora, veo, hailuo, wan, skyreels, generic; all (budget)")] = None,
    out: Annotated[str | None, typer.Option(help="output file, or folder (an existing one, or ending in /); default: DIR/exports/")] = None,
    episodes: Annotated[str | None, typer.Option(help="which episodes, e.g. 1-10 or 3,5 (default: all)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Export scripts (Fountain, Final Draft, Chinese format), shot lists, video-model jobs, keyframe and reference
    sheet prompts (DIR/assets.toml maps their ids to your images, which the jobs then carry), the video budget
    (a table here, JSON in the file; [video_prices] in cliffhanger.toml set the prices), timed lines for
    text-to-speech (tts) or the season book."""
    from cliffhanger.app.export import run_export

    run_export(directory, fmt, target=target, out=out, episodes=episodes, config=config)


@canon_app.command("check")
def canon_check(
    canon: Annotated[Path, typer.Option("--canon", help="canon facts, JSONL (entity lines with aliases allowed)")],
    episode: Annotated[Path, typer.Option("--episode", help="the facts to check, JSONL")],
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Check facts against canon and against themselves. Exit 0: none, 1: violations, 2: bad input."""
    from cliffhanger.app.canon_view import print_violations
    from cliffhanger.memory.checker import check, resolver
    from cliffhanger.memory.facts import FactFileError, read_jsonl

    try:
        canon_entities, canon_facts = read_jsonl(canon)
        episode_entities, episode_facts = read_jsonl(episode)
    except FactFileError as exc:
        raise UserError(str(exc)) from None
    aliases: dict[str, str] = {}
    for path, entities in ((canon, canon_entities), (episode, episode_entities)):
        for e in entities:
            for name in (e.id, e.name, *e.aliases):
                if name and aliases.setdefault(name, e.id) != e.id:
                    raise UserError(f"{path}: entity {e.id!r}: the name {name!r} already names {aliases[name]!r}: "
                                    "give each name to one entity")
    violations = check(canon_facts, episode_facts, resolver(aliases))
    if fmt is OutputFormat.json:
        typer.echo(json.dumps([v.as_dict() for v in violations], ensure_ascii=False, indent=2))
    else:
        print_violations(violations, len(episode_facts))
    raise typer.Exit(1 if violations else 0)


@canon_app.command("query")
def canon_query(
    directory: Annotated[Path, typer.Argument(help="season folder")],
    text: Annotated[str, typer.Argument(help="what to look for, in any language")],
    until_episode: Annotated[int | None, typer.Option("--until-episode", help="canon as of this episode")] = None,
    limit: Annotated[int, typer.Option(help="related lore items to show")] = 8,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """What canon says: the state of the entities the question names, and related lore, with episodes."""
    from cliffhanger.agents.season.store import SeasonStore
    from cliffhanger.app.canon_view import print_answer
    from cliffhanger.memory.query import answer

    if until_episode is not None and until_episode < 0:
        raise UserError(f"--until-episode {until_episode}: give an episode number (0 = the bible, before episode 1)")
    if limit < 1:
        raise UserError(f"--limit {limit}: show at least 1 related lore item")
    folder = _canon_dir(directory)
    # chromadb is not safe to open beside the process drafting the season: answer from the ledger alone then.
    lore = SeasonStore(folder).lock_holder() is None
    result = answer(folder, text, until_episode=until_episode, limit=limit, lore=lore)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_answer(result)


@canon_app.command("reindex")
def canon_reindex(directory: Annotated[Path, typer.Argument(help="season folder")]) -> None:
    """Rebuild the lore index (lore/) from the canon ledger (canon.sqlite)."""
    from cliffhanger.agents.season.store import SeasonStore
    from cliffhanger.memory.ledger import Ledger
    from cliffhanger.memory.lore import LoreIndex

    folder = _canon_dir(directory)
    with SeasonStore(folder).lock(), Ledger(folder / "canon.sqlite") as ledger:  # never beside a running draft
        count = LoreIndex(folder / "lore").rebuild(ledger)
    typer.echo(f"reindexed {count} items into {folder / 'lore'}")


def _canon_dir(directory: Path) -> Path:
    from cliffhanger.agents.season.store import SPEC, SeasonStore
    from cliffhanger.memory.ledger import LedgerError, check_ledger

    if (directory / SPEC).is_file():
        SeasonStore.open(directory)  # a damaged or newer-format season is refused, not misread
    if not (directory / "canon.sqlite").is_file():
        raise UserError(f"no canon ledger in {directory} (canon.sqlite): give a season folder that has been drafted")
    try:
        check_ledger(directory / "canon.sqlite")
    except LedgerError as exc:
        raise UserError(str(exc)) from None
    return directory


@arc_app.command("check")
def arc_check(
    directory: Annotated[Path, typer.Argument(help="season folder")],
    fmt: FormatOpt = OutputFormat.text,
    genres_dir: GenresDirOpt = None,
) -> None:
    """Audit the season's arc against its bible, paywall plan and genre pack (payoff and cliffhanger variety,
    the cut, the reveal schedule, plants, the antagonist ladder). Exit 0: clean, 1: findings, 2: bad input.
    """
    from cliffhanger.app.seasons import check_season_arc

    raise typer.Exit(check_season_arc(directory, as_json=fmt is OutputFormat.json, genres_dirs=genres_dir or []))


@genres_app.command("list")
def genres_list(fmt: FormatOpt = OutputFormat.text, genres_dir: GenresDirOpt = None) -> None:
    """List the genre packs: built-in, the user's config dir genres/, and --genres-dir."""
    from cliffhanger.app.genre_view import catalog_rows, print_catalog, warn_broken
    from cliffhanger.genres.loader import load_catalog

    catalog = load_catalog(genres_dir or [])
    warn_broken(catalog.problems)

    if fmt is OutputFormat.json:
        typer.echo(json.dumps(catalog_rows(catalog), ensure_ascii=False, indent=2))
        return

    print_catalog(catalog)


@genres_app.command("show")
def genres_show(
    name: Annotated[str, typer.Argument(help="genre pack id (or its zh/en name)")],
    runtime: Annotated[int, typer.Option(help="episode runtime for the beat timings, seconds")] = 90,
    genres_dir: GenresDirOpt = None,
) -> None:
    """Show one genre pack: acts, beats, cliffhanger kinds, paywall conventions, weights, look."""
    from cliffhanger.app.genre_view import print_pack
    from cliffhanger.genres.loader import load_catalog

    if not 20 <= runtime <= 600:
        raise UserError(f"--runtime {runtime} is outside 20-600 seconds")
    catalog = load_catalog(genres_dir or [])
    print_pack(catalog.get(name), runtime)


@genres_app.command("validate")
def genres_validate(
    path: Annotated[Path, typer.Argument(help="a genre pack YAML file")],
    genres_dir: GenresDirOpt = None,
) -> None:
    """Check a pack file; print every problem as FILE:LINE: FIELD: MESSAGE. Exit 1 when invalid."""
    from cliffhanger.genres.loader import validate_file

    if path.is_dir():
        raise UserError(f"{path} is a folder: give the path of one .yaml genre pack (or use it as --genres-dir)")
    if not path.is_file():
        raise UserError(f"{path} not found: give the path of a .yaml genre pack")
    try:
        pack = validate_file(path, genres_dir or [])
    except GenreError as exc:
        for problem in exc.problems:
            typer.echo(problem)
        typer.echo(f"invalid: {len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"ok: {path} is a valid genre pack ({pack.id})")


@app.command("eval")
def eval_(
    suite: Annotated[str, typer.Argument(help="suite name (smoke, standard, long) or YAML path")],
    config: Annotated[list[Path], typer.Option("--config", help="a configuration TOML; give two or more")],
    judge: Annotated[str | None, typer.Option(help="judge model (default: the judge role of your settings)")] = None,
    judge_provider: Annotated[str | None, typer.Option(help="the judge's provider profile")] = None,
    judge_base_url: Annotated[str | None, typer.Option(help="the judge's OpenAI-compatible base URL")] = None,
    out: Annotated[Path | None, typer.Option(help="eval folder (default: ./eval-SUITE); re-run to continue")] = None,
    budget_usd: Annotated[float | None, typer.Option(help="stop before the whole eval passes this cost")] = None,
    bootstrap: Annotated[int, typer.Option(help="bootstrap resamples (over premises) for the intervals", min=100)] = 1000,
    genres_dir: GenresDirOpt = None,
    seasons: Annotated[int, typer.Option(help="(premise, config) seasons drafted at once")] = 4,
    server: Annotated[str | None, typer.Option(help="draft the room seasons on this `cliffhanger serve` URL")] = None,
) -> None:
    """Compare script quality across configurations: draft, measure, judge pairwise, report."""
    from cliffhanger.app.eval_cmd import run_eval_command

    raise typer.Exit(run_eval_command(suite, config, judge=judge, judge_provider=judge_provider,
                                      judge_base_url=judge_base_url, out=out, budget_usd=budget_usd,
                                      bootstrap=bootstrap, genres_dirs=genres_dir, seasons=seasons, server=server))


@app.command()
def demo(
    directory: Annotated[Path | None, typer.Argument(help="folder for the demo season (default: ./cliffhanger-demo)")] = None,
    config: ConfigOpt = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
) -> None:
    """Create and draft a 3-episode demo season (the third behind the paywall) with the default model."""
    from cliffhanger.app.seasons import run_demo

    raise typer.Exit(run_demo(directory, config, {"provider": provider, "base_url": base_url, "model": model}))


# ---- entry point ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: one line and exit 2 for user errors, never a traceback on screen."""
    log_to_file()
    try:
        code = app(args=argv, prog_name="cliffhanger", standalone_mode=False)
        # Without standalone mode the parser returns typer.Exit codes instead of raising them, and
        # turns Ctrl-C into a returned 130.
        if code == 130:
            _fail("interrupted", 130)
        sys.exit(code if isinstance(code, int) else 0)
    except UserError as exc:
        _fail(f"error: {one_line(str(exc), 400)}", exc.exit_code)
    except GenreError as exc:
        _fail(f"error: {one_line(str(exc), 600)}", exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", 130)
    except typer.TyperException as exc:  # usage errors from the argument parser
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
            sys.exit(0)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        _fail(f"error: {one_line(message)}{hint}", int(getattr(exc, "exit_code", 2)))
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        log = log_traceback()
        _fail(f"internal error: {exc.__class__.__name__}: {one_line(str(exc), 200)} (traceback in {log})", 1)


def _fail(message: str, code: int) -> None:
    from cliffhanger.agents.llm.endpoint import redact

    print(redact(message, None), file=sys.stderr)
    sys.exit(code)
