"""Bad input, command by command: a corpus of what users get wrong, and what cliffhanger must do about it.

Every case runs `cliffhanger ...` in-process and checks the project rule: exit 2 (or the documented
code: `genres validate` exits 1 with FILE:LINE problems), exactly one line on stderr that starts with
`error:` and names what was wrong, no traceback anywhere, and every file and folder the user had (the
test's tmp_path, user config included, the log folder excepted) byte for byte unchanged, with nothing new
beside them: no temp files, no half-made seasons, no lock or lore left behind by a refused run.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pytest
import yaml
from season_kit import make_season, run_cli

from cliffhanger.agents.season.store_io import FORMAT

# ---- the harness ------------------------------------------------------------------------------------------

LOG_DIR = "xdg-state"  # where an internal error would leave its traceback: not the user's files




def snapshot(root: Path) -> dict[str, str]:
    """Every file (by content hash), folder and link under root, except the log folder."""
    seen = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if rel.parts[0] == LOG_DIR:
            continue
        if p.is_symlink():
            seen[str(rel)] = "link -> " + str(p.readlink())
        elif p.is_dir():
            seen[str(rel)] = "folder"
        else:
            seen[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return seen


def changes(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    out = {k: "new" for k in after.keys() - before.keys()}
    out |= {k: "gone" for k in before.keys() - after.keys()}
    out |= {k: "changed" for k in before.keys() & after.keys() if before[k] != after[k]}
    return out


@dataclass
class Call:
    """One command and what it must say: `says` is a fragment of the one stderr line (or, for
    `genres validate`, of the FILE:LINE problems on stdout)."""

    argv: list[object]
    says: str
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)
    problems_in: Path | None = None  # `genres validate`: every stdout line is `<this file>:LINE: ...`


OPENING = """Title: The Heiress

INT. LIN MANSION - HALL - NIGHT

Rain hammers the windows. LIN WAN, soaked, stands in the doorway.

LIN WAN
Hello, father. You look like you've seen a ghost.

MR LIN
You are not my daughter. My daughter died ten years ago.

EXT. LIN MANSION - GATE - NIGHT

Lin Wan walks out into the storm. A black car waits.

LIN WAN
Then whose am I?
"""

GOOD_FACT = ('{"subject": "lin_xia", "kind": "state", "attribute": "status", "value": "alive", "episode": 1, '
             '"scene": 1, "change": true, "evidence": "林夏推门而入。"}')

PREMISE = ("  - id: one\n    title: The Heiress\n    logline: A swapped heiress comes home on the night of the gala.\n"
           "    genre: revenge_us\n    language: en\n    episodes: 4\n    free: 2\n")

JUDGE = ["--judge", "sim-drama", "--judge-provider", "sim"]


class Kit:
    """What a case builds in the user's folder (tmp_path/user): seasons, scripts, packs, configs."""

    def __init__(self, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.root = tmp_path
        self.user = tmp_path / "user"
        self.user.mkdir()
        self.request = request

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.user / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def season(self, name: str = "season", episodes: int = 4) -> Path:
        """A new season: season.toml only, nothing drafted."""
        return make_season(self.user / name, episodes, free=2).root

    def imported(self, name: str = "imported") -> Path:
        """A season with a bible, an accepted episode 1 and canon, made without a model (`new --from`)."""
        from cliffhanger.app.importer import import_script

        script = self.write("opening.fountain", OPENING)
        import_script(script, self.user / name, genre="revenge_us", language=None, title=None, episodes=4, free=2,
                      runtime=60)
        return self.user / name

    def model_flags(self) -> list[str]:
        """Flags for the conftest simulator: a draft that wrongly went ahead would talk to it, never the network."""
        url = self.request.getfixturevalue("sim_url")
        return ["--provider", "openai-compatible", "--base-url", url, "--model", "sim-drama"]

    def pack(self, name: str, **changes: object) -> Path:
        """A copy of the built-in revenge pack as a user pack, with `changes` (None deletes a key)."""
        text = resources.files("cliffhanger.genres").joinpath("packs", "revenge.yaml").read_text(encoding="utf-8")
        data = {**yaml.safe_load(text), "id": Path(name).stem}
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return self.write(name, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))

    def eval_config(self, name: str, extra: str = "") -> Path:
        return self.write(f"{name}.toml", f'name = "{name}"\nprovider = "sim"\n{extra}')

    def hold_lock(self, season: Path) -> int:
        """Another process drafting the season: it holds the season's lock until the test ends."""
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sys; from pathlib import Path; from cliffhanger.agents.season.store import "
             f"SeasonStore\nwith SeasonStore.open(Path({str(season)!r})).lock():\n"
             "    print('locked', flush=True); sys.stdin.read()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def release() -> None:
            holder.stdin.close()
            holder.wait(timeout=10)

        self.request.addfinalizer(release)
        assert holder.stdout.readline().strip() == "locked"
        return holder.pid


