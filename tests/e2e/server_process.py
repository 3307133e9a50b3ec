"""The VecForge server as a child process, for end-to-end tests.

Each server runs with a fresh working directory (or a given one, so that a
crash test can restart on the same storage), ports picked free by the OS, and
its stdout and stderr captured in `server.log` inside that directory; the
tail of that log goes into the report of a failing test (see conftest.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0

# Every server started in this pytest process, oldest first; conftest.py reads
# it to attach log tails to failing tests.
STARTED: list["VecforgeServer"] = []


def binary_path() -> Path:
    """The server binary: `VECFORGE_BIN`, relative paths taken from the repo root."""
    path = Path(os.environ.get("VECFORGE_BIN", "target/release/vecforge"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def free_port() -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerStartError(RuntimeError):
    pass


class VecforgeServer:
    """One server process; `start` may be called again after `kill`.

    The HTTP and gRPC ports are chosen once per object, so a restarted server
    answers on the same URL.
    """

    def __init__(self, workdir: Path | None = None, extra_env: dict[str, str] | None = None):
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="vecforge-e2e-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage = self.workdir / "storage"
        self.log_path = self.workdir / "server.log"
        self.http_port = free_port()
        self.grpc_port = free_port()
        while self.grpc_port == self.http_port:
            self.grpc_port = free_port()
        self.extra_env = dict(extra_env or {})
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        STARTED.append(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Settings from the developer's shell must not leak into the test server.
        for key in list(env):
            if key.startswith("QDRANT__"):
                del env[key]
        env.update(
            {
                "QDRANT__STORAGE__STORAGE_PATH": str(self.storage),
                "QDRANT__SERVICE__HTTP_PORT": str(self.http_port),
                "QDRANT__SERVICE__GRPC_PORT": str(self.grpc_port),
                "QDRANT__LOG_LEVEL": "INFO",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> "VecforgeServer":
        """Start the process and wait until `GET /readyz` answers 200."""
        if self.proc is not None and self.proc.poll() is None:
            raise ServerStartError("server already running")
        binary = binary_path()
        if not binary.is_file():
            raise ServerStartError(
                f"server binary {binary} not found: build it with `cargo build --release` "
                "or point VECFORGE_BIN at it (or set VECFORGE_E2E_TARGET=local)"
            )
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {binary} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [str(binary)],
                cwd=self.workdir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"server exited with status {self.proc.returncode} before it was ready\n"
                    + self.log_tail()
                )
            try:
                response = requests.get(f"{self.url}/readyz", timeout=1)
                if response.status_code == 200:
                    return self
                last_error = f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                last_error = type(exc).__name__
            time.sleep(0.05)
        self.kill()
        raise ServerStartError(
            f"server not ready after {timeout_s:.0f} s (last: {last_error})\n" + self.log_tail()
        )

    def kill(self) -> None:
        """SIGKILL the process (no graceful shutdown) and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, max_lines: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError as exc:
            return f"(no server log at {self.log_path}: {exc})"
        return "\n".join(lines[-max_lines:])
