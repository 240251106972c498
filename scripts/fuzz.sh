#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz preset: clang, AddressSanitizer + UBSan) and runs each
# for a fixed time on a copy of its seed corpus (fuzz/corpus/<target>/; the repository's
# corpus is not modified). Prints one summary line per target; exits non-zero when a target
# finds a crash, a hang or an out-of-memory, naming the input that caused it.
# Usage: scripts/fuzz.sh [seconds-per-target] [target...]   (default 60 s, all targets)
# Extra libFuzzer flags can be passed in FUZZ_FLAGS (say FUZZ_FLAGS=-runs=1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
all_targets=(config checkpoint policy_json onnx run lesson sweep fork eval studio_files)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

# clang and its libFuzzer runtime (Debian 12: libclang-rt-14-dev), only when missing; the
# rest of the build's packages come from scripts/setup.sh
packages=(clang libclang-rt-14-dev cmake ninja-build
          qt6-base-dev libeigen3-dev libbox2d-dev nlohmann-json3-dev libonnx-dev libprotobuf-dev protobuf-compiler)
source scripts/apt.sh
mapfile -t missing < <(missing_packages "${packages[@]}")
apt_install fuzz "${missing[@]}"

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${FUZZ_JOBS:-$(nproc)}"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/trpo-fuzz.XXXXXX")
echo "fuzz: scratch corpora, logs and crash inputs in $scratch"
status=0
for t in "${targets[@]}"; do
    bin="build/fuzz/fuzz/fuzz_$t"
    [ -x "$bin" ] || { echo "fuzz: no target '$t' (known: ${all_targets[*]})" >&2; exit 2; }
    mkdir -p "$scratch/$t/corpus" "$scratch/$t/artifacts"
    cp fuzz/corpus/"$t"/* "$scratch/$t/corpus/"
    log="$scratch/$t/log.txt"
    rc=0
    start=$SECONDS
    # shellcheck disable=SC2086
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
        "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1 \
        -dict=fuzz/dict/json.dict -artifact_prefix="$scratch/$t/artifacts/" ${FUZZ_FLAGS:-} \
        "$scratch/$t/corpus" >"$log" 2>&1 || rc=$?
    elapsed=$((SECONDS - start))
    # the last status line: "#N DONE cov: C ft: F corp: ... exec/s: E ..."
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | tail -n 1 || true)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | tail -n 1 || true)
    if ((rc == 0)); then
        printf 'fuzz: %-12s ok     runs %s  exec/s %s  %s  %s  (%d s)\n' "$t" "${runs:-?}" "${eps:-?}" "${cov:-cov: ?}" "${ft:-ft: ?}" "$elapsed"
    else
        status=1
        crash=$(grep -oE "Test unit written to [^ ]+" "$log" | sed 's/Test unit written to //' | tail -n 1 || true)
        printf 'fuzz: %-12s FAILED (exit %d) after %s runs; input: %s; log: %s\n' "$t" "$rc" "${runs:-?}" "${crash:-none written}" "$log"
        grep -E 'ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer)|runtime error|SUMMARY' "$log" | head -n 5 || true
    fi
done
exit "$status"