CASES: dict[str, Callable[[Kit], Call]] = {}


def case(name: str) -> Callable[[Callable[[Kit], Call]], Callable[[Kit], Call]]:
    def register(fn: Callable[[Kit], Call]) -> Callable[[Kit], Call]:
        assert name not in CASES, name
        CASES[name] = fn
        return fn
    return register


# ---- the command line itself ---------------------------------------------------------------------------

def _new(k: Kit, *flags: object) -> list[object]:
    return ["new", k.user / "fresh", "--logline", "A swapped heiress comes home.", "--genre", "revenge", *flags]


@case("cli-unknown-option")
def _(k: Kit) -> Call:
    return Call(_new(k, "--colour", "red"), "No such option: --colour")


@case("cli-unknown-command")
def _(k: Kit) -> Call:
    return Call(["publish", k.user], "No such command 'publish'")


@case("cli-new-episodes-0")
def _(k: Kit) -> Call:
    return Call(_new(k, "--episodes", "0"), "episodes: must be between 1 and 300 (got 0)")


@case("cli-new-episodes-not-a-number")
def _(k: Kit) -> Call:
    return Call(_new(k, "--episodes", "sixty"), "Invalid value for '--episodes'")


@case("cli-new-runtime-negative")
def _(k: Kit) -> Call:
    return Call(_new(k, "--runtime", "-5"), "runtime_s: must be between 20 and 600 seconds (got -5)")


@case("cli-new-language-fr")
def _(k: Kit) -> Call:
    return Call(_new(k, "--language", "fr"), "--language 'fr': use zh or en")


@case("cli-new-mode-free")
def _(k: Kit) -> Call:
    return Call(_new(k, "--mode", "free"), "--mode 'free': use paywall or ad")


@case("cli-new-paywall-not-numbers")
def _(k: Kit) -> Call:
    return Call(_new(k, "--paywall", "3,x"), "--paywall '3,x' is not a list of episode numbers")


@case("cli-new-paywall-past-the-end")
def _(k: Kit) -> Call:
    return Call(_new(k, "--episodes", "12", "--free", "4", "--paywall", "5,14"),
                "paywall episode 14 is after the last episode (12)")


@case("cli-draft-concurrency-0")
def _(k: Kit) -> Call:
    return Call(["draft", k.season(), "--concurrency", "0", *k.model_flags()], "--concurrency must be at least 1")


@case("cli-draft-until-999")
def _(k: Kit) -> Call:
    return Call(["draft", k.season(), "--until", "999", *k.model_flags()], "--until 999 is outside the season (episodes 1-4)")


@case("cli-draft-budget-negative")
def _(k: Kit) -> Call:
    return Call(["draft", k.season(), "--budget-usd", "-1", *k.model_flags()], "--budget-usd -1: must be more than 0")


@case("cli-draft-max-revisions-negative")
def _(k: Kit) -> Call:
    return Call(["draft", k.season(), "--max-revisions", "-1", *k.model_flags()], "--max-revisions -1: must be 0 or more")


@case("cli-draft-unknown-target")
def _(k: Kit) -> Call:
    return Call(["draft", k.season(), "--target", "pika", *k.model_flags()], "--target 'pika' is not a video model")


@case("cli-draft-review-bible")
def _(k: Kit) -> Call:
    return Call(["draft", k.season(), "--review", "bible", *k.model_flags()], "--review 'bible' is not supported")


