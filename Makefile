# `make run` and `make test` set everything up on first use; later runs take seconds.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SECANTUSD := .tools/bin/secantusd-rs
# The page's packages (lightweight-charts, socket.io-client, and playwright-core for
# its browser test) and the Node example's.
NODE_DEPS := client_examples/browser/node_modules/.package-lock.json \
	client_examples/node/node_modules/.package-lock.json

.PHONY: run test check setup lint typecheck layers clean cluster

run: setup
	$(BIN)/python run.py

# Three server processes on one embedded database and one redis-server (docs/SCALING.md).
cluster: setup packages
	$(BIN)/python scripts/cluster.py

test: setup packages check
	$(BIN)/python -m pytest

check: lint typecheck layers

lint: $(VENV)/.installed
	$(BIN)/ruff check .

layers: $(VENV)/.installed
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed
	$(BIN)/mypy

setup: $(VENV)/.installed $(SECANTUSD) $(NODE_DEPS)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(SECANTUSD): scripts/install-secantusd.sh
	scripts/install-secantusd.sh

# Debian packages the tests need (redis-server, jq, curl, chromium); `make run` needs none.
.PHONY: packages
packages:
	@scripts/ensure-packages.sh

client_examples/%/node_modules/.package-lock.json: client_examples/%/package.json client_examples/%/package-lock.json
	@if command -v npm >/dev/null; then cd client_examples/$* && npm ci --silent --no-audit --no-fund; \
	else echo "npm not found: client_examples/$* is not installed (the page at / needs it)"; fi

clean:
	rm -rf $(VENV) .tools client_examples/*/node_modules test-artifacts .pytest_cache .mypy_cache .ruff_cache
