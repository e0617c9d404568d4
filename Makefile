# Everyday tasks: the same scripts and commands the README, pre-commit and CI use.
# Extra arguments go through ARGS: `make train ARGS="--no-cache"`, `make test ARGS="-m 'not e2e'"`,
# `make notebook ARGS="--no-browser"`.
PYTHON := .venv/bin/python
# The project's ZenML store, as the .venv's activate script (scripts/install.sh) and run.py find it.
ZENML_CONFIG_PATH ?= $(or $(PROJECT_STATE_DIR),$(CURDIR)/.state)/zenml

.PHONY: help install check test train serve score monitor deploy undeploy notebook

help:
	@echo "make install    create .venv with the locked dependencies (scripts/install.sh)"
	@echo "make check      lint, format check and the other pre-commit hooks (scripts/check.sh)"
	@echo "make test       the test suite (scripts/test.sh)"
	@echo "make train | score | monitor | deploy | undeploy    python run.py <command>"
	@echo "make serve      serve the production model locally (python run.py deploy)"
	@echo "make notebook   JupyterLab on notebooks/ with this project's ZenML store"

install:
	bash scripts/install.sh

check:
	bash scripts/check.sh $(ARGS)

test:
	bash scripts/test.sh $(ARGS)

train score monitor deploy undeploy: install
	$(PYTHON) run.py $@ $(ARGS)

serve: deploy

notebook: install
	ZENML_CONFIG_PATH="$(ZENML_CONFIG_PATH)" PYTHONPATH="$(CURDIR)" .venv/bin/jupyter lab notebooks/ $(ARGS)
