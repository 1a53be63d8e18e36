# skinsite: `make run` starts the whole site, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip

.PHONY: run test lint messages bench soak help

help:
	@echo "make run    install (first time), prepare and start web + worker + Redis"
	@echo "make test   install test tools, ruff, mypy and the whole test suite"
	@echo "make bench  run the benchmarks and rewrite bench/RESULTS.md"
	@echo "make soak   the 10-minute load test (20 people) against a live stack"
	@echo "make lint   ruff and mypy"
	@echo "make messages  refresh and compile the Arabic catalogues"

# The stamps make a second `make run` skip pip entirely while the requirements are unchanged.
$(VENV)/.runtime-installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	$(PY) .ci/ensure_pdf_libs.py
	@touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.runtime-installed
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@

run: $(VENV)/.runtime-installed
	$(PY) manage.py run_site

test: $(VENV)/.dev-installed
	$(PY) .ci/ensure_browser.py
	$(PY) .ci/ensure_pdf_libs.py --tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy skinsite diagnosis mltrain
	$(VENV)/bin/lint-imports --no-logo
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy skinsite diagnosis mltrain
	$(VENV)/bin/lint-imports --no-logo

messages: $(VENV)/.dev-installed
	$(PY) manage.py makemessages -l ar --no-obsolete --ignore=.venv --ignore=var --ignore=diseases --ignore=diagnosis --ignore=mltrain --ignore=sharing --ignore=bench
	for app in diseases diagnosis mltrain sharing; do (cd $$app && ../$(PY) ../manage.py makemessages -l ar --no-obsolete); done
	$(PY) manage.py compilemessages --ignore=.venv

bench: $(VENV)/.dev-installed
	$(PY) bench/run.py

# The README's longer load run: uploads and polls for 10 minutes; fails on any lost job, 5xx or
# connection error. SOAK_SECONDS shortens or lengthens it.
soak: $(VENV)/.dev-installed
	LOAD_TEST_SECONDS=$${SOAK_SECONDS:-600} $(PY) -m pytest skinsite/tests/test_load.py -s
