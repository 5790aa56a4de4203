# Every target creates the virtual environment it needs; only Python 3.11+ is required.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench check-actions catalogue-check clean constraints

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/liver demo

# One worker per CPU (pytest-xdist); coverage is combined across workers.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --cov --cov-branch --cov-report=term:skip-covered

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

check-actions: $(STAMP)
	$(BIN)/zizmor --offline --min-severity low .github/workflows examples/workflows/*.yml action.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml examples/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions action.yml

# Templates against the control catalogue: front matter, coverage of every active control.
catalogue-check: $(STAMP)
	$(BIN)/python -m pytest -q -n auto tests/test_explanations_quality.py -k "catalogue or every_active or front_matter"
	$(BIN)/liver explain --list | tail -n 6

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Refresh the pinned versions after changing dependencies in pyproject.toml.
constraints: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
