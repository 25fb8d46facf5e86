# The two front-door commands: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test lint typecheck pytest pytest-postgres screenshots chromium bench wrk clean \
	messages compile catalogues lighthouse

# Translations (Flask-Babel): the source strings are English; each language has its catalogue
# in translations/<lang>/LC_MESSAGES/messages.po. The compiled .mo files are built here (by
# `make run`, `make test` and the other commands that serve pages), never committed.
BABEL := $(BIN)/pybabel
LANGS := it fr es
PO_FILES := $(foreach lang,$(LANGS),translations/$(lang)/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the requirements change.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# The reminder worker runs beside the web server, so the demo patient gets real reminders;
# Ctrl+C stops both. Push services want a contact for the sender: a local one unless set.
# Links are built on MESO_BASE_URL (and other hosts refused): here, the local server.
run: export VAPID_SUBJECT ?= mailto:demo@clinic.example
run: export MESO_BASE_URL ?= http://127.0.0.1:5000
run: export MESO_LOG_FORMAT ?= text
run: $(VENV)/.runtime catalogues
	$(FLASK) init
	@echo
	@echo "Meso aftercare is starting on $$MESO_BASE_URL"
	@$(FLASK) demo
	@echo "(Open the patient link in a phone-sized window; Ctrl+C stops the server.)"
	@echo
	@$(FLASK) reminders run & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

# Debian's Chromium drives the browser tests; Playwright's own browser download is not used.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

test: $(VENV)/.dev chromium catalogues lint typecheck pytest pytest-postgres

lint: $(VENV)/.dev
	$(BIN)/ruff check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

pytest: $(VENV)/.dev chromium catalogues
	$(BIN)/python -m pytest

# The same suite (browser tests aside) on PostgreSQL: the code must run on both.
pytest-postgres: $(VENV)/.dev catalogues
	MESO_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -m "not browser and not sqlite" -q

# The README's own pictures (docs/screenshots/), retaken on purpose by the browser test that
# shows them; any other test run leaves its screenshots in test-artifacts/ (ignored by git).
screenshots: $(VENV)/.dev chromium catalogues
	MESO_README_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_browser.py -q

# Every figure of issue 14 beside its target, in one table (bench/run.py: a few minutes, its
# own SQLite file and PostgreSQL database, both gone afterwards). Never part of `make test`.
bench: $(VENV)/.dev wrk catalogues
	$(BIN)/python bench/run.py

# Lighthouse's scores and timings for Today and the timeline on an emulated phone (issue 15;
# bench/lighthouse.py: under a minute, its own SQLite file and server, both gone afterwards),
# driving Debian's Chromium. Lighthouse itself is the npm package pinned in bench/lighthouse/.
# Never part of `make test`: the scores move with the machine's load.
lighthouse: $(VENV)/.dev chromium catalogues
	@test -d bench/lighthouse/node_modules || npm ci --prefix bench/lighthouse --no-audit --no-fund
	CHROME_PATH=$${CHROME_PATH:-$$(command -v chromium)} $(BIN)/python bench/lighthouse.py

# The load generator the bench drives gunicorn with, from Debian.
wrk:
	@command -v wrk >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; }

# Collect every marked string into translations/messages.pot, then add the new ones to each
# language's catalogue (untranslated); the ones gone stay as #~ comments, for the translators
# to reuse. No fuzzy matching: a new string must never be shown with the translation of a
# different one that merely looks alike.
messages: $(VENV)/.runtime
	$(BABEL) extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		-o translations/messages.pot .
	$(BABEL) update -i translations/messages.pot -d translations --no-fuzzy-matching


# Every catalogue compiled, with how much of each is translated.
compile: $(VENV)/.runtime
	$(BABEL) compile -d translations --statistics

# The compiled catalogues, each rebuilt only when its .po changed.
catalogues: $(MO_FILES)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(VENV)/.runtime
	$(BABEL) compile -i $< -o $@ -l $* --statistics

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
