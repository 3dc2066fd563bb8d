"""The docs pages and the README as written: code that fits, a first screen that runs, and
pages for users that read as pages for users.

The built site, in a real browser, is checked by test_docs_site.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
HOME = DOCS / "index.md"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

# 88 characters fit a code block beside both sidebars at 1280 px (docs/stylesheets/extra.css).
# Terminal output that is wider by nature is marked ```{.text .wide} and shown smaller.
MAX_CODE_LINE = 88
MAX_WIDE_LINE = 110

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def code_blocks(page: Path) -> Iterator[tuple[str, list[tuple[int, str]]]]:
    """Each fenced code block of a Markdown page: its info string and its numbered lines."""
    opening: re.Match[str] | None = None
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(page.read_text().splitlines(), start=1):
        fence = _FENCE.match(line)
        if opening is None:
            if fence:
                opening, lines = fence, []
            continue
        closes = (
            fence is not None
            and fence["fence"][0] == opening["fence"][0]
            and len(fence["fence"]) >= len(opening["fence"])
            and not fence["info"].strip()
        )
        if closes:
            yield opening["info"].strip(), lines
            opening = None
        else:
            lines.append((number, line.removeprefix(opening["indent"])))


def _first_block(page: Path, language: str) -> str:
    for info, lines in code_blocks(page):
        if info == language:
            return "\n".join(line for _, line in lines) + "\n"
    raise AssertionError(f"{page.name} has no {language} code block")


def _nav_sections() -> dict[str, list[str]]:
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    return {
        section: [page for entry in pages for page in entry.values()]
        for item in nav
        for section, pages in item.items()
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_code_lines_fit_the_page(page: Path) -> None:
    too_long = [
        f"{page.name}:{number}: {len(line)} characters"
        for info, lines in code_blocks(page)
        for number, line in lines
        if len(line) > (MAX_WIDE_LINE if ".wide" in info else MAX_CODE_LINE)
    ]

    assert not too_long, (
        f"code lines longer than {MAX_CODE_LINE} characters are cut off on screen "
        "(move a trailing comment above its line, or split the line): " + "; ".join(too_long)
    )


def test_code_blocks_are_read_inside_lists_and_with_attributes(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "1. Build:\n\n    ```sh\n    make check\n    ```\n\n"
        "````{.text .wide}\n```\nnested fence\n````\n"
    )

    assert list(code_blocks(page)) == [
        ("sh", [(4, "make check")]),
        ("{.text .wide}", [(8, "```"), (9, "nested fence")]),
    ]


@pytest.mark.parametrize("page", [README, HOME], ids=lambda p: p.name)
def test_the_first_python_snippet_runs_as_it_is(page: Path) -> None:
    snippet = _first_block(page, "python")

    result = subprocess.run(
        [sys.executable, "-c", snippet],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "AWS Solutions Architect" in result.stdout


def test_home_page_and_readme_show_the_same_first_screen() -> None:
    readme, home = README.read_text(), HOME.read_text()

    for page in (readme, home):
        assert "Python 3.10 or newer" in page
        assert "pip install edm-sdk" in page
    assert _first_block(README, "python") == _first_block(HOME, "python")
    assert _paragraph_starting("EDM is ", readme) == _paragraph_starting("EDM is ", home)


def _paragraph_starting(prefix: str, text: str) -> str:
    return next(p for p in text.split("\n\n") if p.startswith(prefix))


def test_readme_starts_with_the_two_set_up_commands() -> None:
    first = _first_block(README, "sh")

    assert [line.split()[:2] for line in first.splitlines()] == [
        ["make", "quickstart"],
        ["make", "check"],
    ]
    assert README.read_text().index(first) < README.read_text().index("EDM is ")


def test_navigation_is_grouped_for_readers_then_contributors() -> None:
    sections = _nav_sections()

    assert list(sections) == ["Get started", "Guides", "Reference", "Project"]
    assert sections["Get started"][0] == "index.md"
    for page in (
        "reliability.md",
        "performance.md",
        "decisions.md",
        "tests.md",
        "releasing.md",
        "adding-a-resource.md",
    ):
        assert page in sections["Project"]


# Remarks about how this repository is built or tested belong on the Project pages.
_INTERNAL = re.compile(
    r"this repository|tests/|fuzzer found|shared spec|playground|learning-records-api"
    r"|\bFixed\.|\bCI\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize(
    "name",
    [
        page
        for section in ("Get started", "Guides", "Reference")
        for page in _nav_sections()[section]
    ],
)
def test_pages_for_users_carry_no_remarks_about_the_repository(name: str) -> None:
    text = (DOCS / name).read_text()

    found = [
        f"line {text.count(chr(10), 0, match.start()) + 1}: {match.group()!r}"
        for match in _INTERNAL.finditer(text)
    ]

    assert not found, f"{name} is a page for users; move these to a Project page: {found}"
