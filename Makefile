# Every target sets itself up: `make quickstart` and `make check` work on a fresh machine
# with only Python 3.10+, pip and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Reinstalls when pyproject or the version changes: an editable install's metadata (name,
# version) is fixed when it is installed.
INSTALLED := .installed-$(shell cat pyproject.toml src/edm_client/_version.py | cksum | cut -d' ' -f1)
STAMP := $(VENV)/$(INSTALLED)
PY_PATHS := src tests examples scripts $(wildcard benchmarks)
# The quickstart's own venv, with the runtime dependencies only: seconds to set up, not the
# dev extra's minute.
QS_VENV := .venv-quickstart
QS_STAMP := $(QS_VENV)/$(INSTALLED)
# The test suite's venv with each runtime dependency at the lowest version pyproject allows.
LOWEST_VENV := .venv-lowest
LOWEST_STAMP := $(LOWEST_VENV)/$(INSTALLED)
# pytest-xdist workers for the whole-suite targets; WORKERS=0 runs in one process.
WORKERS ?= auto
# schemathesis gives the tests of every operation one node id, which pytest-xdist cannot tell
# apart (a worker would run one operation of them), so the fuzzing runs on its own, after.
FUZZ := tests/test_openapi_fuzz.py

.PHONY: quickstart check lint typecheck test test-lowest storm bench bench-quick install docs dist release-check clean clean-notebooks

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

$(QS_STAMP): pyproject.toml src/edm_client/_version.py
	$(PYTHON) -m venv $(QS_VENV)
	$(QS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e .
	rm -f $(QS_VENV)/.installed-*
	touch $@

quickstart: $(QS_STAMP)
	$(QS_VENV)/bin/python examples/quickstart.py

lint: $(STAMP)
	$(BIN)/ruff check $(PY_PATHS)
	$(BIN)/ruff format --check $(PY_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy --strict src examples scripts benchmarks

test: $(STAMP)
	$(BIN)/pytest -n $(WORKERS) --ignore=$(FUZZ)
	$(BIN)/pytest $(FUZZ)

# uv, not pip: it installs in seconds, and when a dev tool cannot be installed next to a
# floor it says so at once, where pip can backtrack for many minutes.
$(LOWEST_STAMP): pyproject.toml src/edm_client/_version.py scripts/lowest_requirements.py | $(STAMP)
	$(BIN)/uv venv --quiet --allow-existing --python $(BIN)/python $(LOWEST_VENV)
	$(BIN)/python scripts/lowest_requirements.py > $(LOWEST_VENV)/requirements.txt
	$(BIN)/uv pip install --quiet --python $(LOWEST_VENV)/bin/python \
		-r $(LOWEST_VENV)/requirements.txt
	rm -f $(LOWEST_VENV)/.installed-*
	touch $@

# The whole suite against the lowest runtime versions pyproject allows
# (scripts/lowest_requirements.py); pytest's header names the versions.
test-lowest: $(LOWEST_STAMP)
	$(LOWEST_VENV)/bin/pytest -n $(WORKERS) --ignore=$(FUZZ)
	$(LOWEST_VENV)/bin/pytest $(FUZZ)

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

# The full benchmark run (about 5 minutes); the table is recorded in docs/performance.md.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# A few small rounds, so the benchmark cannot rot; it asserts no timing (< 30 s).
bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run.py --quick

check: lint typecheck test test-lowest bench-quick docs release-check

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
	rm -rf $(VENV) $(QS_VENV) $(LOWEST_VENV) dist build site .mypy_cache .ruff_cache .pytest_cache