@case("cli-sim-port-70000")
def _(k: Kit) -> Call:
    return Call(["sim", "--port", "70000"], "--port 70000 is not a port number")


@case("cli-doctor-timeout-0")
def _(k: Kit) -> Call:
    return Call(["doctor", "--timeout", "0", "--provider", "sim"], "--timeout 0: must be more than 0")


@case("cli-status-format-xml")
def _(k: Kit) -> Call:
    return Call(["status", k.season(), "--format", "xml"], "Invalid value for '--format'")


@case("cli-demo-into-a-file")
def _(k: Kit) -> Call:
    return Call(["demo", k.write("notes.txt", "mine"), "--provider", "sim"], "is a file, not a folder")


# ---- settings files and the environment ----------------------------------------------------------------------

def _draft_with(k: Kit, toml: str) -> list[object]:
    return ["draft", k.season(), "--config", k.write("cliffhanger.toml", toml)]


@case("settings-config-missing")
def _(k: Kit) -> Call:
    return Call(["draft", k.season(), "--config", k.user / "nope.toml"], "not found: check the --config path")


@case("settings-config-is-a-folder")
def _(k: Kit) -> Call:
    return Call(["draft", k.season(), "--config", k.user], "is a folder: give the path of a .toml file")


@case("settings-invalid-toml")
def _(k: Kit) -> Call:
    return Call(_draft_with(k, 'provider = "sim\nmodel = 1\n'), "cliffhanger.toml: invalid TOML")


@case("settings-unknown-key")
def _(k: Kit) -> Call:
    return Call(_draft_with(k, 'provder = "sim"\n'), "provder: Extra inputs are not permitted")


@case("settings-wrong-type")
def _(k: Kit) -> Call:
    return Call(_draft_with(k, 'provider = "sim"\ntimeout_s = "soon"\n'), "timeout_s: Input should be a valid number")


@case("settings-role-on-unknown-provider")
def _(k: Kit) -> Call:
    return Call(_draft_with(k, 'provider = "sim"\n[roles.writer]\nprovider = "acme"\n'),
                "roles.writer.provider: unknown provider 'acme'")


@case("settings-unknown-role")
def _(k: Kit) -> Call:
    return Call(_draft_with(k, 'provider = "sim"\n[roles.villain]\nmodel = "x"\n'), "roles.villain")


@case("settings-env-bad-number")
def _(k: Kit) -> Call:
    return Call(["draft", k.season()], "timeout_s: Input should be a valid number",
                env={"CLIFFHANGER_PROVIDER": "sim", "CLIFFHANGER_TIMEOUT_S": "soon"})


@case("settings-env-not-json")
def _(k: Kit) -> Call:
    return Call(["draft", k.season()], "CLIFFHANGER_ROLES cannot be parsed",
                env={"CLIFFHANGER_PROVIDER": "sim", "CLIFFHANGER_ROLES": "writer=gpt-4o"})


@case("settings-user-config-damaged")
def _(k: Kit) -> Call:
    path = k.root / "xdg-config" / "cliffhanger" / "cliffhanger.toml"
    path.parent.mkdir(parents=True)
    path.write_text("provider = [\n", encoding="utf-8")
    return Call(["doctor"], "cliffhanger.toml: invalid TOML")


# ---- genre packs ----------------------------------------------------------------------------------------------

@case("genres-validate-bad-yaml")
def _(k: Kit) -> Call:
    path = k.write("broken.yaml", "id: broken\nnames: [zh: 1\ntone: x\n")
    return Call(["genres", "validate", path], "invalid YAML", code=1, problems_in=path)


@case("genres-validate-missing-field")
def _(k: Kit) -> Call:
    path = k.pack("notone.yaml", tone=None)
    return Call(["genres", "validate", path], "tone: Field required", code=1, problems_in=path)


@case("genres-validate-wrong-type")
def _(k: Kit) -> Call:
    path = k.pack("flat.yaml", acts="four acts")
    return Call(["genres", "validate", path], "acts: Input should be a valid tuple", code=1, problems_in=path)


