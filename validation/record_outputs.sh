#!/usr/bin/env bash
# Record the outputs of refglm's four commands on the real SPM auditory data, so
# that a refactor can prove it changed no byte: run it before and after the move,
# then `diff -r BEFORE AFTER`.
#
#   validation/record_outputs.sh OUT_DIR        (needs REFGLM_DATA_DIR, or --data-dir's default)
#
# Stdout of each command is kept with its timing lines ("fit 12.3 s") masked,
# since wall-clock times are the one thing that must differ between two runs.
set -euo pipefail
out=${1:?usage: validation/record_outputs.sh OUT_DIR}
refglm=${REFGLM:-.venv/bin/refglm}
data=${REFGLM_DATA_DIR:?set REFGLM_DATA_DIR to the SPM auditory folder}
func_dir="$data/sub001/fM00223"
events="$func_dir/fM00223_events.tsv"
mkdir -p "$out"
mask_times() { sed -E 's/[0-9]+\.[0-9]+ s\b/<T> s/g'; }

"$refglm" tutorial --out "$out/tutorial" --n-jobs 2 | mask_times > "$out/tutorial.stdout"
# shellcheck disable=SC2086
"$refglm" fit --func "$func_dir"/fM00223_0*.img --events "$events" --t-r 7 \
    --hrf-model spm --contrast 'active - rest' --contrast 'effects=active; rest' \
    --contrast 'active' --out "$out/fit" --n-jobs 2 | mask_times > "$out/fit.stdout"
"$refglm" compare "$out/tutorial" "$out/fit" --out "$out/compare" \
    | mask_times > "$out/compare.stdout" || [ $? -eq 1 ]
"$refglm" compare "$out/fit" --reference-from-data "$func_dir"/fM00223_0*.img \
    --events "$events" --t-r 7 --hrf-model glover --contrast 'activeMinusRest=active - rest' \
    --explain --explain-voxels 2000 --n-jobs 2 --out "$out/compare_explain" \
    | mask_times > "$out/compare_explain.stdout" || [ $? -eq 1 ]
"$refglm" explain-voxel --mm -60 -6 42 --out "$out/voxel" | mask_times > "$out/voxel.stdout"
echo "recorded into $out"
