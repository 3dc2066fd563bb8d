"""The built docs site: it asks no other host for anything, the reference says what the code
is, and, in a real headless Chromium, no page is cut off at 1280 px or scrolls sideways at
390 px.

The site is built once for this module with `mkdocs build --strict`. The browser tests need
the `playwright` package (dev extra) and Debian's Chromium at /usr/bin/chromium (`.ci/run`
installs it where it can); without them they skip and say which is missing.
"""

from __future__ import annotations

import dataclasses
import functools
import html as html_module
import http.server
import importlib.util
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from edm_client.types import LearningRecord

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("EDM_DOCS_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking switches Chromium calls home at start-up, which a closed
# network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _nav_pages() -> list[str]:
    """Every page of the nav, as its path in the built site ("" for the home page)."""
    found: list[str] = []

    def walk(entries: list[Any]) -> None:
        for entry in entries:
            for value in entry.values():
                if isinstance(value, list):
                    walk(value)
                else:
                    found.append("" if value == "index.md" else value.removesuffix(".md") + "/")

    walk(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])
    return found


PAGES = _nav_pages()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out


def _html(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text()


def _text(html: str) -> str:
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)))


# What a page loads by itself: scripts, stylesheets, fonts, images, frames.
_LOADED = re.compile(
    r"<(?:script|link|img|iframe|source)\b[^>]*?\b(?:src|href)=\"((?:https?:)?//[^\"]+)\""
    r"|url\(\s*['\"]?((?:https?:)?//[^)'\"]+)"
)


def test_built_pages_load_nothing_from_other_hosts(site: Path) -> None:
    loaded = {
        f"{path.relative_to(site)}: {''.join(match)}"
        for path in [*site.rglob("*.html"), *site.rglob("*.css")]
        for match in _LOADED.findall(path.read_text())
    }

    assert not loaded, f"pages load these from other hosts: {sorted(loaded)[:10]}"


def test_built_pages_have_no_repository_widget(site: Path) -> None:
    assert 'class="md-source"' not in _html(site, "")
    assert "fonts.googleapis.com" not in _html(site, "")


def test_reference_lists_every_record_field_in_one_table(site: Path) -> None:
    tables = re.findall(r"<table>.*?</table>", _html(site, "reference"), re.DOTALL)
    fields = next(t for t in tables if "<code>tenant_id</code>" in t)

    for name in LearningRecord.model_fields:
        assert f"<td><code>{name}</code></td>" in fields, name
    assert "SourceType</code></a> | <code>str</code> | <code>None</code>" in fields


def test_reference_shows_public_names_and_types(site: Path) -> None:
    text = _text(_html(site, "reference"))

    assert "_ResponseError" not in text
    assert "Annotated[" not in text
    assert "APIStatusError ¶ Bases: APIError" in text
    assert "http_client: httpx.Client | None" in text
    assert "http_client: httpx.AsyncClient | None" in text
    for attribute in ("status_code", "request_id", "body", "response"):
        assert re.search(rf"APIStatusError ¶ .*? {attribute}: ", text), attribute
    for alias in ("ApiKey", "IdInput", "DateTimeInput", "ProgressCallback"):
        assert re.search(rf"{alias}: TypeAlias = ", text), alias


def test_versioning_page_states_the_supported_versions_from_pyproject(site: Path) -> None:
    text = _text(_html(site, "versioning"))

    assert "Python >=3.10" in text
    for requirement in ("httpx >=0.27", "pydantic >=2.7", "python-ulid", "typing-extensions"):
        name, _, versions = requirement.partition(" ")
        assert re.search(rf"{name} {re.escape(versions)}", text), requirement


# --- in a real browser ---------------------------------------------------------------------


@dataclasses.dataclass
class Browser:
    """A Chromium page on the site served at `base_url`; what it asked of any other host was
    refused and is listed in `external_requests`."""

    page: Any
    base_url: str
    external_requests: list[str]

    def visit(self, path: str, width: int) -> None:
        self.page.set_viewport_size({"width": width, "height": 900})
        self.page.goto(self.base_url + path, wait_until="load")

    def refuse(self, route: Any) -> None:
        self.external_requests.append(route.request.url)
        route.abort()


@pytest.fixture(scope="module")
def browser(site: Path) -> Iterator[Browser]:
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the playwright package is not installed (it is in the dev extra)")
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (.ci/run does)")
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_QuietHandler, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                base_url = f"http://127.0.0.1:{server.server_address[1]}/"
                opened = Browser(chromium.new_page(), base_url, [])
                opened.page.route(re.compile(r"^(?!http://127\.0\.0\.1:)"), opened.refuse)
                yield opened
                chromium.close()
        finally:
            server.shutdown()
            thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


# Elements whose content a reader cannot see without scrolling them sideways.
_CUT_OFF = """() => {
  const cut = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    cut.push(`the page is ${root.scrollWidth} px wide`);
  }
  const boxes = '.md-content pre > code, .md-content .md-typeset__scrollwrap';
  for (const box of document.querySelectorAll(boxes)) {
    if (box.scrollWidth > box.clientWidth + 1) {
      const start = box.textContent.trim().split('\\n')[0].slice(0, 60);
      cut.push(`${box.scrollWidth} px in ${box.clientWidth} px: ${start}`);
    }
  }
  return cut;
}"""

# Inline code in a table cell that wraps inside a name (between two letters), not at a space,
# a hyphen or a slash.
_BROKEN_MID_WORD = """() => {
  const broken = [];
  for (const code of document.querySelectorAll('.md-content table code')) {
    if (code.getClientRects().length < 2) continue;
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.textContent.matchAll(/[^\\s\\/-]+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (lines.size > 1) broken.push(word[0]);
      }
    }
  }
  return broken;
}"""


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "home")
def test_nothing_is_cut_off_at_1280_px(browser: Browser, path: str) -> None:
    browser.visit(path, 1280)

    assert browser.page.evaluate(_CUT_OFF) == []


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "home")
def test_no_page_scrolls_sideways_at_390_px_and_table_code_keeps_its_words(
    browser: Browser, path: str
) -> None:
    browser.visit(path, 390)

    page_width, screen_width = browser.page.evaluate(
        "[document.documentElement.scrollWidth, innerWidth]"
    )
    assert page_width <= screen_width
    assert browser.page.evaluate(_BROKEN_MID_WORD) == []


def test_pages_fetch_nothing_from_other_hosts_in_the_browser(browser: Browser) -> None:
    for path in ("", "reference/"):
        browser.visit(path, 1280)
        browser.page.wait_for_load_state("networkidle")

    assert browser.external_requests == []
