# refglm: two commands on a fresh machine with python3 (>= 3.11) and make.
#   make tutorial   create .venv, install, write the tutorial's results to results/ (on all cores)
#   make test       create .venv (and .venv-nistats: make peers), install with test extras, run
#                   ruff, import-linter and every test
#   make peers      build .venv-nistats, the side environment of the live nistats 0.0.1rc0 peer
#                   tests (Python 3.11, wheels only; idempotent, ~3 s when up to date)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# nistats 0.0.1rc0 imports only with old numpy/scipy/scikit-learn: a side environment,
# started as a subprocess by tests/peers/test_nistats.py (validation/peers/nistats/).
NISTATS_VENV   ?= .venv-nistats
NISTATS_PYTHON ?= python3.11

# Use the workplace's copy of the SPM auditory data when it is there and no
# REFGLM_DATA_DIR is set; otherwise refglm looks in its cache, then downloads.
SHARED_DATA := ../shared/data/spm_auditory
ifeq ($(origin REFGLM_DATA_DIR), undefined)
ifneq ($(wildcard $(SHARED_DATA)/sub001),)
export REFGLM_DATA_DIR := $(abspath $(SHARED_DATA))
endif
endif

.PHONY: tutorial test lint format validate bench clean peers

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# setuptools' editable_wheel warns at every editable install that a folder named like
# the package is in the working directory (always true here): silence that one warning
QUIET_EDITABLE := PYTHONWARNINGS=ignore::UserWarning:setuptools.command.editable_wheel

$(STAMP): $(BIN)/python pyproject.toml
	$(QUIET_EDITABLE) $(BIN)/python -m pip install --quiet -e '.[test,peers]'
	touch $(STAMP)

tutorial: $(STAMP)
	$(BIN)/refglm tutorial --out results --n-jobs -1

validate: $(STAMP)
	$(BIN)/refglm validate

lint: $(STAMP)
	$(BIN)/ruff check refglm tests validation data_manifests benchmarks
	$(BIN)/ruff format --check refglm tests validation data_manifests benchmarks
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format refglm tests validation data_manifests benchmarks
	$(BIN)/ruff check --fix refglm tests validation data_manifests benchmarks

test: lint peers
	$(BIN)/python -m pytest

peers:
	NISTATS_PYTHON=$(NISTATS_PYTHON) bash validation/peers/nistats/build_env.sh $(NISTATS_VENV)

bench: $(STAMP)
	$(QUIET_EDITABLE) $(BIN)/python -m pip install --quiet -e '.[test,peers,dask]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(NISTATS_VENV) results .pytest_cache .hypothesis