@case("genres-validate-unknown-extends")
def _(k: Kit) -> Call:
    path = k.write("lite.yaml", "id: lite\nextends: telenovela\nnames: {zh: 轻, en: Lite}\n")
    return Call(["genres", "validate", path], "extends: unknown pack 'telenovela'", code=1, problems_in=path)


@case("genres-validate-duplicate-builtin-id")
def _(k: Kit) -> Call:
    path = k.write("mine.yaml", "id: revenge\nextends: ceo_romance\nnames: {zh: 我的, en: Mine}\n")
    return Call(["genres", "validate", path], "duplicate id 'revenge' (a built-in pack)", code=1, problems_in=path)


@case("genres-validate-duplicate-user-id")
def _(k: Kit) -> Call:
    k.pack("packs/first.yaml")
    path = k.write("second.yaml", (k.user / "packs" / "first.yaml").read_text(encoding="utf-8"))
    return Call(["genres", "validate", path, "--genres-dir", k.user / "packs"], "duplicate id 'first' (also in",
                code=1, problems_in=path)


@case("genres-validate-not-utf8")
def _(k: Kit) -> Call:
    path = k.write("latin.yaml", "id: latin\nnames: {zh: x, en: Café}\n".encode("latin-1"))
    return Call(["genres", "validate", path], "not UTF-8 text", code=1, problems_in=path)


@case("genres-validate-a-folder")
def _(k: Kit) -> Call:
    return Call(["genres", "validate", k.user], "is a folder: give the path of one .yaml genre pack")


@case("genres-show-unknown")
def _(k: Kit) -> Call:
    return Call(["genres", "show", "nope"], "unknown genre 'nope': known genres are")


@case("genres-dir-missing")
def _(k: Kit) -> Call:
    return Call(["genres", "list", "--genres-dir", k.user / "packs"], "is not a folder: give a folder of .yaml packs")


@case("genres-dir-is-a-file")
def _(k: Kit) -> Call:
    return Call(["genres", "show", "revenge", "--genres-dir", k.pack("mine.yaml")], "is not a folder")


@case("genres-new-with-a-broken-user-pack")
def _(k: Kit) -> Call:
    k.write("packs/lite.yaml", "id: revenge_lite\nextends: telenovela\nnames: {zh: 轻复仇, en: Light revenge}\n")
    return Call(["new", k.user / "fresh", "--logline", "A swapped heiress comes home.", "--genre", "revenge_lite",
                 "--genres-dir", k.user / "packs"], "lite.yaml:2: extends: unknown pack 'telenovela'")


# ---- season folders -------------------------------------------------------------------------------------------

def _damage(k: Kit, name: str, content: str | bytes) -> Path:
    root = k.imported()
    path = root / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


@case("season-not-a-season")
def _(k: Kit) -> Call:
    k.write("notes/ideas.txt", "mine")
    return Call(["draft", k.user / "notes", *k.model_flags()], "is not a season folder (no season.toml)")


@case("season-a-file")
def _(k: Kit) -> Call:
    return Call(["status", k.write("notes.txt", "mine")], "is a file, not a season folder")


@case("season-damaged-toml")
def _(k: Kit) -> Call:
    root = k.season()
    (root / "season.toml").write_text('title = "x\nepisodes = ', encoding="utf-8")
    return Call(["draft", root, *k.model_flags()], "season.toml: damaged")


@case("season-newer-format")
def _(k: Kit) -> Call:
    root = k.imported()
    spec = root / "season.toml"
    spec.write_text(spec.read_text(encoding="utf-8").replace(f"format = {FORMAT}\n", "format = 99\n"), encoding="utf-8")
    return Call(["draft", root, *k.model_flags()], "was written by a newer cliffhanger (season format 99")


@case("season-newer-format-canon-query")
def _(k: Kit) -> Call:
    root = k.imported()
    spec = root / "season.toml"
    spec.write_text(spec.read_text(encoding="utf-8").replace(f"format = {FORMAT}\n", "format = 99\n"), encoding="utf-8")
    return Call(["canon", "query", root, "Lin Wan"], "season format 99")


@case("season-toml-without-id")
def _(k: Kit) -> Call:
    root = k.imported()
    spec = root / "season.toml"
    spec.write_text(re.sub(r'(?m)^id = .*\n', "", spec.read_text(encoding="utf-8")), encoding="utf-8")
    return Call(["draft", root, *k.model_flags()], "season.toml: no id")


