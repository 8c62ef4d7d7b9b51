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
# COURSE_LANG=zh: the Chinese edition (workspace lab-zh/ or lab-solutions-zh/, messages in Chinese; a CJK font from
# the system, e.g. Debian's fonts-noto-cjk: make lab says when none is found). Not LANG: that variable is the locale.
EDITION ?= student
COURSE_LANG ?= en
LAB_DIR ?=
LAB_ARGS ?=
# JupyterLab refuses to run as root unless told (containers, CI machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
ZH := $(filter zh,$(COURSE_LANG))
WORKSPACE = $(if $(LAB_DIR),$(LAB_DIR),$(if $(filter solutions,$(EDITION)),lab-solutions,lab)$(if $(ZH),-zh,))

.PHONY: setup lab-setup lab test test-all figures student student-edition bench train ablation clean

# $(1): the environment's folder, $(2): the package's install spec (-e ".[dev]" or ".[lab]"), $(3): the stamp
define install_env
	@test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet $(TORCH_INDEX) "$(TORCH_SPEC)"
	@$(1)/bin/python tools/torch_check.py
	$(1)/bin/python -m pip install --quiet $(2)
	@touch $(3)
endef

setup: $(VENV)/.installed

# developers: an editable install of this checkout (the tests test the code as it is)
$(VENV)/.installed: pyproject.toml
	$(call install_env,$(VENV),-e ".[dev]",$@)

# students: the course package installed as a regular package (a student's environment has no reason to be an
# editable install of the course folder), reinstalled whenever its source changes (a `git pull` takes effect at
# the next `make lab`, without resolving the dependencies again), and the lab's settings written into it
# (swin_edu/lab.py: open on 00, no news toast, notebooks saved so that they reopen cleanly)
LAB_SOURCES := pyproject.toml $(shell find swin_edu -name __pycache__ -prune -o -print 2>/dev/null)

lab-setup: $(LAB_VENV)/.installed

$(LAB_VENV)/.deps: pyproject.toml
	$(call install_env,$(LAB_VENV),".[lab]",$@)

$(LAB_VENV)/.installed: $(LAB_VENV)/.deps $(LAB_SOURCES)
	@echo "make lab: installing the course package from $(CURDIR)/swin_edu into $(LAB_VENV)"
	$(LAB_BIN)/python -m pip install --quiet --no-deps --force-reinstall .
	$(LAB_BIN)/python -m swin_edu.lab configure
	@touch $@

# the student edition (student/) copied into a git-ignored workspace that keeps your work; see README
lab: lab-setup
	$(LAB_BIN)/python -m swin_edu.editions workspace $(EDITION) --into $(WORKSPACE)$(if $(ZH), --lang zh,)
	@$(LAB_BIN)/python -m swin_edu.lab fonts --lang $(if $(ZH),zh,en)
	$(if $(ZH),SWIN_EDU_LANG=zh ,)$(LAB_BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) $(WORKSPACE)

# The two tiers of tests (docs/testing.md). Both on 2 pytest-xdist workers; an expensive module fixture stays on one
# worker (loadgroup) and the longest tests start first (tests/conftest.py orders them; no reordering by xdist).
XDIST := -n 2 --dist loadgroup --no-loadscope-reorder
# make test: before every commit, minutes: every module and every notebook's logic, each notebook run once (the
# source edition, short setting); no browser, no sandbox, no Chinese runs, no fresh environments
test: setup
	$(BIN)/python -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

# make test-all: everything (CI runs this): also the lab in a browser, the student and Chinese editions run, the
# sandboxed grader attacked, the wheel in a fresh environment, training from the command line; the 25 slowest printed
test-all: setup
	bash tools/install_browser.sh
	bash tools/install_sandbox.sh
	$(BIN)/python -m pytest $(XDIST) --durations=25 $(PYTEST_ARGS)

# both sets: figures/ (English) and figures/zh/ (Chinese titles, labels and alt texts; the system's CJK font,
# Noto Sans CJK: apt-get install fonts-noto-cjk)
figures: setup
	$(BIN)/python -m swin_edu.viz.figures --out figures
	$(BIN)/python -m swin_edu.viz.figures --lang zh --out figures/zh

# rebuild the committed student edition (student/) from notebooks/ with nbgrader; commit the result
student-edition: setup
	$(BIN)/python -m swin_edu.editions build
	$(BIN)/python -m swin_edu.editions build --lang zh

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

# removes the environments and caches; never lab/, lab-solutions/, lab-zh/ or lab-solutions-zh/ (your work)
clean:
	rm -rf $(VENV) $(LAB_VENV) .pytest_cache .hypothesis
