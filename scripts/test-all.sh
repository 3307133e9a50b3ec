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

section "Vulkan on the CPU (llvmpipe) and the validation layer"
# The GPU tests run on any Vulkan device; on a machine without a GPU,
# Debian's Mesa gives llvmpipe. Installed only when missing.
if ! [ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] ||
    ! [ -e /usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json ]; then
    if command -v apt-get >/dev/null; then
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO apt-get install -y -q mesa-vulkan-drivers libvulkan1 vulkan-tools vulkan-validationlayers ||
            { $SUDO apt-get update -q && $SUDO apt-get install -y -q mesa-vulkan-drivers libvulkan1 vulkan-tools vulkan-validationlayers; }
    else
        echo "no apt-get: install a Vulkan 1.3 driver and the Khronos validation layer yourself"
    fi
fi

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
