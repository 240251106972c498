#!/usr/bin/env bash
# Optional, not part of the tests: builds the real Gymnasium 1.0.0 on pybox2d 2.3.5 (the
# versions the golden data in tests/data/gym_box2d/ came from) under build/gym/, for
# scripts/gym_score.py. Prints the PYTHONPATH to use. Debian's python3 runs it (numpy,
# pygame, cloudpickle from Debian; Gymnasium imports pygame for its Box2D environments).
# Sources: cloned from GitHub, or taken from local checkouts given in GYM_BOX2D_SRC (the
# openai/box2d-py repository at tag 2.3.5) and GYMNASIUM_SRC (Farama-Foundation/Gymnasium at
# v1.0.0).
# Usage: scripts/gym_setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh
mapfile -t missing < <(missing_packages git swig python3-dev python3-setuptools python3-numpy python3-pygame \
    python3-cloudpickle python3-typing-extensions)
apt_install gym_setup "${missing[@]}"

dest=build/gym
mkdir -p "$dest"
fetch() { # fetch NAME URL TAG SRC_OVERRIDE
    local name=$1 url=$2 tag=$3 src=${4:-}
    [ -d "$dest/$name" ] && return 0
    if [ -n "$src" ]; then
        cp -r "$src" "$dest/$name.tmp"
    else
        git clone -q --depth 1 --branch "$tag" "$url" "$dest/$name.tmp"
    fi
    mv "$dest/$name.tmp" "$dest/$name"
}
fetch box2d-py https://github.com/openai/box2d-py 2.3.5 "${GYM_BOX2D_SRC:-}"
fetch gymnasium https://github.com/Farama-Foundation/Gymnasium v1.0.0 "${GYMNASIUM_SRC:-}"

py=/usr/bin/python3
lib="$dest/box2d-py/build/lib"
if ! ls "$lib"/Box2D/_Box2D*.so >/dev/null 2>&1; then
    echo "gym_setup: building pybox2d 2.3.5 (a few minutes)"
    (cd "$dest/box2d-py" && mkdir -p build && "$py" setup.py build_ext --build-lib build/lib >/dev/null 2>build/gym_setup.log \
        && "$py" setup.py build_py --build-lib build/lib >/dev/null 2>>build/gym_setup.log) \
        || { echo "gym_setup: building pybox2d failed, see $dest/box2d-py/build/gym_setup.log" >&2; exit 1; }
fi
path="$(pwd)/$lib:$(pwd)/$dest/gymnasium"
PYTHONPATH="$path" "$py" -c "import Box2D, gymnasium; assert Box2D.__version__ == '2.3.5', Box2D.__version__; print('gym_setup: Gymnasium', gymnasium.__version__, 'on pybox2d', Box2D.__version__)"
echo "export PYTHONPATH=$path"
