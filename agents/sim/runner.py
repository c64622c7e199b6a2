"""Running the sim: in the foreground for `cliffhanger sim`, or in a thread for tests and benchmarks."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

from cliffhanger.agents.sim.config import SimConfig

_STARTUP_TIMEOUT_S = 15.0


def pick_free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (another process may take it before you bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _bound_socket(host: str, port: int) -> socket.socket:
    """A listening socket, so that port 0 becomes a real port before the server announces it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cliffhanger sim cannot listen on {host}:{port} ({exc.strerror}); "
                      "pick another --port or 0 for a free one") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/v1"


def _uvicorn_server(config: SimConfig, **extra: object):  # -> uvicorn.Server
    import uvicorn

    from cliffhanger.agents.sim.server import create_app

    uv_config = uvicorn.Config(
        create_app(config), log_level="warning", access_log=False, lifespan="off",
        timeout_graceful_shutdown=2, **extra,  # type: ignore[arg-type]
    )
    return uvicorn.Server(uv_config)


def serve(config: SimConfig) -> None:
    """Serve until Ctrl-C. Prints `cliffhanger sim listening on http://HOST:PORT/v1` once bound."""
    sock = _bound_socket(config.host, config.port)
    port = sock.getsockname()[1]
    server = _uvicorn_server(config)
    print(f"cliffhanger sim listening on {_base_url(config.host, port)}", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the signal it caught after its clean shutdown
    finally:
        sock.close()


@contextlib.contextmanager
def run_in_thread(config: SimConfig | None = None) -> Iterator[str]:
    """Run a sim in a daemon thread; yields its base URL (`http://127.0.0.1:PORT/v1`) once /health answers."""
    import httpx

    config = config or SimConfig()
    sock = _bound_socket(config.host, config.port)
    port = sock.getsockname()[1]
    server = _uvicorn_server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"cliffhanger-sim-{port}",
                              daemon=True)
    thread.start()
    url = _base_url(config.host, port)
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while True:
            if not thread.is_alive():
                raise RuntimeError("cliffhanger sim stopped during start-up; see the log above")
            try:
                if httpx.get(url.removesuffix("/v1") + "/health", timeout=1.0, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"cliffhanger sim did not answer on {url} within {_STARTUP_TIMEOUT_S:.0f} s")
            time.sleep(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
