"""The guard in conftest.py fails any test that reaches a non-loopback host, even if the error is swallowed:
in the test, in a fixture of any scope (set up or torn down), at import; through connect, getaddrinfo,
gethostbyname or gethostbyname_ex. Proxies, keys and the user's config dirs do not reach the tests, their
fixtures or their subprocesses."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Runs first (files are collected in name order): a module that reaches the network when imported, a
# module fixture that does in its setup, one that does in its teardown.
PROBE_A = '''
import json
import os
import socket
import subprocess
import sys
import urllib.request

import pytest

try:
    socket.gethostbyname("import-time.example.com")
except OSError:
    pass

def test_first_test_after_an_import_that_reached_the_network():
    pass

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

def test_gethostbyname():
    try:
        socket.gethostbyname("api.deepseek.com")
    except OSError:
        pass

def test_gethostbyname_ex():
    try:
        socket.gethostbyname_ex("dashscope.aliyuncs.com")
    except OSError:
        pass

def test_loopback_is_fine():
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
    c = socket.create_connection(srv.getsockname(), timeout=2)
    c.close(); srv.close()
    assert socket.gethostbyname("localhost").startswith("127.")
    assert socket.gethostbyname_ex("127.0.0.1")[2] == ["127.0.0.1"]
    assert socket.getaddrinfo("::1", 80)

@pytest.fixture(scope="module")
def drafts_a_season():
    try:
        socket.create_connection(("198.51.100.7", 443), timeout=2)
    except OSError:
        pass
    yield

def test_uses_a_module_fixture_that_reached_the_network(drafts_a_season):
    pass

@pytest.fixture(scope="module")
def seen_by_a_module_fixture():
    return dict(os.environ)

def test_fixtures_and_subprocesses_get_no_proxy_keys_or_user_dirs(seen_by_a_module_fixture):
    here = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"],
                         capture_output=True, text=True, check=True).stdout
    for env in (seen_by_a_module_fixture, here, json.loads(out)):
        proxies = [k for k in env if k.lower() in ("http_proxy", "https_proxy", "all_proxy")]
        assert not proxies, proxies
        assert env["NO_PROXY"] == env["no_proxy"] == "127.0.0.1,localhost,::1"
        assert "OPENAI_API_KEY" not in env and "CLIFFHANGER_MODEL" not in env
        assert env["XDG_CONFIG_HOME"] != os.environ["OUTER_XDG_CONFIG_HOME"]

@pytest.fixture(scope="module")
def phones_home_at_teardown():
    yield
    try:
        socket.getaddrinfo("metrics.example.org", 443)
    except OSError:
        pass

def test_last_of_its_module(phones_home_at_teardown):
    pass
'''

PROBE_B = '''
import socket

import pytest

def test_first_test_after_a_module_fixture_teardown_that_reached_the_network():
    pass

@pytest.fixture(scope="session")
def phones_home_at_the_end():
    yield
    try:
        socket.gethostbyname("telemetry.example.net")
    except OSError:
        pass

def test_last(phones_home_at_the_end):
    pass
'''


def test_guard_fails_tests_and_fixtures_that_reach_the_network(tmp_path: Path) -> None:
    for name in ("conftest.py", "pg_kit.py", "serve_kit.py"):  # the conftest and the plugins it names
        shutil.copy(Path(__file__).with_name(name), tmp_path / name)
    (tmp_path / "test_a_probe.py").write_text(PROBE_A)
    (tmp_path / "test_b_probe.py").write_text(PROBE_B)
    outer_config = str(tmp_path / "user-config")
    env = {**os.environ, "HTTP_PROXY": "http://proxy.example:3128", "https_proxy": "http://proxy.example:3128",
           "ALL_PROXY": "socks5://proxy.example:1080", "NO_PROXY": "", "OPENAI_API_KEY": "sk-from-the-machine",
           "CLIFFHANGER_MODEL": "gpt-from-the-machine", "XDG_CONFIG_HOME": outer_config,
           "OUTER_XDG_CONFIG_HOME": outer_config}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "--import-mode=importlib", "-o",
         "addopts=", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env,
    )
    out = result.stdout
    errors = set(re.findall(r"^ERROR \S+::(\w+)", out, re.MULTILINE))
    failed = set(re.findall(r"^FAILED \S+::(\w+)", out, re.MULTILINE))
    # Bodies "pass" because they swallow the failure; the guard errors them at setup or teardown.
    assert errors == {
        "test_first_test_after_an_import_that_reached_the_network",  # setup: the import before it
        "test_swallowed_dns", "test_direct_connect", "test_gethostbyname", "test_gethostbyname_ex",  # teardown
        "test_uses_a_module_fixture_that_reached_the_network",  # setup: the module fixture
        "test_first_test_after_a_module_fixture_teardown_that_reached_the_network",  # setup: the last teardown
        "test_last",  # teardown of the session: a session fixture's teardown
    }, out[-4000:]
    assert not failed, out[-4000:]
    assert "8 passed, 8 errors" in out, out[-3000:]
    for host in ("import-time.example.com", "api.openai.com", "203.0.113.9", "api.deepseek.com",
                 "dashscope.aliyuncs.com", "198.51.100.7", "metrics.example.org", "telemetry.example.net"):
        assert host in out, host
    assert "a fixture set up (or torn down) before this test reached the network" in out
    assert "a fixture reached the network after the last test" in out
    assert "test reached the network" in out


def test_the_guard_is_on_outside_tests_too() -> None:
    """In this very process: the guard was installed before collection, for every scope."""
    import socket

    assert socket.gethostbyname.__name__ == "_guarded_gethostbyname"
    assert socket.gethostbyname_ex.__name__ == "_guarded_gethostbyname_ex"
    assert socket.getaddrinfo.__name__ == "_guarded_getaddrinfo"
    assert socket.socket.connect.__name__ == "_guarded_connect"
    assert not [k for k in os.environ if k.lower() in ("http_proxy", "https_proxy", "all_proxy")]
    assert os.environ["NO_PROXY"] == "127.0.0.1,localhost,::1"
