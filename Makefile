# Every target sets itself up: `make quickstart` and `make check` work on a fresh machine
# with only Python 3.10+, pip and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Reinstalls when pyproject or the version changes: an editable install's metadata (name,
# version) is fixed when it is installed.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml src/edm_client/_version.py | cksum | cut -d' ' -f1)
PY_PATHS := src tests examples scripts $(wildcard benchmarks)

.PHONY: quickstart check lint typecheck test storm bench bench-quick install docs dist release-check clean clean-notebooks

# Uninstalls edm-client: the distribution's name before it became edm-sdk, which a .venv made
# earlier still holds.
$(STAMP): pyproject.toml src/edm_client/_version.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip uninstall --quiet --yes edm-client
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/python examples/quickstart.py

lint: $(STAMP)
	$(BIN)/ruff check $(PY_PATHS)
	$(BIN)/ruff format --check $(PY_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy --strict src examples scripts benchmarks

test: $(STAMP)
	$(BIN)/pytest

# The fault storms of docs/reliability.md with their numbers printed; SEED=n for another seed.
storm: $(STAMP)
	EDM_STORM_SEED=$(or $(SEED),7) $(BIN)/pytest tests/test_fault_storm.py -q -s -p no:cacheprovider

# The docs site into site/; --strict turns a broken link, page or API reference into a failure.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# A wheel and an sdist in an emptied dist/ (the wheel is built from the sdist), twine-checked.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

# What users get from `pip install`: contents, metadata, and a fresh venv running the quickstart.
release-check: dist
	$(BIN)/python scripts/check_dist.py dist

# The full benchmark run (about 2 minutes); the table is recorded in docs/performance.md.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# A few small rounds, so the benchmark cannot rot; it asserts no timing (< 30 s).
bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run.py --quick

check: lint typecheck test bench-quick docs release-check

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
	rm -rf $(VENV) dist build site .mypy_cache .ruff_cache .pytest_cache
