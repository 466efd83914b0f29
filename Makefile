# The two commands that matter: `make run` and `make test`. See README.md.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# `make run PORT=8001` serves on another port. With DEBUG on, settings.py defaults SITE_URL
# (the address in emails, feeds and canonical links) to http://127.0.0.1:8000, so `make run`
# passes the address it serves on, unless SITE_URL is set (environment or command line).
PORT ?= 8000
ifeq ($(strip $(SITE_URL)),)
override SITE_URL := http://127.0.0.1:$(PORT)
endif
RUN_ENV := DJANGO_DEBUG=true SITE_URL='$(SITE_URL)'
RUN_LINKS := $(if $(filter-out http://127.0.0.1:$(PORT) http://127.0.0.1:$(PORT)/,$(SITE_URL)),\
	Links in emails and feeds point to $(SITE_URL) (SITE_URL).)
TEST_ENV := DJANGO_SETTINGS_MODULE=publisher.settings_test

# Python 3.13: pyenv's choice from .python-version where pyenv manages Pythons,
# otherwise python3.13 on PATH.
PYTHON313 := $(shell for c in "$$(pyenv which python 2>/dev/null)" "$$(command -v python3.13)"; do \
	[ -n "$$c" ] && "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null \
	&& { echo "$$c"; break; }; done)

.PHONY: run test test-clock postgres-binaries test-prodlike lint worker beat check-python clean prodlike prodlike-stop bench

check-python:
	@if [ -z "$(PYTHON313)" ]; then \
		echo "Python 3.13 is required but was not found."; \
		echo "Install it (for example 'pyenv install 3.13') or put python3.13 on PATH."; \
		exit 1; \
	fi

$(VENV)/.created: | check-python
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then \
		echo "Replacing $(VENV): it was not built with Python 3.13."; rm -rf $(VENV); fi
	@[ -x $(PY) ] || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(VENV)/.installed
	@mkdir -p var
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py load_demo_data
	@echo ""
	@echo "  Gridline Research is running at http://127.0.0.1:$(PORT)/"
	@echo "  Editor admin:  http://127.0.0.1:$(PORT)/admin/"
	$(if $(RUN_LINKS),@echo "  $(strip $(RUN_LINKS))")
	@echo "  Demo logins (password for all: demo-password-2026):"
	@echo "    editor@example.com      editor (staff, admin access)"
	@echo "    subscriber@example.com  subscriber with an active membership"
	@echo "    reader@example.com      free reader (sees teasers and the paywall)"
	@echo "    team@example.com        admin of a team licence (its usage at /team/)"
	@echo "  Emails are printed in this terminal; Celery tasks run in-process."
	@echo ""
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(TEST_ENV) $(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# axe-core, Lighthouse and the Nu HTML Checker for the accessibility and validity tests,
# pinned by tests/a11y/package-lock.json.
A11Y := tests/a11y
$(A11Y)/node_modules/.installed: $(A11Y)/package.json $(A11Y)/package-lock.json
	cd $(A11Y) && npm ci --no-audit --no-fund --prefer-offline
	@touch $@

# The read replica's tests (tests/support/replication.py) make a primary and its standby with
# the machine's PostgreSQL server binaries: initdb and pg_ctl (Debian's postgresql-15) and
# pg_basebackup (postgresql-client-15), which the `postgresql` package brings.
postgres-binaries:
	@if ! ls /usr/lib/postgresql/*/bin/initdb /usr/lib/postgresql/*/bin/pg_basebackup >/dev/null 2>&1; then \
		echo "--- installing Debian's postgresql (initdb, pg_basebackup) for the replica tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

test: $(VENV)/.installed $(A11Y)/node_modules/.installed postgres-binaries lint
	$(TEST_ENV) $(PY) manage.py check --fail-level WARNING
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest

# The suite with a frozen clock (tests/conftest.py, --frozen-clock), once per instant: the
# end of a month and a year late in the evening in the site's zone (America/New_York, already
# the next day in UTC), and just before the spring and the autumn daylight-saving changes.
# About 2 minutes per instant. Without the slow tests (Lighthouse, a minute of page loads
# with nothing dated in them) and the integration ones (real workers, which do get the
# test's clock, but take minutes: run `make test-clock CLOCK_TESTS="not prodlike"` when
# changing them). Chromium keeps the wall clock; the browser tests still run (the session
# cookie's Max-Age is relative, so logins hold at any instant).
CLOCKS ?= 2026-12-31T23:30:00-05:00 2026-03-08T01:30:00-05:00 2026-11-01T01:30:00-04:00
CLOCK_TESTS ?= not slow and not integration and not prodlike
test-clock: $(VENV)/.installed $(A11Y)/node_modules/.installed
	@set -e; for clock in $(CLOCKS); do \
		echo "--- pytest --frozen-clock=$$clock"; \
		start=$$(date +%s); \
		$(TEST_ENV) $(VENV)/bin/pytest -q -m "$(CLOCK_TESTS)" --frozen-clock=$$clock; \
		echo "--- frozen at $$clock: $$(( $$(date +%s) - start )) s"; \
	done

# Faults and load on the production topology (nginx, gunicorn, worker, beat): crashes and
# outages lose no email and no webhook, nginx's cache never serves one reader's page to
# another, and mixed load gets no error. Minutes, so not in `make test`; .ci/run runs both.
# See tests/README.md, "make test-prodlike".
test-prodlike: $(VENV)/.installed
	$(TEST_ENV) $(VENV)/bin/pytest -m prodlike tests/prodlike

worker: $(VENV)/.installed
	$(VENV)/bin/celery -A publisher worker --loglevel INFO

beat: $(VENV)/.installed
	$(VENV)/bin/celery -A publisher beat --loglevel INFO

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache

# The production topology on this machine (nginx, gunicorn, Celery worker and beat, a local
# SMTP sink and Stripe fake; PostgreSQL and Redis from the machine). EMAIL_PROVIDER=postmark
# sends mail through Postmark's API to a local fake of it instead. See deploy/README.md,
# "make prodlike".
prodlike: $(VENV)/.installed
	$(PY) deploy/prodlike/run.py start $(if $(EMAIL_PROVIDER),--email-provider $(EMAIL_PROVIDER)) \
		$(if $(WEB_NODES),--web-nodes $(WEB_NODES)) $(if $(WORKER_NODES),--worker-nodes $(WORKER_NODES))

prodlike-stop: $(VENV)/.installed
	$(PY) deploy/prodlike/run.py stop

# Performance figures on the production topology, each against a baseline from the same run
# (about 10 minutes, more the first time; not in `make test`). See bench/README.md.
bench: $(VENV)/.installed
	$(PY) bench/run.py
