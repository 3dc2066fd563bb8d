"""Build-time pieces of the docs site; `mkdocs.yml` loads this file twice, as an mkdocs hook
and as a griffe extension for the API reference.

In a page, a marker comment is replaced by a table made from the code, so the page cannot
drift from it:

- `<!-- edm:fields edm_client.types.LearningRecord -->`: the model's fields (inherited ones
  included) with their type and docstring, from pydantic's `model_fields`;
- `<!-- edm:dependencies -->`: the supported Python versions and the runtime dependencies
  with their version ranges and extras, from `pyproject.toml`.

`PublicBases` shows a class's public ancestors where it inherits from a private class, and
lists the private class's attributes as its own, so that `APIStatusError` reads
"Bases: APIError" with `status_code` and `response` documented on it.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import griffe
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

# tomllib is in the standard library from 3.11; the dev extra installs tomli on 3.10.
tomllib = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")

ROOT = Path(__file__).resolve().parent.parent
_MARKER = re.compile(r"<!-- edm:(fields|dependencies)\s*(\S*)\s*-->")


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """mkdocs hook: replace each marker comment of a page with its table."""
    return _MARKER.sub(_expand, markdown)


def _expand(marker: re.Match[str]) -> str:
    kind, target = marker.groups()
    if kind == "fields":
        return fields_table(target)
    return dependencies_table()


def fields_table(target: str) -> str:
    """A Markdown table of the fields of the pydantic model at dotted path `target`."""
    module_name, _, class_name = target.rpartition(".")
    model = getattr(importlib.import_module(module_name), class_name)
    rows = ["| field | type | description |", "|---|---|---|"]
    for name, field in model.model_fields.items():
        description = " ".join((field.description or "").split()).replace("|", "\\|")
        rows.append(f"| `{name}` | {type_markdown(field.annotation)} | {description} |")
    return "\n".join(rows)


def type_markdown(annotation: Any) -> str:
    """`annotation` as a reader writes it: `SourceType | str | None`, linking the SDK's own
    classes to their entry in the reference; an aware datetime is a `datetime`."""
    if typing.get_origin(annotation) is typing.Annotated:  # an `OpenEnum`: its type alone
        return type_markdown(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        parts = [type_markdown(arg) for arg in typing.get_args(annotation)]
        if all(p.startswith("`") for p in parts):  # no link: one code span reads better
            return "`" + " | ".join(p.strip("`") for p in parts) + "`"
        return " \\| ".join(parts)
    if annotation is type(None):
        return "`None`"
    name = getattr(annotation, "__name__", None) or repr(annotation)
    if name == "AwareDatetime":
        return "`datetime`"
    module = getattr(annotation, "__module__", "")
    if module.startswith("edm_client"):
        # The models' shared parts (`SourceType`, from `_models`) are documented as types too.
        in_types = module.startswith(("edm_client.types", "edm_client._models"))
        public = "edm_client.types" if in_types else module
        return f"[`{name}`][{public}.{name}]"
    return f"`{name}`"


def dependencies_table() -> str:
    """The Python versions and runtime dependencies `pyproject.toml` declares, as a table."""
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pythons = [
        c.rpartition(":: ")[2]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    rows = [
        "| what | versions |",
        "|---|---|",
        f"| Python | `{project['requires-python']}` ({', '.join(pythons)}) |",
    ]
    rows += [_requirement_row(spec, "") for spec in project["dependencies"]]
    for extra, specs in project["optional-dependencies"].items():
        if extra != "dev":
            rows += [_requirement_row(spec, extra) for spec in specs]
    return "\n".join(rows)


def _requirement_row(spec: str, extra: str) -> str:
    name = re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]
    versions = spec[len(name) :].strip()
    where = f" (extra `[{extra}]`)" if extra else ""
    return f"| {name}{where} | `{versions or 'any'}` |"


class PublicBases(griffe.Extension):
    """griffe extension: private base classes are skipped in "Bases:", and their members are
    shown as inherited members of the public class."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        for cls in _classes(pkg):
            _flatten_private_bases(cls)


def _classes(obj: griffe.Object) -> typing.Iterator[griffe.Class]:
    for member in obj.members.values():
        if member.is_alias:
            continue
        if isinstance(member, griffe.Class):
            yield member
        if isinstance(member, griffe.Module | griffe.Class):
            yield from _classes(member)


def _flatten_private_bases(cls: griffe.Class) -> None:
    bases: list[str | griffe.Expr] = []
    for base, resolved in zip(cls.bases, _resolved(cls), strict=True):
        if not isinstance(resolved, griffe.Class) or not resolved.name.startswith("_"):
            bases.append(base)
            continue
        _flatten_private_bases(resolved)
        for name, member in resolved.members.items():
            if name not in cls.members:
                cls.set_member(name, griffe.Alias(name, member, parent=cls, inherited=True))
        bases.extend(resolved.bases)
    cls.bases = bases


def _resolved(cls: griffe.Class) -> list[griffe.Object | griffe.Alias | None]:
    found: list[griffe.Object | griffe.Alias | None] = []
    for base in cls.bases:
        path = base.canonical_path if isinstance(base, griffe.Expr) else base
        try:
            target = cls.modules_collection.get_member(path)
        except (KeyError, AttributeError):  # a base from outside the package
            target = None
        found.append(target.final_target if isinstance(target, griffe.Alias) else target)
    return found
