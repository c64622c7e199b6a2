"""The guard in conftest.py fails any test that reaches a non-loopback host, even if the error is swallowed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PROBE = '''
import socket
import urllib.request

def test_swallowed_dns():
    try:
        urllib.request.urlopen("https://api.openai.com/v1/models", timeout=2)
    except Exception:
        pass  # a client that hides the failure must not hide the attempt

def test_direct_connect():
    s = socket.socket()
    try:
        s.connect(("203.0.113.9", 443))
    except OSError:
        pass
    finally:
        s.close()

def test_loopback_is_fine():
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
    c = socket.create_connection(srv.getsockname(), timeout=2)
    c.close(); srv.close()
'''


def test_guard_fails_tests_that_reach_the_network(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBE)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", "-o",
         "addopts=", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    # The two offenders error at teardown (their bodies "passed" because they swallowed the failure).
    assert "3 passed, 2 errors" in result.stdout, result.stdout[-2000:]
    assert "ERROR test_probe.py::test_swallowed_dns" in result.stdout
    assert "ERROR test_probe.py::test_direct_connect" in result.stdout
    assert "test reached the network" in result.stdout
    assert "api.openai.com" in result.stdout and "203.0.113.9" in result.stdout
