#!/usr/bin/env bash
# Sets everything up (Debian packages, configure, build) and starts the studio.
# Extra arguments go to trpo-studio.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh release
exec build/release/app/trpo-studio "$@"
