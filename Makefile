# `make run` and `make test` set everything up on first use; later runs take seconds.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FERRETDB := .tools/bin/ferretdb
NODE_DEPS := client_examples/node/node_modules/.package-lock.json

.PHONY: run test check setup lint typecheck clean

run: setup
	$(BIN)/python run.py

test: setup check
	$(BIN)/python -m pytest

check: lint typecheck

lint: $(VENV)/.installed
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

setup: $(VENV)/.installed $(FERRETDB) packages $(NODE_DEPS)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(FERRETDB): scripts/install-ferretdb.sh
	scripts/install-ferretdb.sh

.PHONY: packages
packages:
	@scripts/ensure-packages.sh

$(NODE_DEPS): client_examples/node/package.json client_examples/node/package-lock.json
	@if command -v npm >/dev/null; then cd client_examples/node && npm ci --silent --no-audit --no-fund; \
	else echo "npm not found: the Node client example and its test are skipped"; fi

clean:
	rm -rf $(VENV) .tools client_examples/node/node_modules .pytest_cache .mypy_cache .ruff_cache
