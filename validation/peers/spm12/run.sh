#!/usr/bin/env bash
# Regenerate SPM12's first-level outputs for the models of models.json and export
# them to the compressed .npz golden files of tests/peers/spm12/golden/.
#
#   SPM12_DIR=/path/to/spm12 DATA_DIR=/path/to/fM00223 validation/peers/spm12/run.sh [model ...]
#
# SPM12_DIR   SPM12 r7771 source folder (public GitHub repository spm/spm12, e.g. a
#             `git archive` of commit 03ac9473); the mex files are built in place.
# DATA_DIR    the SPM auditory scans (fM00223_004.img ... fM00223_099.img); read only.
# OUT_DIR     where SPM writes its folders (default: $TMPDIR/refglm-spm12-runs).
# GOLDEN_DIR  where the .npz go (default: tests/peers/spm12/golden of this checkout).
# PYTHON      a python with numpy, scipy, nibabel (default: python3).
# NICE        niceness of Octave and make (default: 10).
# MODELS_JSON the model list (default: models.json next to this script).
#
# Steps: 1. apt-get install octave liboctave-dev (only if octave-cli or mkoctfile is
# missing; needs root), 2. mex build, 3. one Octave run per model, 4. export.py.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
: "${SPM12_DIR:?set SPM12_DIR to the SPM12 r7771 source folder}"
: "${DATA_DIR:?set DATA_DIR to the folder with the auditory scans}"
SPM12_DIR=$(cd "$SPM12_DIR" && pwd)
DATA_DIR=$(cd "$DATA_DIR" && pwd)
OUT_DIR=${OUT_DIR:-${TMPDIR:-/tmp}/refglm-spm12-runs}
GOLDEN_DIR=${GOLDEN_DIR:-$REPO/tests/peers/spm12/golden}
PYTHON=${PYTHON:-python3}
NICE=${NICE:-10}
MODELS_JSON=${MODELS_JSON:-$HERE/models.json}

# 1. Octave (Debian packages)
if ! command -v octave-cli >/dev/null || ! command -v mkoctfile >/dev/null; then
    echo "== installing octave liboctave-dev"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y octave liboctave-dev
fi
octave-cli --version | head -1

mkdir -p "$OUT_DIR" "$GOLDEN_DIR"
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f\n", b - a}'; }

# 2. mex files (spm_global, spm_resels_vol, spm_sample_vol, file_array ...)
if ! ls "$SPM12_DIR"/spm_global.mex >/dev/null 2>&1; then
    echo "== building SPM12 mex files"
    t0=$(date +%s.%N)
    (cd "$SPM12_DIR/src" && nice -n "$NICE" make PLATFORM=octave && \
        nice -n "$NICE" make PLATFORM=octave install) > "$OUT_DIR/build.log" 2>&1 \
        || { tail -50 "$OUT_DIR/build.log"; exit 1; }
    echo "mex build: $(secs "$t0" "$(date +%s.%N)") s"
fi

# 3. models
if [ $# -gt 0 ]; then
    MODELS=("$@")
else
    mapfile -t MODELS < <("$PYTHON" -c "import json,sys; [print(m['name']) for m in json.load(open(sys.argv[1]))['models']]" "$MODELS_JSON")
fi
for name in "${MODELS[@]}"; do
    run="$OUT_DIR/$name"
    rm -rf "$run"; mkdir -p "$run"
    mj=$(basename "$MODELS_JSON")
    {   # provenance: the commands that made this output (paths as placeholders)
        echo "SPM12_DIR=<spm12 r7771> DATA_DIR=<spm_auditory/sub001/fM00223> MODELS_JSON=validation/peers/spm12/$mj validation/peers/spm12/run.sh $name"
        echo "octave-cli -q --eval \"addpath('\$SPM12_DIR'); addpath('validation/peers/spm12'); spm12_model('validation/peers/spm12/$mj', '$name', '\$DATA_DIR', '\$OUT_DIR/$name')\""
    } > "$run/command.txt"
    t0=$(date +%s.%N)
    # Octave 7.3 prints "error: ignoring const execution_exception& while preparing to
    # exit" at every exit; the exit status is 0 and the outputs are complete.
    (cd "$run" && nice -n "$NICE" octave-cli -q --eval \
        "addpath('$SPM12_DIR'); addpath('$HERE'); spm12_model('$MODELS_JSON', '$name', '$DATA_DIR', '$run')") \
        > "$run/octave.log" 2>&1 || { tail -30 "$run/octave.log"; exit 1; }
    secs "$t0" "$(date +%s.%N)" > "$run/seconds_octave.txt"
    echo "== $name: $(cat "$run/seconds_octave.txt") s"
done

# 4. export
"$PYTHON" "$HERE/export.py" --models "$MODELS_JSON" --runs "$OUT_DIR" \
    --out "$GOLDEN_DIR" --data-dir "$DATA_DIR" "${MODELS[@]}"
