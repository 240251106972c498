#!/usr/bin/env bash
# Prints one line per environment: a hash of a fixed-seed run's progress.csv without its
# timing columns, of its final policy.json and of the plain-text dump of its checkpoint
# minus wall-clock fields. A refactor must leave every line unchanged (README, "Results
# must not move"). Usage: scripts/seeded_fingerprint.sh TRPO_TRAIN [ITERATIONS] [OUTDIR]
set -euo pipefail
train="${1:?path to trpo-train}"
iters="${2:-6}"
out="${3:-$(mktemp -d)}"
mkdir -p "$out"
envs=$("$train" --list-envs | awk '{print $1}' | grep -- '-v[0-9]')
for env in $envs; do
    dir="$out/$env"
    rm -rf "$dir"
    # small batches keep the slow environments quick; two threads exercise the shards
    "$train" --env "$env" --seed 7 --iterations "$iters" --steps-per-iteration 1024 --threads 2 \
        --checkpoint-every 0 --quiet --out "$dir" >/dev/null
    # drop wall_seconds, seconds_* and steps_per_second: they are the only measured columns
    csv_hash=$(python3 - "$dir/progress.csv" <<'PY'
import csv, hashlib, sys
rows = list(csv.reader(open(sys.argv[1])))
keep = [i for i, c in enumerate(rows[0]) if not (c == "wall_seconds" or c.startswith("seconds_") or c == "steps_per_second")]
h = hashlib.sha256()
for r in rows:
    h.update((",".join(r[i] for i in keep) + "\n").encode())
print(h.hexdigest()[:16])
PY
)
    pol_hash=$(python3 - "$dir/policy.json" <<'PY'
import json, hashlib, sys
j = json.load(open(sys.argv[1]))
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in ("wall_seconds", "created", "studio_version", "version")}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
print(hashlib.sha256(json.dumps(strip(j), sort_keys=True).encode()).hexdigest()[:16])
PY
)
    printf '%-28s progress %s  policy %s\n' "$env" "$csv_hash" "$pol_hash"
done
