#!/usr/bin/env bash
# Record the outputs of refglm's four commands on the real SPM auditory data, so
# that a refactor can prove it changed no byte: run it before and after the move,
# then `diff -r BEFORE AFTER`.
#
#   REFGLM_DATA_DIR=... validation/record_outputs.sh OUT_DIR
#
# Stdout of each command is kept with its timing lines ("fit 12.3 s") masked,
# since wall-clock times are the one thing that must differ between two runs.
# The commands run inside OUT_DIR with relative output paths, so that the
# reports, which name their inputs, are the same wherever OUT_DIR is. REFGLM
# names the command to run (default: this checkout's .venv/bin/refglm), e.g. a
# script that runs an older checkout of refglm through PYTHONPATH.
set -euo pipefail
out=${1:?usage: validation/record_outputs.sh OUT_DIR}
refglm=${REFGLM:-$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/refglm}
data=$(cd "${REFGLM_DATA_DIR:?set REFGLM_DATA_DIR to the SPM auditory folder}" && pwd)
func_dir="$data/sub001/fM00223"
events="$func_dir/fM00223_events.tsv"
mkdir -p "$out"
cd "$out"
mask_times() { sed -E 's/[0-9]+\.[0-9]+ s\b/<T> s/g'; }
# compare exits 1 when the maps differ (expected here: two different models), and so
# does an internal error: tell them apart by stderr
no_error() { if grep -E "refglm: (internal )?error" "$1"; then exit 1; fi; }

"$refglm" tutorial --out "tutorial" --n-jobs 2 | mask_times > "tutorial.stdout"
# shellcheck disable=SC2086
"$refglm" fit --func "$func_dir"/fM00223_0*.img --events "$events" --t-r 7 \
    --hrf-model spm --contrast 'active - rest' --contrast 'effects=active; rest' \
    --contrast 'active' --out "fit" --n-jobs 2 | mask_times > "fit.stdout"
"$refglm" compare "tutorial" "fit" --out "compare" 2> "compare.stderr" \
    | mask_times > "compare.stdout" || true
no_error "compare.stderr"
"$refglm" compare "fit" --reference-from-data "$func_dir"/fM00223_0*.img \
    --events "$events" --t-r 7 --hrf-model glover --contrast 'activeMinusRest=active - rest' \
    --explain --explain-voxels 2000 --n-jobs 2 --out "compare_explain" \
    2> "compare_explain.stderr" | mask_times > "compare_explain.stdout" || true
no_error "compare_explain.stderr"
"$refglm" explain-voxel --mm -60 -6 42 --out "voxel" | mask_times > "voxel.stdout"
echo "recorded into $(pwd)"
