#!/usr/bin/env bash
# Runs every test of the project: the Rust tests (dev profile), then the
# end-to-end tests against the release binary with the official Python
# qdrant-client. Needs only the Rust toolchain and python3 (with venv).
#
#   bash scripts/test-all.sh
#
# Extra arguments go to pytest, e.g. `bash scripts/test-all.sh -k crash -x`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() {
    printf '\n==== %s ====\n' "$1"
}

section "cargo test --all-targets (dev profile)"
cargo test --all-targets

section "cargo build --release"
cargo build --release

section "python environment (.venv)"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/e2e/requirements.txt

section "end-to-end tests (tests/e2e, release binary)"
VECFORGE_BIN=target/release/vecforge .venv/bin/python -m pytest -q tests/e2e "$@"

section "all tests passed"
