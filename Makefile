# The README's commands. Each target sets up what it needs: a local virtual environment in .venv
# with the package and its dependencies. torch is pinned to the CPU build that this machine serves;
# GPU users: make setup TORCH_SPEC="torch==2.13.0" TORCH_INDEX="--index-url <your CUDA wheel index>".
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH_SPEC  ?= torch==2.13.0
TORCH_INDEX ?=
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
LAB_ARGS ?=
# JupyterLab refuses to run as root unless told (containers, CI machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test figures student bench train ablation clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) notebooks/

test: setup
	bash tools/install_browser.sh
	bash tools/install_sandbox.sh
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

figures: setup
	$(BIN)/python -m swin_edu.viz.figures --out figures

# the student version of every suggested assignment, made by nbgrader (see docs/instructor.md)
student: setup
	$(BIN)/python -m swin_edu.classroom release --all

# throughput of our Swin-T against HF transformers' (and timm's where it imports); see docs/benchmarks.md
bench: setup
	$(BIN)/python -m swin_edu.bench

# train the nano preset on scikit-learn's digits (CPU, a few minutes); see docs/training.md
train: setup
	$(BIN)/python -m swin_edu.train --out runs/nano

# the paper's ablations on digits: 5 variants x 4 seeds of the run above (about 50 minutes); rewrites the table
# in docs/training.md
ablation: setup
	$(BIN)/python -m swin_edu.ablation --seeds 0 1 2 3 --out runs/ablation --docs docs/training.md

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
