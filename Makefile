# The README's commands. Each target sets up what it needs in a local virtual environment:
#   .venv      developers (`make test`): the package, the tests' tools, nbgrader
#   .venv-lab  students (`make lab`): the package and JupyterLab only
# torch is installed first: on Linux without an NVIDIA GPU from PyTorch's CPU wheel index (tools/torch_index.py;
# PyPI's Linux wheel is the CUDA build), elsewhere from PyPI. GPU users with another CUDA version:
#   make setup TORCH_INDEX="--index-url https://download.pytorch.org/whl/cu128"
PYTHON ?= python3
VENV   ?= .venv
LAB_VENV ?= .venv-lab
BIN    := $(VENV)/bin
LAB_BIN := $(LAB_VENV)/bin
TORCH_SPEC  ?= torch==2.13.0
TORCH_INDEX ?= $(shell $(PYTHON) tools/torch_index.py)
PYTEST_ARGS ?=
# make lab: EDITION=student (default) or solutions; LAB_DIR: the workspace (default lab/ or lab-solutions/);
# LAB_ARGS: extra JupyterLab options (e.g. --no-browser --port=8899)
EDITION ?= student
LAB_DIR ?=
LAB_ARGS ?=
# JupyterLab refuses to run as root unless told (containers, CI machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
WORKSPACE = $(if $(LAB_DIR),$(LAB_DIR),$(if $(filter solutions,$(EDITION)),lab-solutions,lab))

.PHONY: setup lab-setup lab test figures student student-edition bench train ablation clean

# $(1): the environment's folder, $(2): the package's extras
define install_env
	@test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet $(TORCH_INDEX) "$(TORCH_SPEC)"
	@$(1)/bin/python tools/torch_check.py
	$(1)/bin/python -m pip install --quiet -e ".[$(2)]"
	@touch $(1)/.installed
endef

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(call install_env,$(VENV),dev)

lab-setup: $(LAB_VENV)/.installed

$(LAB_VENV)/.installed: pyproject.toml
	$(call install_env,$(LAB_VENV),lab)

# the student edition (student/) copied into a git-ignored workspace that keeps your work; see README
lab: lab-setup
	$(LAB_BIN)/python -m swin_edu.editions workspace $(EDITION) --into $(WORKSPACE)
	$(LAB_BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) $(WORKSPACE)

test: setup
	bash tools/install_browser.sh
	bash tools/install_sandbox.sh
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

figures: setup
	$(BIN)/python -m swin_edu.viz.figures --out figures

# rebuild the committed student edition (student/) from notebooks/ with nbgrader; commit the result
student-edition: setup
	$(BIN)/python -m swin_edu.editions build

# the classroom release of every suggested assignment, made by nbgrader (see docs/instructor.md)
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

# removes the environments and caches; never lab/ or lab-solutions/ (your work)
clean:
	rm -rf $(VENV) $(LAB_VENV) .pytest_cache .hypothesis
