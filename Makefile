# 招商引资 CRM: the commands a developer and CI run.
#
#   make run        install, migrate the SQLite file, load the demo data, serve on 127.0.0.1:5000
#   make test       lint, format check and the test suite (SQLite unless TEST_DATABASE_URL is set)
#   make test-pg    the same suite on PostgreSQL (PG_TEST_URL)
#
# Everything lives in a virtual environment in .venv; requirements are reinstalled only when a
# requirements file changes (stamp files inside .venv).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
FLASK := $(BIN)/flask --app wsgi
PYBABEL := $(BIN)/pybabel
RUFF := $(BIN)/ruff

RUNTIME_STAMP := $(VENV)/.requirements.stamp
DEV_STAMP := $(VENV)/.requirements-dev.stamp

TRANSLATIONS := app/translations
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

# `make run` is for a developer's machine: development settings unless APP_ENV says otherwise.
RUN_ENV := APP_ENV=$${APP_ENV:-development}

.PHONY: help install install-dev run test test-pg lint format translations \
        compile-translations clean distclean

help:
	@echo "make run          install, migrate, load demo data, serve http://127.0.0.1:5000"
	@echo "make test         ruff check, ruff format --check, pytest (SQLite or TEST_DATABASE_URL)"
	@echo "make test-pg      pytest on PostgreSQL ($(PG_TEST_URL))"
	@echo "make lint         ruff check and format check"
	@echo "make format       ruff format and autofix"
	@echo "make translations extract messages and update the English catalogue"
	@echo "make clean        remove caches and compiled catalogues (distclean also removes .venv)"
	@echo "PYTEST_ARGS='-k money -x' passes options to pytest."

# --- environment -------------------------------------------------------------------------------

$(PY):
	@test -n "$(PYTHON)" || { echo "python3.11 or python3 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

instance:
	mkdir -p instance

# Compile the .po catalogues to .mo; a missing translations directory is not an error.
compile-translations: | $(PY)
	@if [ -d $(TRANSLATIONS) ] && find $(TRANSLATIONS) -name '*.po' | grep -q .; then \
		$(PYBABEL) -q compile -d $(TRANSLATIONS) -f; \
	else \
		echo "no translation catalogues to compile"; \
	fi

# --- running -----------------------------------------------------------------------------------

run: install compile-translations instance
	$(RUN_ENV) $(FLASK) db upgrade
	$(RUN_ENV) $(FLASK) demo load
	$(RUN_ENV) $(FLASK) demo results-2022
	$(RUN_ENV) $(FLASK) run --host 127.0.0.1 --port 5000

# --- checks ------------------------------------------------------------------------------------

lint: install-dev
	$(RUFF) check .
	$(RUFF) format --check .

format: install-dev
	$(RUFF) format .
	$(RUFF) check --fix .

test: install-dev compile-translations lint
	$(PY) -m pytest $(PYTEST_ARGS)

# The browser tests (tests/e2e) run on their own SQLite file whatever the database, so once is enough.
test-pg: install-dev compile-translations
	TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest --ignore=tests/e2e $(PYTEST_ARGS)

# --- translations ------------------------------------------------------------------------------

translations: install-dev
	mkdir -p $(TRANSLATIONS)
	$(PYBABEL) extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		-k _p:1c,2 -k lazy_pgettext:1c,2 \
		--sort-by-file --project=zhaoshang-crm -o $(TRANSLATIONS)/messages.pot .
	@if [ -f $(TRANSLATIONS)/en/LC_MESSAGES/messages.po ]; then \
		$(PYBABEL) update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l en; \
	else \
		$(PYBABEL) init -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l en; \
	fi

# --- cleaning ----------------------------------------------------------------------------------

clean:
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
	find . -path ./$(VENV) -prune -o -name '*.pyc' -type f -print0 | xargs -0 rm -f
	rm -rf .pytest_cache .ruff_cache
	find $(TRANSLATIONS) -name '*.mo' -type f -delete 2>/dev/null || true

# Also remove the virtual environment (the SQLite database in instance/ is kept).
distclean: clean
	rm -rf $(VENV)
