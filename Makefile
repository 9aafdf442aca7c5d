# podbridge: the two commands of the quick start are `make run` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
WORLD ?= $(CURDIR)/.worlds/run

.PHONY: deps panel run test test-stress soak bench fuzz lint demo install clean

deps:
	@bash scripts/install-deps.sh

# The panel is rebuilt only when it is missing or older than its sources.
panel: deps
	@bash scripts/build-panel.sh

run: deps panel
	@bash scripts/run.sh

# The panel's own unit tests (vitest), then the whole pytest suite.
test: deps panel
	@if [ -f frontend/package.json ]; then cd frontend && npm test --silent; fi
	$(BIN)/pytest $(PYTEST_ARGS)

# The rollback and restart scenarios N times under stress-ng (all CPUs): false rollbacks,
# missed rollbacks and flakes, all must be 0. The 100,000-event burst runs here too.
# STRESS_ARGS=--rotate-flavours: each repetition in one flavour, taking turns.
N ?= 20
test-stress: deps
	PODBRIDGE_BURST_100K=1 $(BIN)/pytest -q tests/integration/test_event_burst.py
	$(BIN)/python -m tests.stress.run --repeat $(N) $(STRESS_ARGS) $(PYTEST_ARGS)

# Churn against a world with 100 websocket clients for DURATION (30m by default): RSS,
# descriptors, tasks and store size at start and end, and events lost.
soak: DURATION ?= 30m
soak: deps
	$(BIN)/python -m tests.stress.soak --duration $(DURATION)

# PODBRIDGE_FLAVOURS (default both): the test worlds the latency and state.get figures are
# also measured in.
bench: deps
	$(BIN)/python -m tests.bench.run --flavours "$${PODBRIDGE_FLAVOURS:-debian12,debian13}"

# A live bridge on a world of its own, attacked with random and malformed input for
# DURATION seconds (docs/security.md); the summary counts the inputs tried.
fuzz: DURATION ?= 600
fuzz: deps
	$(BIN)/python -m tests.fuzz.run --duration $(DURATION) $(FUZZ_ARGS)

demo: deps panel
	@PODBRIDGE_DEMO=1 bash scripts/run.sh

lint: deps
	$(BIN)/ruff check bridge plugins tests
	$(BIN)/mypy --strict bridge plugins

# The Quadlet generator, the auto-update units, the panel as a Cockpit package
# (scripts/install-cockpit.sh), and podbridge's user unit.
install: deps panel
	@bash scripts/install-generator.sh
	@bash scripts/install-autoupdate-units.sh
	@bash scripts/install-cockpit.sh
	@bash scripts/install-user-unit.sh

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist .pytest_cache
