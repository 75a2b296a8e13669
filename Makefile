# refglm: two commands on a fresh machine with python3 (>= 3.11) and make.
#   make tutorial   create .venv, install, write the tutorial's results to results/
#   make test       create .venv, install with test extras, run ruff, import-linter and every test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Use the workplace's copy of the SPM auditory data when it is there and no
# REFGLM_DATA_DIR is set; otherwise refglm looks in its cache, then downloads.
SHARED_DATA := ../shared/data/spm_auditory
ifeq ($(origin REFGLM_DATA_DIR), undefined)
ifneq ($(wildcard $(SHARED_DATA)/sub001),)
export REFGLM_DATA_DIR := $(abspath $(SHARED_DATA))
endif
endif

.PHONY: tutorial test lint format validate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,peers]'
	touch $(STAMP)

tutorial: $(STAMP)
	$(BIN)/refglm tutorial --out results

validate: $(STAMP)
	$(BIN)/refglm validate

lint: $(STAMP)
	$(BIN)/ruff check refglm tests validation data_manifests benchmarks
	$(BIN)/ruff format --check refglm tests validation data_manifests benchmarks
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format refglm tests validation data_manifests benchmarks
	$(BIN)/ruff check --fix refglm tests validation data_manifests benchmarks

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,peers,dask]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