@case("season-damaged-bible")
def _(k: Kit) -> Call:
    return Call(["draft", _damage(k, "bible.json", '{"premise": "cut off'), *k.model_flags()],
                "bible.json: damaged (JSONDecodeError)")


@case("season-bible-wrong-shape")
def _(k: Kit) -> Call:
    return Call(["export", _damage(k, "bible.json", '{"premise": 3}'), "--format", "fountain"],
                "bible.json: premise: Input should be a valid string")


@case("season-damaged-arc")
def _(k: Kit) -> Call:
    return Call(["draft", _damage(k, "arc.json", '{"rows": [1, 2'), *k.model_flags()], "arc.json: damaged")


@case("season-arc-not-an-object")
def _(k: Kit) -> Call:
    return Call(["status", _damage(k, "arc.json", "[1, 2]")], "arc.json: damaged (a JSON list, not an object)")


@case("season-damaged-script")
def _(k: Kit) -> Call:
    return Call(["draft", _damage(k, "episodes/001/script.json", ""), *k.model_flags()],
                "episodes/001/script.json: damaged")


@case("season-damaged-canon-ledger")
def _(k: Kit) -> Call:
    return Call(["draft", _damage(k, "canon.sqlite", b"not a database " * 64), *k.model_flags()],
                "canon.sqlite: damaged, not a canon ledger")


@case("season-locked-by-another-process")
def _(k: Kit) -> Call:
    root = k.imported()
    pid = k.hold_lock(root)
    return Call(["draft", root, *k.model_flags()], f"is being drafted by pid {pid}")


@case("season-locked-canon-reindex")
def _(k: Kit) -> Call:
    root = k.imported()
    pid = k.hold_lock(root)
    return Call(["canon", "reindex", root], f"is being drafted by pid {pid}")


@case("season-new-over-a-season")
def _(k: Kit) -> Call:
    root = k.season()
    return Call(["new", root, "--logline", "Another premise.", "--genre", "revenge"], "already holds a season")


@case("season-new-under-a-file")
def _(k: Kit) -> Call:
    return Call(["new", k.write("notes.txt", "mine") / "season", "--logline", "A premise.", "--genre", "revenge"],
                "a folder on its path is a file")


# ---- imports (`new --from`) -------------------------------------------------------------------------------

def _import(k: Kit, script: Path, *flags: object) -> list[object]:
    return ["new", k.user / "season", "--from", script, "--genre", "revenge_us", "--episodes", "10", "--free", "2",
            *flags]


@case("import-missing-file")
def _(k: Kit) -> Call:
    return Call(_import(k, k.user / "nope.fountain"), "nope.fountain: not found: check the path of --from")


@case("import-binary-file")
def _(k: Kit) -> Call:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    return Call(_import(k, k.write("poster.png", png)), "poster.png:3: binary data, not a script")


@case("import-empty-file")
def _(k: Kit) -> Call:
    return Call(_import(k, k.write("empty.fountain", "")), "empty.fountain:1: no dialogue found")


@case("import-no-scenes")
def _(k: Kit) -> Call:
    notes = "Title: Notes\n\nShe comes back. He regrets it. The end is a wedding.\n"
    return Call(_import(k, k.write("notes.fountain", notes)), "notes.fountain:1: no dialogue found")


@case("import-wrong-encoding")
def _(k: Kit) -> Call:
    text = "INT. CAFÉ DES AMIS - NIGHT\n\nJOSÉ\nÇa va, señor?\n".encode("latin-1")
    return Call(_import(k, k.write("cafe.fountain", text)), "cafe.fountain:1: cannot be read as UTF-8")


@case("import-latin1-that-decodes-as-gbk")
def _(k: Kit) -> Call:
    text = "INT. HALL - NIGHT\n\nNINO\nBonjour, Amélie. Très joli.\n".encode("latin-1")
    return Call(_import(k, k.write("amelie.fountain", text)), "amelie.fountain:4: cannot be read as UTF-8")


