"""The API reference page (docs/reference.md) lists every public name, so none goes undocumented.

`make docs` then fails (mkdocs --strict) if a listed name does not resolve or its docstring
does not render; together they keep the reference and the package in step.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference.md"
PUBLIC_MODULES = ["edm_client", "edm_client.types", "edm_client.testing"]
_DIRECTIVE = re.compile(r"^::: (\S+)\n((?:[ \t]+.*\n|\n)*)", re.MULTILINE)


def _documented() -> tuple[set[str], set[str]]:
    """Objects the page renders one by one, and modules it renders with all their members."""
    objects: set[str] = set()
    whole_modules: set[str] = set()
    for target, options in _DIRECTIVE.findall(REFERENCE.read_text()):
        objects.add(target)
        if not re.search(r"^\s+members:\s*false\s*$", options, re.MULTILINE):
            whole_modules.add(target)
    return objects, whole_modules


def _public_names() -> list[tuple[str, str]]:
    return [
        (module, name)
        for module in PUBLIC_MODULES
        for name in importlib.import_module(module).__all__
        if not name.startswith("__")
    ]


@pytest.mark.parametrize(("module", "name"), _public_names())
def test_api_reference_lists_every_public_name(module: str, name: str) -> None:
    objects, whole_modules = _documented()
    obj = getattr(importlib.import_module(module), name)  # some names load on first use
    defined_in = getattr(obj, "__module__", None)
    covered = (
        f"{module}.{name}" in objects
        or any(target.endswith(f".{name}") for target in objects)
        or defined_in in whole_modules
    )
    assert covered, (
        f"{module}.{name} is public but docs/reference.md does not list it; "
        f"add `::: {module}.{name}` to the page"
    )


def test_the_adding_a_resource_walk_through_is_the_code_of_the_test_only_resource() -> None:
    page = (REFERENCE.parent / "adding-a-resource.md").read_text()
    goals = (Path(__file__).parent / "extra_resources" / "goals.py").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.DOTALL)

    quoted = [block for block in blocks if block.startswith(("class ", "GOALS"))]
    assert len(quoted) == 3
    assert all(block in goals for block in quoted)


def test_the_test_only_resource_costs_at_most_150_lines_as_the_page_says() -> None:
    page = (REFERENCE.parent / "adding-a-resource.md").read_text()
    tests = Path(__file__).parent
    lines = [
        len(path.read_text().splitlines())
        for path in (tests / "extra_resources" / "goals.py", tests / "test_goals.py")
    ]

    said = re.search(r"\((\d+) lines, plus an?\s+(\d+)-line test of its own\)", page)
    assert said is not None
    assert [int(said[1]), int(said[2])] == lines
    assert sum(lines) <= 150
