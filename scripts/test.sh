#!/usr/bin/env bash
# Sets everything up (Debian packages, configure, build) and runs the whole test suite.
# Usage: scripts/test.sh [preset]   (release by default; asan for the sanitizer build)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
bash scripts/setup.sh "$preset"
ctest --preset "$preset" -j 2
