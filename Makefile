# Two commands on a fresh machine:  `make demo` runs Milkbot on embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DAYS   ?= 3

.PHONY: install demo test bench lint clean

$(BIN)/milkbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/milkbot

# DuckDB + the local exchange simulator + publishing to ./milkbot-data/site: no Postgres, no account, no cloud.
demo: install
	$(BIN)/milkbot demo --days $(DAYS)

# Postgres tests are mandatory: MILKBOT_TEST_DATABASE_URL names a server, otherwise the suite starts its own.
test: install
	$(BIN)/pytest -q

bench: install
	$(BIN)/milkbot bench all

lint: install
	$(BIN)/ruff check daemon publisher tests bench

clean:
	rm -rf $(VENV) milkbot-data .pytest_cache .hypothesis
