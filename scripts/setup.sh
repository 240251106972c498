#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs (only those missing), then configures
# and builds the given CMake preset (default: release): all of it, or only the targets
# named after the preset.
# Usage: scripts/setup.sh [preset [target...]]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
targets=("${@:2}")

packages=(build-essential cmake ninja-build pkg-config
          qt6-base-dev libgl-dev libeigen3-dev libbox2d-dev libqcustomplot-dev nlohmann-json3-dev
          libonnx-dev libprotobuf-dev protobuf-compiler
          libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
          libopenmpi-dev openmpi-bin)
source scripts/apt.sh
mapfile -t missing < <(missing_packages "${packages[@]}")
# Node.js runs ONNX Runtime in tests/export. Checked by command, not package: a NodeSource
# nodejs bundles npm and conflicts with Debian's npm package.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
apt_install setup "${missing[@]}"

# ONNX Runtime from npm (onnxruntime-node, version pinned in tests/export/package.json and
# package-lock.json) into tests/export/node_modules, once. --ignore-scripts skips its
# postinstall, which downloads GPU binaries; the CPU runtime ships inside the package.
# Nothing is fetched when the pinned version is already installed (works offline).
ort_dir=tests/export
ort_want=$(cd "$ort_dir" && node -p "require('./package.json').dependencies['onnxruntime-node']")
ort_have=$(cd "$ort_dir" && node -p "try { require('./node_modules/onnxruntime-node/package.json').version } catch (e) { '' }")
if [ "$ort_have" != "$ort_want" ]; then
    echo "setup: installing onnxruntime-node $ort_want into $ort_dir/node_modules"
    if ! (cd "$ort_dir" && npm ci --ignore-scripts --no-audit --no-fund); then
        echo "setup: WARNING: npm install of onnxruntime-node failed; test_onnx_export will fail" >&2
    fi
fi

# CI (CI=true) builds with warnings as errors: a fresh build must stay free of warnings
werror=()
[ "${CI:-}" = "true" ] && werror=(-DTRPO_WARNINGS_AS_ERRORS=ON)
cmake --preset "$preset" "${werror[@]}" >/dev/null
target_args=()
((${#targets[@]})) && target_args=(--target "${targets[@]}")
cmake --build --preset "$preset" -j "$(nproc)" "${target_args[@]}"
