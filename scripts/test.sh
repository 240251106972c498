#!/usr/bin/env bash
# Sets everything up (Debian packages, configure, build) and runs the whole test suite.
# Usage: scripts/test.sh [preset]   (release by default; asan for the sanitizer build)
# tsan: ThreadSanitizer builds and runs only the tests labelled "threads" (the worker
# pool, sampler, trainer, determinism and prompt-stop tests, and the studio tests that
# train on its worker thread), with tests/tsan.supp.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
if [ "$preset" = tsan ]; then
    bash scripts/setup.sh tsan threads_tests
    ctest --preset tsan -L threads -j 2
    exit
fi
bash scripts/setup.sh "$preset"
ctest --preset "$preset" -j 2
