"""Which Qdrant implementation the end-to-end tests drive.

`VECFORGE_E2E_TARGET=server` (the default) starts the VecForge release binary;
`VECFORGE_E2E_TARGET=local` uses qdrant-client's in-process implementation of
Qdrant (`QdrantClient(":memory:")`), which checks that the tests' expectations
match Qdrant's semantics without any server. Tests that need a real process
(raw HTTP, status codes, crashes, server settings) carry `requires_server`.
"""

import os

import pytest

TARGET = os.environ.get("VECFORGE_E2E_TARGET", "server")
if TARGET not in ("server", "local"):
    raise RuntimeError(f"VECFORGE_E2E_TARGET must be 'server' or 'local', not {TARGET!r}")

IS_LOCAL = TARGET == "local"

requires_server = pytest.mark.skipif(
    IS_LOCAL, reason="needs a real server process (VECFORGE_E2E_TARGET=local)"
)
