# Sawt — every target installs what is missing first, so a fresh clone needs only `make run` or `make test`.
PYTHON ?= $(shell command -v python3.10 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test train eval bench lint install clean system-deps

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 10), "Sawt needs Python 3.10 (Rasa 3.6): found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip<24.1" "setuptools<71" "wheel<0.46"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sawt run

train: $(STAMP)
	$(BIN)/sawt train

eval: $(STAMP)
	$(BIN)/sawt eval

system-deps:
	@bash scripts/system-deps.sh

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check bot actions tests

clean:
	rm -rf $(VENV) models var .rasa results