@case("import-utf16")
def _(k: Kit) -> Call:
    return Call(_import(k, k.write("wide.fountain", OPENING.encode("utf-16"))), "wide.fountain:1: UTF-16 text")


@case("import-into-a-busy-folder")
def _(k: Kit) -> Call:
    k.write("season/notes.txt", "mine")
    return Call(_import(k, k.write("opening.fountain", OPENING)), "already exists and is not an empty folder")


@case("import-under-a-file")
def _(k: Kit) -> Call:
    script = k.write("opening.fountain", OPENING)
    return Call(["new", k.write("notes.txt", "mine") / "season", "--from", script, "--genre", "revenge_us"],
                "a folder on its path is a file")


@case("import-with-a-logline-too")
def _(k: Kit) -> Call:
    return Call(_import(k, k.write("opening.fountain", OPENING), "--logline", "Something else."),
                "give --logline or --from, not both")


# ---- exports ---------------------------------------------------------------------------------------------------

@case("export-unknown-format")
def _(k: Kit) -> Call:
    return Call(["export", k.imported(), "--format", "pdf"], "unknown format 'pdf': use one of fountain")


@case("export-unknown-target")
def _(k: Kit) -> Call:
    return Call(["export", k.imported(), "--format", "jobs", "--target", "pika"], "unknown target 'pika'")


@case("export-jobs-without-target")
def _(k: Kit) -> Call:
    return Call(["export", k.imported(), "--format", "jobs"], "--format jobs needs --target")


@case("export-episodes-0-3")
def _(k: Kit) -> Call:
    return Call(["export", k.imported(), "--format", "fountain", "--episodes", "0-3"], "outside the season (episodes 1-4)")


@case("export-episodes-abc")
def _(k: Kit) -> Call:
    return Call(["export", k.imported(), "--format", "fountain", "--episodes", "abc"], "--episodes 'abc' is not a range")


@case("export-out-under-a-file")
def _(k: Kit) -> Call:
    out = k.write("notes.txt", "mine") / "season.fountain"
    return Call(["export", k.imported(), "--format", "fountain", "--out", out], "cannot write")


@case("export-out-unwritable")
def _(k: Kit) -> Call:
    return Call(["export", k.imported(), "--format", "fountain", "--out", "/proc/cliffhanger/season.fountain"],
                "cannot write /proc/cliffhanger/season.fountain")


@case("export-nothing-yet")
def _(k: Kit) -> Call:
    return Call(["export", k.season(), "--format", "fountain"], "nothing to export")


@case("export-not-a-season")
def _(k: Kit) -> Call:
    k.write("notes/ideas.txt", "mine")
    return Call(["export", k.user / "notes", "--format", "fountain"], "is not a season folder")


# ---- canon files -----------------------------------------------------------------------------------------------

def _check(k: Kit, episode_lines: list[str], canon_lines: tuple[str, ...] = (GOOD_FACT,)) -> list[object]:
    canon = k.write("canon.jsonl", "\n".join(canon_lines) + "\n")
    episode = k.write("episode.jsonl", "\n".join(episode_lines) + "\n")
    return ["canon", "check", "--canon", canon, "--episode", episode]


@case("canon-check-malformed-line")
def _(k: Kit) -> Call:
    return Call(_check(k, [GOOD_FACT, '{"subject": "lin_xia", "kind": ']), "episode.jsonl:2: not JSON")


@case("canon-check-unknown-kind")
def _(k: Kit) -> Call:
    return Call(_check(k, [GOOD_FACT, GOOD_FACT.replace('"state"', '"mood"')]), "episode.jsonl:2: kind: Input should be")


@case("canon-check-missing-field")
def _(k: Kit) -> Call:
    return Call(_check(k, [GOOD_FACT.replace('"attribute": "status", ', "")]), "episode.jsonl:1: attribute: Field required")


@case("canon-check-not-an-object")
def _(k: Kit) -> Call:
    return Call(_check(k, [GOOD_FACT, "[1, 2]"]), "episode.jsonl:2: expected a JSON object")


@case("canon-check-missing-file")
def _(k: Kit) -> Call:
    return Call(["canon", "check", "--canon", k.user / "nope.jsonl", "--episode", k.write("e.jsonl", GOOD_FACT)],
                "nope.jsonl: not found")


