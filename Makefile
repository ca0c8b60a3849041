.PHONY: install run test test-fast lint bench migrate clean

VENV := .venv
PY := $(VENV)/bin/python

install:
	@bash scripts/install.sh

run: install
	$(VENV)/bin/pressroom migrate
	$(VENV)/bin/pressroom serve

test: install
	$(PY) -m pytest -q -p no:cacheprovider --durations=40 $(PYTEST_ARGS)

# Everything that runs in this process alone: no browser, no real HTML engine, no Pressroom process and no
# backing service (PostgreSQL, Redis, RabbitMQ, S3). A deselection by the markers tests/conftest.py applies
# (pyproject.toml lists them); `make test` runs them all.
FAST := not slow and not chromium and not engine and not server and not services
# On every core; --dist loadfile keeps each test file on one worker, in file order, as `make test` runs it.
test-fast: install
	$(PY) -m pytest -q -p no:cacheprovider -m "$(FAST)" -n auto --dist loadfile $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: install
	$(PY) bench/run.py

lock:
	uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
