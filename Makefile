# The few verbs people use. Every target sets up .venv itself: nothing is installed by hand.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test lint bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Other ports or the observe mode: make demo PORT=8100 AMI_PORT=5139 MODE=observe
DEMO_ARGS := $(if $(PORT),--port $(PORT)) $(if $(AMI_PORT),--ami-port $(AMI_PORT)) $(if $(MODE),--mode $(MODE))

demo: $(STAMP)
	$(BIN)/hotline demo $(DEMO_ARGS)

serve: $(STAMP)
	$(BIN)/hotline serve

# Debian's chromium for the browser tests (Playwright drives the system browser; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "WARNING: could not install chromium"; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  echo "installing a Chinese font so the browser tests' screenshots are legible"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null) \
	  || echo "WARNING: could not install fonts-wqy-zenhei"; }

# One pytest worker per core (at most 4), tests handed out as workers free up: the suite is
# mostly waiting on servers, browsers and the simulated PBX, so two workers on two cores halve
# its wall time. Each worker has its own SQLite files and PostgreSQL database (tests/conftest.py);
# every server binds port 0. `make test WORKERS=0` runs it in one process.
WORKERS ?= auto
test: $(STAMP) browser
	$(BIN)/python -m pytest $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --maxprocesses 4 --dist worksteal) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy audit calls cluster cti routing tickets recordings agent_ui config
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
