# Trainshed: `make run` serves it, `make test` proves it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
SOURCES := pyproject.toml $(wildcard client/pyproject.toml)

.PHONY: run test lint bench install install-test clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-installed: $(PY) $(SOURCES)
	$(PIP) install -e '.[run]'
	@if [ -f client/pyproject.toml ]; then $(PIP) install -e ./client; fi
	@touch $@

$(VENV)/.test-installed: $(PY) $(SOURCES)
	$(PIP) install -e '.[test]'
	@if [ -f client/pyproject.toml ]; then $(PIP) install -e ./client; fi
	@touch $@

install: $(VENV)/.run-installed
install-test: $(VENV)/.test-installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo
	$(PY) manage.py serve

test: install-test
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check .

bench: install-test
	$(PY) bench/pages.py
	$(PY) bench/api.py
	$(PY) bench/accrual.py
	$(PY) bench/jobs.py
	$(PY) bench/logs.py
	$(PY) bench/transfers.py

clean:
	rm -rf $(VENV) db.sqlite3 var/
