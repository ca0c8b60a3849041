.PHONY: install run test test-fast lint bench migrate clean

VENV := .venv
PY := $(VENV)/bin/python

install:
	@bash scripts/install.sh

run: install
	$(VENV)/bin/pressroom migrate
	$(VENV)/bin/pressroom serve

test: install
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# Everything that needs no browser and no Pressroom process (markers: pyproject.toml, tests/conftest.py).
test-fast: install
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow and not chromium and not server" $(PYTEST_ARGS)

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
