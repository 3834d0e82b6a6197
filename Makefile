# `make run` and `make test` set everything up on first use; later runs take seconds.
# `make run` installs what serving needs (requirements.txt, secantusd-rs, the page's
# runtime packages); `make test` and `make check` add the tools (requirements-dev.txt,
# the page's browser-test package, the Node examples').
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SECANTUSD := .tools/bin/secantusd-rs
PAGE := client_examples/browser
NODE_EXAMPLE := client_examples/node
ALPACA_NODE_EXAMPLE := client_examples/alpaca-node
# Stamps: what each install left (npm ci empties node_modules, its stamps included).
SERVE_PYTHON := $(VENV)/.installed-runtime
DEV_PYTHON := $(VENV)/.installed
PAGE_RUNTIME := $(PAGE)/node_modules/.installed-runtime
PAGE_FULL := $(PAGE)/node_modules/.installed-dev
NODE_EXAMPLE_DEPS := $(NODE_EXAMPLE)/node_modules/.installed-dev
ALPACA_NODE_EXAMPLE_DEPS := $(ALPACA_NODE_EXAMPLE)/node_modules/.installed-dev
NPM_CI := npm ci --no-audit --no-fund

.PHONY: run test check setup setup-dev first-run lint typecheck layers clean cluster packages

run: first-run setup
	$(BIN)/python run.py

# Three server processes on one embedded database and one redis-server (docs/SCALING.md).
cluster: first-run setup packages
	$(BIN)/python scripts/cluster.py

test: first-run setup-dev packages check
	$(BIN)/python -m pytest

check: lint typecheck layers

lint: $(DEV_PYTHON)
	$(BIN)/ruff check .

layers: $(DEV_PYTHON)
	$(BIN)/lint-imports

typecheck: $(DEV_PYTHON)
	$(BIN)/mypy

setup: $(SERVE_PYTHON) $(SECANTUSD) $(PAGE_RUNTIME)

setup-dev: $(DEV_PYTHON) $(SECANTUSD) $(PAGE_FULL) $(NODE_EXAMPLE_DEPS) $(ALPACA_NODE_EXAMPLE_DEPS)

# Says up front how long a first set-up takes, when one is due.
first-run:
	@[ -x $(SECANTUSD) ] && [ -f $(SERVE_PYTHON) -o -f $(DEV_PYTHON) ] || \
	echo "First run: setting up takes about 3 to 7 minutes (Python packages 1 to 2 minutes," \
	"building secantusd-rs 2 to 5 minutes on two cores); later runs start in seconds."

$(SERVE_PYTHON): requirements.txt
	@echo "[setup] Python packages for serving (requirements.txt) into $(VENV)/..."
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt
	touch $@

# The tools include everything serving needs.
$(DEV_PYTHON): requirements.txt requirements-dev.txt
	@echo "[setup] Python packages for serving, tests and checks (requirements-dev.txt) into $(VENV)/..."
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(SERVE_PYTHON)

$(SECANTUSD): scripts/install-secantusd.sh
	@scripts/install-secantusd.sh

# Debian packages the tests need (redis-server, jq, curl, chromium); `make run` needs none.
packages:
	@scripts/ensure-packages.sh

# $(call npm_ci,folder,npm ci options,what for,stamps): installs from the lockfile,
# showing npm's progress; without npm, says what is missing and goes on.
define npm_ci
	@if command -v npm >/dev/null; then \
	  echo "[setup] $(3): $(1)/node_modules (npm ci$(if $(2), $(2)))..." && \
	  cd $(1) && $(NPM_CI) $(2) && touch $(4); \
	else echo "npm not found: $(1) is not installed ($(3))"; fi
endef

$(PAGE_RUNTIME): $(PAGE)/package.json $(PAGE)/package-lock.json
	$(call npm_ci,$(PAGE),--omit=dev,the page's packages,node_modules/.installed-runtime)

# The full install (the browser test's playwright-core too) serves the page as well.
$(PAGE_FULL): $(PAGE)/package.json $(PAGE)/package-lock.json
	$(call npm_ci,$(PAGE),,the page's packages and its browser test's,\
	  node_modules/.installed-dev node_modules/.installed-runtime)

$(NODE_EXAMPLE_DEPS): $(NODE_EXAMPLE)/package.json $(NODE_EXAMPLE)/package-lock.json
	$(call npm_ci,$(NODE_EXAMPLE),,the Node example's packages,node_modules/.installed-dev)

$(ALPACA_NODE_EXAMPLE_DEPS): $(ALPACA_NODE_EXAMPLE)/package.json $(ALPACA_NODE_EXAMPLE)/package-lock.json
	$(call npm_ci,$(ALPACA_NODE_EXAMPLE),,the Alpaca Node SDK example's packages,node_modules/.installed-dev)

clean:
	rm -rf $(VENV) .tools client_examples/*/node_modules test-artifacts .pytest_cache .mypy_cache .ruff_cache
