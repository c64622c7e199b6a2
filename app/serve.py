"""`cliffhanger serve`: the room on LangGraph Server (`langgraph dev` of the installed graph).

The server runs in a folder of its own (a fresh temporary one unless --state-dir): `langgraph.json` is written
there, naming the installed graph factory and, with --checkpoint-url, the Postgres checkpointer; the
in-memory runtime keeps its thread and run records there too, so they never land in the user's folder. The
models, the price table and [limits] come from the same settings as `cliffhanger draft` (the --config file,
CLIFFHANGER_* variables, the flags), passed to the server process in its environment, never in a file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cliffhanger.agents.errors import UserError
from cliffhanger.agents.server.request import GRAPH_ID

DEFAULT_PORT = 8766
# What `cliffhanger serve` tells the server process (app/server_graph.py reads them), besides CLIFFHANGER_* settings:
CONFIG_ENV = "CLIFFHANGER_SERVE_CONFIG"            # the --config file
EMBEDDING_ENV = "CLIFFHANGER_SERVE_EMBEDDING"      # "hash": the test embedding (the sim's seasons in tests)
IN_FLIGHT_ENV = "CLIFFHANGER_SERVE_MAX_IN_FLIGHT"  # calls in flight per endpoint, all the server's seasons
FACTORY = "cliffhanger.app.server_graph:make_graph"
# The checkpointer path is module.attr with a dot: langgraph-api reads "pkg.mod:attr" as a file name.
SAVER = "cliffhanger.agents.server.checkpoint.make_saver"
_URL = re.compile(r"API:\s*(?:\x1b\[[0-9;]*m)*(https?://[^\s\x1b]+)")
START_TIMEOUT_S = 120.0  # the first start after an install compiles langgraph-api's modules


def serve_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("langgraph_cli", "langgraph_api", "langgraph_sdk"))


def require_serve_extra() -> None:
    if not serve_available():
        raise UserError("serving needs the serve extra (LangGraph Server, Elastic-2.0 licensed): "
                        "pip install 'cliffhanger[serve]'")


def langgraph_config(checkpoint_url: str | None) -> dict[str, object]:
    # The package is installed; the CLI insists on a dependency, and "." (the server's own folder) adds nothing.
    config: dict[str, object] = {"dependencies": ["."], "graphs": {GRAPH_ID: FACTORY}}
    if checkpoint_url:
        config["checkpointer"] = {"path": SAVER}
    return config


def port_taken(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


@dataclass
class ServeRequest:
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    jobs: int = 8
    checkpoint_url: str | None = None
    state_dir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # CLIFFHANGER_* settings for the server process
    log: Path | None = None                              # the server's own log (default: in the state folder)


@dataclass
class Server:
    """A started server: its URL, process and folder."""

    url: str
    process: subprocess.Popen[bytes]
    folder: Path
    log: Path
    owns_folder: bool

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        return self.process.returncode or 0


def start_server(req: ServeRequest) -> Server:
    """Start `langgraph dev` for the installed graph and wait until it answers; UserError when it cannot."""
    require_serve_extra()
    if req.jobs < 1:
        raise UserError(f"--jobs {req.jobs}: must be at least 1 (runs at once per worker)")
    if req.checkpoint_url is not None:
        from cliffhanger.agents.server.checkpoint import check_url

        check_url(req.checkpoint_url)
    port = req.port or _free_port(req.host)
    if port_taken(req.host, port):
        raise UserError(f"port {port} on {req.host} is taken: pass --port with another (0 picks a free one)")
    owns = req.state_dir is None
    folder = Path(tempfile.mkdtemp(prefix="cliffhanger-serve-")) if owns else req.state_dir
    assert folder is not None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "langgraph.json").write_text(json.dumps(langgraph_config(req.checkpoint_url), indent=2), encoding="utf-8")
    log = req.log or folder / "server.log"
    env = {**os.environ, **req.env, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true",
           "PYTHONUNBUFFERED": "1"}
    if req.checkpoint_url:
        env["CLIFFHANGER_CHECKPOINT_URL"] = req.checkpoint_url
    cmd = [sys.executable, "-m", "langgraph_cli", "dev", "--no-browser", "--no-reload", "--host", req.host,
           "--port", str(port), "--n-jobs-per-worker", str(req.jobs), "--config", "langgraph.json"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=out, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    assert proc.stderr is not None
    found: list[str] = []
    threading.Thread(target=_copy_stderr, args=(proc.stderr, log, found), daemon=True).start()
    server = Server("", proc, folder, log, owns)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            time.sleep(0.2)  # the last of its stderr
            why = _tail(log)
            server.stop()
            raise UserError(f"the server did not start (exit {proc.returncode}): {why}")
        if found and _answers(found[0]):
            server.url = found[0]
            return server
        time.sleep(0.1)
    why = _tail(log)
    server.stop()
    raise UserError(f"the server did not answer within {START_TIMEOUT_S:.0f} s: {why}")


def _copy_stderr(stream: object, log: Path, found: list[str]) -> None:
    """The server's stderr into its log; the URL it really bound from its banner (`API: http://...`)."""
    with log.open("ab") as out:
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            out.write(raw)
            out.flush()
            if not found and (m := _URL.search(raw.decode("utf-8", "replace"))):
                found.append(m.group(1).rstrip("/"))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ok", timeout=2) as resp:  # noqa: S310 - our own server on loopback
            return resp.status == 200
    except OSError:
        return False


def _tail(log: Path, lines: int = 3) -> str:
    try:
        text = [ln for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no server log)"
    return " | ".join(text[-lines:]) + f" (log: {log})"


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def serve_forever(req: ServeRequest, say: object = print) -> int:
    """`cliffhanger serve`: start, print the URL, wait for Ctrl-C (or the server's end), stop cleanly."""
    server = start_server(req)
    stop = threading.Event()
    # Ctrl-C is ours before the URL is printed: a client that reads the URL and stops us at once gets a clean stop.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        say(f"serving the room on {server.url} (graph '{GRAPH_ID}'; log {server.log}); Ctrl-C stops it")  # type: ignore[operator]
        while not stop.is_set() and server.process.poll() is None:
            stop.wait(0.5)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        ended = server.process.poll()
        code = server.stop()
    if ended is not None:  # the server ended on its own
        raise UserError(f"the server stopped (exit {code}): {_tail(server.log)}")
    say("server stopped")  # type: ignore[operator]
    return 0