@case("canon-check-alias-names-two-entities")
def _(k: Kit) -> Call:
    lin = '{"entity": "lin_xia", "type": "character", "name": "林夏", "aliases": ["Xia"]}'
    xu = '{"entity": "xu_xia", "type": "character", "name": "许夏", "aliases": ["Xia"]}'
    return Call(_check(k, [GOOD_FACT], (lin, xu, GOOD_FACT)), "the name 'Xia' already names 'lin_xia'")


@case("canon-query-not-a-season")
def _(k: Kit) -> Call:
    k.write("notes/ideas.txt", "mine")
    return Call(["canon", "query", k.user / "notes", "Lin Wan"], "no canon ledger in")


@case("canon-query-until-episode-negative")
def _(k: Kit) -> Call:
    return Call(["canon", "query", k.imported(), "Lin Wan", "--until-episode", "-1"], "--until-episode -1")


@case("canon-query-limit-0")
def _(k: Kit) -> Call:
    return Call(["canon", "query", k.imported(), "Lin Wan", "--limit", "0"], "--limit 0: show at least 1")


@case("canon-query-damaged-ledger")
def _(k: Kit) -> Call:
    return Call(["canon", "query", _damage(k, "canon.sqlite", b"\x00garbage" * 100), "Lin Wan"],
                "canon.sqlite: damaged, not a canon ledger")


# ---- eval suites and configs ----------------------------------------------------------------------------------

def _eval(k: Kit, suite: object, *configs: Path, extra: tuple[object, ...] = ()) -> list[object]:
    files = configs or (k.eval_config("room", "[pipeline]\nrevisions = false\n"),
                        k.eval_config("baseline", '[pipeline]\nmode = "baseline"\n'))
    return ["eval", suite, *[x for f in files for x in ("--config", f)], *JUDGE, "--out", k.user / "eval", *extra]


def _suite(k: Kit, text: str) -> Path:
    return k.write("suite.yaml", text)


@case("eval-unknown-suite")
def _(k: Kit) -> Call:
    return Call(_eval(k, "nonesuch"), "no suite 'nonesuch': use smoke, standard or long")


@case("eval-suite-unknown-genre")
def _(k: Kit) -> Call:
    suite = _suite(k, "name: mine\npremises:\n" + PREMISE.replace("revenge_us", "space_opera"))
    return Call(_eval(k, suite), "premise one: unknown genre 'space_opera'")


@case("eval-suite-duplicate-premise")
def _(k: Kit) -> Call:
    return Call(_eval(k, _suite(k, "name: mine\npremises:\n" + PREMISE + PREMISE)), "premise id 'one' appears twice")


@case("eval-suite-bad-yaml")
def _(k: Kit) -> Call:
    return Call(_eval(k, _suite(k, "name: mine\npremises:\n  - id: [one\n")), "suite.yaml:4: not valid YAML")


@case("eval-config-unknown-key")
def _(k: Kit) -> Call:
    room = k.eval_config("room", "temprature = 0.5\n")
    return Call(_eval(k, "smoke", room, k.eval_config("baseline")), "room.toml: temprature: Extra inputs")


@case("eval-pipeline-unknown-key")
def _(k: Kit) -> Call:
    room = k.eval_config("room", "[pipeline]\ncritics = false\n")
    return Call(_eval(k, "smoke", room, k.eval_config("baseline")), "[pipeline]: critics: Extra inputs")


@case("eval-pipeline-unknown-target")
def _(k: Kit) -> Call:
    room = k.eval_config("room", '[pipeline]\ntarget = "pika"\n')
    return Call(_eval(k, "smoke", room, k.eval_config("baseline")), "target: 'pika' is not a video model")


@case("eval-config-name-is-a-path")
def _(k: Kit) -> Call:
    room = k.write("room.toml", 'name = "../../escaped"\nprovider = "sim"\n')
    return Call(_eval(k, "smoke", room, k.eval_config("baseline")), "name = '../../escaped' cannot name a config")


@case("eval-config-name-not-a-string")
def _(k: Kit) -> Call:
    room = k.write("room.toml", 'name = ["room"]\nprovider = "sim"\n')
    return Call(_eval(k, "smoke", room, k.eval_config("baseline")), "name = ['room'] cannot name a config")


