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
