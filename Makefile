# Two commands a newcomer needs (see README.md):
#   make run    creates .venv, installs, gets the data, starts everything (serving Pearson at
#               once) and builds the models in the background when they are not current
#   make test   creates .venv, installs, runs the whole test suite and the deployment checks
#               (with podman, which it installs when it can, the images are built and run too)
# DATA_DIR=/path/to/local/copy uses local datasets instead of downloading them.

PYTHON_SYSTEM ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Everything `make` installs, pinned with hashes (made from pyproject.toml by `make lock`).
LOCK := requirements/dev.txt
# torch is locked as its CPU build (torch==X+cpu), which only PyTorch's CPU index has. It is
# installed first, on its own (requirements/torch-cpu.txt): when that index cannot be reached
# the install fails here rather than pulling PyPI's CUDA build.
TORCH_LOCK := requirements/torch-cpu.txt
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu

# A relative DATA_DIR is made absolute, so it means the same in every child process.
ifdef DATA_DIR
override DATA_DIR := $(abspath $(DATA_DIR))
export DATA_DIR
endif

export HF_HUB_OFFLINE := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: run test install lock data models deploy-check lint clean

$(STAMP): $(LOCK) $(TORCH_LOCK)
	test -x $(PY) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes --no-deps --retries 2 --timeout 30 \
		--extra-index-url $(TORCH_CPU_INDEX) -r $(TORCH_LOCK) \
		|| { echo "make: torch's CPU build ($(TORCH_LOCK)) comes only from $(TORCH_CPU_INDEX):" \
			"check that it is reachable. No CUDA build is installed instead." >&2; exit 1; }
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	touch $(STAMP)

install: $(STAMP)

# Re-solve the lock files (requirements/*.txt) after changing dependencies in pyproject.toml.
lock: install
	$(PY) -m scripts.lock

data: install
	$(PY) -m scripts.fetch_data

models: data
	$(PY) -m scripts.build_models

run: data
	$(PY) -m scripts.serve

lint: install
	$(VENV)/bin/ruff check .

# Static checks, then the images built and run with podman (tests/deployment/test_containers.py: the stack
# from the images, the browser journey against the app container, podman kube play).
deploy-check: install
	scripts/ensure_chromium.sh
	scripts/ensure_podman.sh
	$(PY) -m scripts.check_deploy
	$(VENV)/bin/pytest -s -v tests/deployment/test_containers.py

test: install
	scripts/ensure_chromium.sh
	scripts/ensure_podman.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest
	$(PY) -m scripts.check_deploy

clean:
	rm -rf $(VENV) .venv-deploy artifacts var .pytest_cache .ruff_cache
