"""The example notebook runs top to bottom in a real kernel, and is committed without outputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "examples" / "notebooks").glob("*.ipynb"))
KERNEL_NAME = "edm-client-tests"
CELL_TIMEOUT = 120  # seconds; a guard against a hung kernel, not a speed assertion


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Jupyter data folder holding a kernelspec that runs this interpreter (the venv's).

    Nothing is installed into the venv or the user's Jupyter folders, so this works the same
    from a fresh clone and in CI.
    """
    from ipykernel.kernelspec import install

    prefix = tmp_path_factory.mktemp("jupyter")
    install(kernel_name=KERNEL_NAME, prefix=str(prefix), display_name="edm-client tests")
    return prefix / "share" / "jupyter"


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch, jupyter_path: Path) -> None:
    # Jupyter finds the kernelspec through JUPYTER_PATH. The kernel inherits this environment:
    # keep it off any real EDM API, plots inline (as PNG outputs) whatever the machine's
    # MPLBACKEND, and Jupyter quiet about its folder migration.
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.delenv("EDM_BASE_URL", raising=False)
    monkeypatch.delenv("EDM_API_KEY", raising=False)


def _run(path: Path) -> Any:
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return notebook


def _output_types(notebook: Any) -> set[str]:
    return {
        mime
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        for mime in output.get("data", {})
    }


@pytest.mark.usefixtures("kernel_env")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom_against_the_fake(path: Path) -> None:
    notebook = _run(path)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    assert {"text/html", "image/png"} <= _output_types(notebook)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert dirty == [], (
        f"{path.name}: cells {dirty} have outputs or execution counts; "
        "clear them with `make clean-notebooks` before committing"
    )


def test_there_is_an_example_notebook() -> None:
    assert [p.name for p in NOTEBOOKS] == ["learning_records.ipynb"]


@pytest.mark.usefixtures("kernel_env")
def test_the_kernel_runs_this_interpreter() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    assert spec.argv[0] == sys.executable
