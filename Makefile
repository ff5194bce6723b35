# Two commands set everything up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed
DEMO_PASSWORD ?= demo-password-123
export DEMO_PASSWORD

.PHONY: run test test-sqlite test-postgresql lint bench venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(RUN_STAMP)

venv: $(DEV_STAMP)

run: $(RUN_STAMP)
	$(FLASK) db upgrade heads
	$(FLASK) seed-demo --if-empty
	@echo "Serving on http://127.0.0.1:5000  (demo users' password: $(DEMO_PASSWORD))"
	$(BIN)/gunicorn -c gunicorn.conf.py app:app

# The whole suite on SQLite and PostgreSQL (each test runs on both engines).
test: $(DEV_STAMP)
	$(BIN)/pytest -q -n 2 --dist loadgroup $(PYTEST_ARGS)

test-sqlite: $(DEV_STAMP)
	TEST_ENGINES=sqlite $(BIN)/pytest -q $(PYTEST_ARGS)

test-postgresql: $(DEV_STAMP)
	TEST_ENGINES=postgresql $(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

bench: $(DEV_STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) instance
