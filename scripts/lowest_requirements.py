"""Print the requirements of the lowest-versions test environment (`make test-lowest`).

    python scripts/lowest_requirements.py > requirements.txt
    uv pip install -r requirements.txt    # or pip install -r requirements.txt

They are the package itself (editable), each runtime dependency pinned to the lowest version
its range in `pyproject.toml` allows, and the dev extra as it is, for the installer to resolve
around those pins: the runtime floors, everything else as new as fits (as a `lowest-direct`
resolution does), but for the few dev tools `HELD_BACK` names. A runtime dependency without
a lower bound is an error, since nothing would then say which oldest version the package
supports; so is a floor the dev tools cannot be installed with (the installer says which),
since the suite could then not prove it.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from packaging.requirements import Requirement

# tomllib is in the standard library from 3.11; the dev extra installs tomli on 3.10.
tomllib = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")

ROOT = Path(__file__).resolve().parent.parent

# Dev tools held back in this environment only, each with the reason; drop one when the
# reason no longer holds.
HELD_BACK = {
    "pytest<9.2": (
        "anyio < 4.15, the newest the typing-extensions floor allows, imports a name pytest 9.2"
        " deprecates, which stops pytest at startup under filterwarnings = error (anyio#1271)"
    ),
}


def pinned_to_floor(line: str) -> str:
    """`name==floor` (with the requirement's marker) for a requirement with one lower bound."""
    requirement = Requirement(line)
    floors = [s.version for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    if len(floors) != 1:
        raise ValueError(f"runtime dependency {line!r} has no single lower bound (>=)")
    marker = f"; {requirement.marker}" if requirement.marker else ""
    return f"{requirement.name}=={floors[0]}{marker}"


def lowest_requirements(runtime: list[str], dev: list[str]) -> list[str]:
    held_back = [
        line for requirement, why in HELD_BACK.items() for line in (f"# {why}", requirement)
    ]
    return ["-e .", *map(pinned_to_floor, runtime), *dev, *held_back]


def main() -> int:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    dev = project["optional-dependencies"]["dev"]
    try:
        print("\n".join(lowest_requirements(project["dependencies"], dev)))
    except ValueError as error:
        print(f"pyproject.toml: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
