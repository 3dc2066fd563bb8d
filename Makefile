# Every target sets itself up: `make quickstart` and `make check` work on a fresh machine
# with only Python 3.10+, pip and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: quickstart check lint typecheck test bench install clean clean-notebooks

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/python examples/quickstart.py

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict src examples

test: $(STAMP)
	$(BIN)/pytest

check: lint typecheck test

# Clear outputs and execution counts of the example notebooks (commit them without outputs;
# tests/test_notebooks.py checks).
define CLEAR_NOTEBOOKS
import sys, nbformat
for path in sys.argv[1:]:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, path)
endef
export CLEAR_NOTEBOOKS

clean-notebooks: $(STAMP)
	$(BIN)/python -c "$$CLEAR_NOTEBOOKS" examples/notebooks/*.ipynb

clean:
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache .pytest_cache
