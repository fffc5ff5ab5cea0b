#!/bin/sh
# Regenerates the committed int8 fixture (300 cases per operator) or, with a larger count and
# another output path, a hand-run set: generate.sh [PER_OP] [FIXTURE] [SEED]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
per_op=${1:-300}
fixture=${2:-$root/tests/ops/quant/data/quant-cases.bin}
seed=${3:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$here/gen_cases.py" make "$work" --per-op "$per_op" --seed "$seed"
node "$here/run_ort.js" "$work"
mkdir -p "$(dirname "$fixture")"
/usr/bin/python3 "$here/gen_cases.py" pack "$work" "$fixture"
