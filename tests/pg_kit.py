"""A private PostgreSQL cluster for the tests that need one: initdb and pg_ctl of the installed server, on
127.0.0.1 and a free port, as a non-root user (the `postgres` account when the tests run as root), stopped
and deleted at the end of the session.

Without PostgreSQL installed the tests that ask for it are skipped, except under CI (`CI` set), where
`.ci/run` installs it: there a missing server fails them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """`postgresql://cliffhanger@127.0.0.1:PORT/cliffhanger` on a cluster of its own."""
    import importlib.util

    if importlib.util.find_spec("psycopg") is None or importlib.util.find_spec("langgraph.checkpoint.postgres") is None:
        message = "the postgres extra is not installed: pip install -e '.[dev,local,serve]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        message = "PostgreSQL is not installed (no initdb/pg_ctl): apt-get install postgresql"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    owner = None
    if os.geteuid() == 0:  # initdb refuses root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root and there is no `postgres` account to run the test cluster as")
        owner = "postgres"
    root = Path(tempfile.mkdtemp(prefix="cliffhanger-pg-"))
    if owner:
        shutil.chown(root, owner, owner)
    data, port = root / "data", _free_port()
    subprocess.run(_as_owner([initdb, "-D", str(data), "-U", "cliffhanger", "--auth=trust", "-E", "UTF8"], owner),
                   check=True, capture_output=True)
    subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "-o",
                              f"-h 127.0.0.1 -p {port} -k {root}", "start"], owner), check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(f"postgresql://cliffhanger@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE cliffhanger")
        yield f"postgresql://cliffhanger@127.0.0.1:{port}/cliffhanger"
    finally:
        subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], owner), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
