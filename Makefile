# cxgov — `make` is the one front door. See README.md.
SHELL := /bin/bash
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
PYTHON312 ?= $(shell PYENV_VERSION=3.12.1 python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3.12)
PYTEST_ARGS ?=
TEST_ENV := DJANGO_SETTINGS_MODULE=cxgov.settings_test

.PHONY: install run worker beat test test-worker test-fast test-browser lint fmt typecheck check bench bench-quick seed services clean

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found (pyenv 3.12.1 or python3.12 on PATH)"; exit 1; }
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[dev]"
	@touch $@

install: $(VENV)/.installed ## create .venv (Python 3.12) with the pinned dependencies

run: install ## embedded default: SQLite, tasks inline, demo data, on http://127.0.0.1:$(PORT)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "cxgov is on http://127.0.0.1:$(PORT)/  (log in as leader / cxgov-demo; also ambassador, owner, finance, executive)"
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

worker: install ## a real Celery worker (needs REDIS_URL)
	$(VENV)/bin/celery -A cxgov worker --loglevel=INFO --concurrency=$${CELERY_CONCURRENCY:-2}

beat: install ## Celery beat with the database scheduler (needs REDIS_URL)
	$(VENV)/bin/celery -A cxgov beat --loglevel=INFO

seed: install
	$(PY) manage.py seed_demo

services: ## make sure PostgreSQL and Redis run here (starts them when they do not), plus Debian packages the suite needs
	bash scripts/ensure_services.sh

lint: install ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install
	@echo "mypy is not pinned yet; see docs/decisions"

check: install ## migrations committed, deploy checks clean in real mode, bandit
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxgov REDIS_URL=redis://127.0.0.1:6379/15 DJANGO_DEBUG=0 \
	  DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=') DJANGO_ALLOWED_HOSTS=cxgov.example.com \
	  $(PY) manage.py check --deploy --fail-level WARNING
	$(VENV)/bin/bandit -q -c pyproject.toml -r cxgov charter missions feedback reports

test: install services lint check ## the whole suite against real PostgreSQL, Redis and Chromium
	$(TEST_ENV) $(VENV)/bin/pytest -n 2 --create-db $(PYTEST_ARGS)

test-worker: install services ## only the tests that run a real Celery worker
	$(TEST_ENV) $(VENV)/bin/pytest -m worker $(PYTEST_ARGS)

test-fast: install ## the suite without browser or service-fault tests
	$(TEST_ENV) $(VENV)/bin/pytest -m "not browser and not services" $(PYTEST_ARGS)

test-browser: install services
	$(TEST_ENV) $(VENV)/bin/pytest tests/browser $(PYTEST_ARGS)

bench: install services
	$(PY) -m bench.run --full

bench-quick: install services
	$(PY) -m bench.run --quick

clean:
	rm -rf $(VENV) var/staticfiles .pytest_cache
