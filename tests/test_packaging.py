"""The package installs as one namespace, with its data, and keeps its import rules."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("agents", "memory", "genres", "evals", "app")
DATA_GLOBS = {"agents": ["prompts/*.md"], "genres": ["packs/*.yaml"], "evals": ["suites/*.yaml"], "app": ["tui/*.tcss"]}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _packages_on_disk() -> set[str]:
    found = set()
    for top in TOP:
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT)
            found.add("cliffhanger." + ".".join(rel.parts))
    return found


def _python_dirs_without_init() -> list[Path]:
    missing = []
    for top in TOP:
        for py in (ROOT / top).rglob("*.py"):
            if not (py.parent / "__init__.py").exists():
                missing.append(py.parent)
    return sorted(set(missing))


def test_every_package_on_disk_is_declared_and_mapped() -> None:
    tool = _pyproject()["tool"]["setuptools"]
    declared = set(tool["packages"])
    assert _packages_on_disk() == declared
    for name in declared:
        folder = tool["package-dir"][name]
        assert (ROOT / folder / "__init__.py").exists(), name
        assert name == "cliffhanger." + ".".join(Path(folder).parts)
    assert _python_dirs_without_init() == []


def test_tests_folder_is_not_a_package() -> None:
    assert not (ROOT / "tests" / "__init__.py").exists()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )
    (path,) = out.glob("cliffhanger-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_holds_every_module_and_data_file(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    expected = set()
    for top in TOP:
        for py in (ROOT / top).rglob("*.py"):
            expected.add("cliffhanger/" + str(py.relative_to(ROOT)))
        for pattern in DATA_GLOBS.get(top, []):
            for data in (ROOT / top).glob(pattern):
                expected.add("cliffhanger/" + str(data.relative_to(ROOT)))
    assert any(n.startswith("cliffhanger/agents/prompts/") for n in expected), "no prompt files found on disk"
    assert expected - names == set()
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "cliffhanger = cliffhanger.app.cli:main" in wheel.read(entry).decode()


def test_ruff_bans_bare_top_level_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import agents\nfrom evals import x\nimport memory.ledger\n")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"), "--select", "TID251",
         "--no-cache", str(bad)],
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert result.stdout.count("TID251") == 3


def test_code_passes_ruff() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:]


def test_help_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from cliffhanger.app.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('langchain_openai', 'langchain_core', 'langgraph', 'chromadb', 'textual', 'openai',"
        " 'uvicorn', 'llama_cpp') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY=\n" in out.stdout, out.stdout[-300:]


# genres <- memory <- agents <- (app, evals): arrows point at what may be imported; nothing imports app.
ALLOWED = {
    "genres": {"genres"},
    "memory": {"genres", "memory"},
    "agents": {"genres", "memory", "agents"},
    "evals": {"genres", "memory", "agents", "evals"},
    "app": {"genres", "memory", "agents", "evals", "app"},
}


def test_layers_import_only_downwards() -> None:
    import ast

    offences = []
    for layer, allowed in ALLOWED.items():
        for py in (ROOT / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for name in names:
                    parts = name.split(".")
                    if parts[0] == "cliffhanger" and len(parts) > 1 and parts[1] not in allowed:
                        offences.append(f"{py.relative_to(ROOT)} imports {name}")
    assert offences == []


def _module_name(py: Path) -> str:
    rel = py.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return "cliffhanger." + ".".join(parts)


def _imports_at_run_time(py: Path, name: str, modules: set[str]) -> set[str]:
    """Every cliffhanger module `py` imports, deferred (inside functions) or not; imports under
    `if TYPE_CHECKING:` are left out, as they never run."""
    import ast

    tree = ast.parse(py.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".")[: -node.level] if py.stem != "__init__" else name.split(".")[: len(name.split(".")) - node.level + 1]
                base = ".".join([*pkg, base] if base else pkg)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("cliffhanger."):
                found.add(target)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, edges = work[-1]
            for w in edges:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycles() -> None:
    """No two modules import each other, directly or round a circle, even through a deferred import:
    a circle means neither can be read, tested or moved alone."""
    files = {_module_name(py): py for top in TOP for py in (ROOT / top).rglob("*.py")}
    modules = set(files)
    graph = {name: _imports_at_run_time(py, name, modules) for name, py in files.items()}
    assert len(graph) > 80 and sum(map(len, graph.values())) > 200, "the import graph was not read"
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
