# Two commands set everything up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed
# SPEC 8: compiled message catalogs (*.mo) are built here, never committed.
CATALOGS := $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)
DEMO_PASSWORD ?= demo-password-123
export DEMO_PASSWORD

.PHONY: run test test-sqlite test-postgresql lint bench venv clean translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pybabel compile -d translations
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pybabel compile -d translations
	touch $@ $(RUN_STAMP)

# A catalog changed since the install (or its .mo is missing): compile again.
$(COMPILED): %.mo: %.po
	$(BIN)/pybabel compile -d translations

venv: $(DEV_STAMP)

run: $(RUN_STAMP) $(COMPILED)
	$(FLASK) db upgrade heads
	$(FLASK) seed-demo --if-empty
	@echo "Serving on http://$${BIND:-127.0.0.1:5000}  (demo users' password: $(DEMO_PASSWORD))"
	$(BIN)/gunicorn -c gunicorn.conf.py app:app

# The whole suite on SQLite and PostgreSQL (each test runs on both engines).
test: $(DEV_STAMP) $(COMPILED)
	$(BIN)/pytest -q -n 2 --dist loadgroup $(PYTEST_ARGS)

test-sqlite: $(DEV_STAMP) $(COMPILED)
	TEST_ENGINES=sqlite $(BIN)/pytest -q $(PYTEST_ARGS)

test-postgresql: $(DEV_STAMP) $(COMPILED)
	TEST_ENGINES=postgresql $(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

bench: $(DEV_STAMP)
	$(BIN)/python -m bench.run

# SPEC 8: re-extract every gettext string and merge it into each language's catalog.
translations: $(RUN_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations

clean:
	rm -rf $(VENV) instance
