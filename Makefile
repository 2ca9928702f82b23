# Groundwork: `make run` starts the demo, `make test` runs lint and the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
CHROMIUM ?= /usr/bin/chromium
BENCH ?=

.PHONY: run test lint bench install chromium clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

run: export DJANGO_DEBUG ?= true
run: install
	mkdir -p var/broker
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

test: export DJANGO_SECRET_KEY ?= groundwork-test-only-secret-key-0123456789abcdef
test: export REDIS_URL ?= redis://127.0.0.1:6379/0
test: export CHROMIUM_PATH ?= $(CHROMIUM)
test: install chromium lint
	tests/with-postgres.sh $(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

chromium:
	@test -x $(CHROMIUM) || { echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

bench: export DJANGO_SECRET_KEY ?= groundwork-benchmark-only-secret-key-0123456789
bench: install
	@for script in $(if $(BENCH),tests/benchmarks/$(BENCH).py,$(wildcard tests/benchmarks/*.py)); do \
		tests/with-postgres.sh $(BIN)/python $$script || exit 1; \
	done

clean:
	rm -rf $(VENV) var