@case("eval-single-config")
def _(k: Kit) -> Call:
    return Call(_eval(k, "smoke", k.eval_config("room")), "pass at least two --config files")


@case("eval-out-is-a-file")
def _(k: Kit) -> Call:
    argv = _eval(k, "smoke")
    k.write("eval", "my notes, not an eval folder")
    return Call(argv, "is a file (or lies under one): give a folder for the eval")


# ---- the corpus --------------------------------------------------------------------------------------------

# `cliffhanger chat FILE` is not here: it opens the app, which names the folder problem inside it
# (tests/test_tui.py, test_a_folder_that_is_not_a_season_offers_a_new_season).


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clear_line_and_harms_nothing(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       request: pytest.FixtureRequest,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    call = CASES[name](Kit(tmp_path, request))
    for key, value in call.env.items():
        monkeypatch.setenv(key, value)
    before = snapshot(tmp_path)
    code, out, err = run_cli(capsys, *call.argv)
    assert "Traceback" not in out + err
    assert changes(before, snapshot(tmp_path)) == {}, "the user's files changed"
    assert code == call.code, (out, err)
    if call.problems_in is None:
        assert out == "", out
        assert err.startswith("error: ") and err.count("\n") == 1 and err.endswith("\n"), err
        assert call.says in err, err
    else:  # genres validate: every problem as FILE:LINE: ..., a count on stderr
        problems = out.splitlines()
        assert problems and all(re.match(re.escape(str(call.problems_in)) + r":\d+: ", p) for p in problems), out
        assert call.says in out, out
        assert err == f"invalid: {len(problems)} problem(s)\n", err


def test_the_corpus_covers_every_area() -> None:
    areas = {}
    for name in CASES:
        areas[name.split("-", 1)[0]] = areas.get(name.split("-", 1)[0], 0) + 1
    assert len(CASES) >= 40
    assert set(areas) == {"cli", "settings", "genres", "season", "import", "export", "canon", "eval"}, areas


# ---- what the corpus found, beyond one line -------------------------------------------------------------------

def test_canon_query_beside_a_running_draft_reads_without_writing(tmp_path: Path, capsys, request) -> None:
    """chromadb is not safe beside the drafting process: the answer comes from the ledger alone."""
    kit = Kit(tmp_path, request)
    root = kit.imported()
    kit.hold_lock(root)
    before = snapshot(tmp_path)
    code, out, err = run_cli(capsys, "canon", "query", root, "Lin Wan")
    assert code == 0 and "Lin Wan (lin_wan, character)" in out and err == ""
    assert changes(before, snapshot(tmp_path)) == {}  # no lore/ index built beside the other process


def test_status_reads_a_report_that_is_not_utf8(tmp_path: Path, capsys, request) -> None:
    root = Kit(tmp_path, request).imported()
    (root / "report.md").write_bytes(b"- Stopped: \xff\xfe done\n")
    code, out, err = run_cli(capsys, "status", root)
    assert code == 0 and "1/4 episodes accepted" in out and "Traceback" not in err


def test_validate_is_not_blamed_for_a_broken_neighbour(tmp_path: Path, capsys, request) -> None:
    kit = Kit(tmp_path, request)
    kit.write("packs/broken.yaml", "id: broken\nnames: [zh: 1\n")
    good = kit.pack("mine.yaml")
    code, out, err = run_cli(capsys, "genres", "validate", good, "--genres-dir", kit.user / "packs")
    assert code == 0 and out.startswith("ok: ") and err == ""


def test_a_gbk_script_still_imports(tmp_path: Path, capsys, request) -> None:
    """The Latin-1 guard leaves real GBK scripts alone."""
    kit = Kit(tmp_path, request)
    script = kit.write("gbk.txt", "1-1 内 客厅 夜\n苏晚：你怎么来了？\n林墨：我来接你回家。\n".encode("gbk"))
    code, out, err = run_cli(capsys, "new", kit.user / "s", "--from", script, "--genre", "revenge", "--episodes", "10",
                             "--free", "2")
    assert code == 0 and "created" in out, err
