"""Fixtures for the end-to-end tests: the server process and a qdrant-client on it.

Run (from the repository root; `bash scripts/test-all.sh` does all of it):

    python3 -m venv .venv && .venv/bin/pip install -r tests/e2e/requirements.txt
    cargo build --release
    VECFORGE_BIN=target/release/vecforge .venv/bin/python -m pytest -q tests/e2e
    VECFORGE_E2E_TARGET=local .venv/bin/python -m pytest -q tests/e2e   # no server

* `client` (session): a `QdrantClient` over REST on a VecForge server started
  for the session, or `QdrantClient(":memory:")` when
  `VECFORGE_E2E_TARGET=local` (see target.py).
* `server` (session): that server's process, for raw HTTP with `requests`;
  `server_url` is its base URL, or None in local mode.
* `server_factory` (per test): starts extra servers with their own settings
  or storage; all are killed when the test ends.

When a test fails, the tail of the log of every server it used is attached to
its report. Working directories (storage and logs) are removed at the end of
a session that passed and kept for inspection otherwise.
"""

from __future__ import annotations

import shutil

import pytest
from qdrant_client import QdrantClient

from server_process import STARTED, VecforgeServer
from target import IS_LOCAL, TARGET


def pytest_configure(config):
    # Local mode warns that it always searches exactly; so do the tests.
    config.addinivalue_line("filterwarnings", "ignore:Local mode performs exact:UserWarning")


def pytest_report_header(config):
    if IS_LOCAL:
        return "vecforge e2e target: local (qdrant-client in-process Qdrant)"
    from server_process import binary_path

    return f"vecforge e2e target: server ({binary_path()})"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item._vecforge_first_server = len(STARTED)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    first = getattr(item, "_vecforge_first_server", len(STARTED))
    logs = set()  # a restarted server appends to the same log
    for index, server in enumerate(STARTED):
        if (index >= first or server.running) and server.log_path not in logs:
            logs.add(server.log_path)
            report.sections.append(
                (f"vecforge server log tail ({server.log_path})", server.log_tail())
            )


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0:
        for server in STARTED:
            server.kill()
            shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    if IS_LOCAL:
        pytest.skip(f"no server process with VECFORGE_E2E_TARGET={TARGET}")
    srv = VecforgeServer().start()
    yield srv
    srv.kill()


@pytest.fixture
def server_factory():
    """Call with `extra_env=` and/or `workdir=`; returns a started server."""
    if IS_LOCAL:
        pytest.skip(f"no server process with VECFORGE_E2E_TARGET={TARGET}")
    servers: list[VecforgeServer] = []

    def start(extra_env=None, workdir=None) -> VecforgeServer:
        srv = VecforgeServer(workdir=workdir, extra_env=extra_env)
        servers.append(srv)
        return srv.start()

    yield start
    for srv in servers:
        srv.kill()


@pytest.fixture(scope="session")
def server_url(request):
    """Base URL of the session's server, or None in local mode."""
    if IS_LOCAL:
        return None
    return request.getfixturevalue("server").url


@pytest.fixture(scope="session")
def client(request):
    if IS_LOCAL:
        qdrant = QdrantClient(":memory:")
    else:
        srv = request.getfixturevalue("server")
        qdrant = QdrantClient(url=srv.url, prefer_grpc=False, timeout=60)
    yield qdrant
    qdrant.close()
