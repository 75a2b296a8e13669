#!/usr/bin/env bash
# Build (or check) the side virtualenv in which nistats 0.0.1rc0 runs, for the live peer
# tests (tests/peers/test_nistats.py). `make peers` calls it; so does .ci/run, through make.
#
#   usage: build_env.sh VENV_DIR            (make peers: .venv-nistats beside .venv)
#   env:   NISTATS_PYTHON (default python3.11: the pinned numpy 1.23 has wheels up to cp311)
#
# Idempotent: a venv whose stamp holds this recipe's pins and that passes the import
# check is left alone (a second run takes ~3 s). Wheels only (--only-binary=:all:).
#
# The recipe of the issue, as it actually installs (measured on Python 3.11.7, pip 23.2.1):
# * joblib: the issue said 0.17.0, which pip cannot install here (ResolutionImpossible):
#   every cp311 wheel of scikit-learn<1.3 (1.1.3 and later) needs joblib>=1.0 (1.2.2:
#   >=1.1.1), and nilearn 0.6.2 calls Memory(cachedir=...), which joblib 1.2 removed.
#   joblib 1.1.1 is the one version that satisfies both.
# * The ranges of the issue ("numpy<1.24" ...) are pinned to the versions they resolved to,
#   so that the peer's numbers (its scipy's t.sf, hence the count of quantized tails) do
#   not change with a new upload.
# * nilearn 0.6.2 and nistats 0.0.1rc0 are installed without their dependencies (nilearn's
#   metadata names the dummy `sklearn` package); they are not on the local mirrors, pip
#   fetches them from the default index.
# * sklearn.externals.joblib: shims/sklearn_externals_joblib.py, written into
#   scikit-learn's sklearn/externals/ (nistats does `from sklearn.externals.joblib import
#   Memory`). collections.Iterable and a stub of nilearn.plotting are set up at run time
#   by run_nistats.import_nistats(), nothing is patched in site-packages for them.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -ne 1 ]]; then
  echo "usage: $0 VENV_DIR" >&2
  exit 2
fi
VENV="$1"
PYTHON="${NISTATS_PYTHON:-python3.11}"
# The issue's ranges, resolved: numpy<1.24, scipy<1.11, scikit-learn<1.3, pandas<2,
# nibabel<4, matplotlib<3.8; joblib see above.
PINS=("numpy==1.23.5" "scipy==1.10.1" "scikit-learn==1.2.2" "pandas==1.5.3"
      "nibabel==3.2.2" "matplotlib==3.7.5" "joblib==1.1.1")
NODEPS=("nilearn==0.6.2" "nistats==0.0.1rc0")
STAMP="$VENV/.nistats-env-stamp"
WANT="${PINS[*]} | ${NODEPS[*]} | shim $(cksum < "$HERE/shims/sklearn_externals_joblib.py")"
t0=$(date +%s)

check() {  # the import check the runner relies on
  "$VENV/bin/python" "$HERE/run_nistats.py" --versions
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] && check >/dev/null 2>&1; then
  echo "build_env: $VENV is up to date ($(check 2>/dev/null))"
  exit 0
fi

if ! command -v "$PYTHON" >/dev/null; then
  echo "build_env: $PYTHON not found; nistats' pinned numpy 1.23.5 has wheels for" \
       "CPython <= 3.11 only: install Python 3.11 or pass NISTATS_PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "build_env: creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
else
  echo "build_env: reusing $VENV"
fi
# keep the side environment out of git without touching the repository's .gitignore
echo "*" > "$VENV/.gitignore"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
echo "build_env: pip install --only-binary=:all: ${PINS[*]}"
"${PIP[@]}" install --quiet --only-binary=:all: "${PINS[@]}"
echo "build_env: pip install --no-deps --only-binary=:all: ${NODEPS[*]}"
"${PIP[@]}" install --quiet --no-deps --only-binary=:all: "${NODEPS[@]}"

SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
# sklearn.externals is still a package in scikit-learn 1.2 (_arff, _packaging, ...)
if [[ ! -d "$SITE/sklearn/externals" ]]; then
  echo "build_env: expected $SITE/sklearn/externals to be a package (scikit-learn 1.2);" \
       "found none: check the scikit-learn pin" >&2
  exit 1
fi
install -m 644 "$HERE/shims/sklearn_externals_joblib.py" "$SITE/sklearn/externals/joblib.py"
echo "build_env: wrote $SITE/sklearn/externals/joblib.py"

echo "build_env: resolved versions: $("${PIP[@]}" list --format=freeze | tr '\n' ' ')"
check
echo "$WANT" > "$STAMP"
echo "build_env: done in $(( $(date +%s) - t0 )) s"
