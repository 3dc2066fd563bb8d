"""The bases of every API object: `EDMModel`, `APIRecord` (the server's stamps) and `OpenEnum`."""

from __future__ import annotations

import ast
import inspect
import itertools
from enum import Enum
from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = ["APIRecord", "EDMModel", "OpenEnum", "SourceType"]

_E = TypeVar("_E", bound=Enum)


class EDMModel(BaseModel):
    """Base of every API object: immutable, and keeps fields this SDK version does not know."""

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        populate_by_name=True,
        # Built on first use (a body parsed, a schema asked for), not when the class is made: a
        # script that makes one call builds only the model it receives, once.
        defer_build=True,
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # pydantic's `use_attribute_docstrings` does this too, but on Python < 3.13 it finds the
        # class body by asking `inspect` for the module of each frame on the stack, which maps
        # every loaded module to its file first: ~15 ms of a fresh process's first request.
        documented = _attribute_docstrings(cls)
        for name, field in cls.model_fields.items():
            if field.description is None and name in documented:
                field.description = documented[name]

    def __repr_args__(self) -> list[tuple[str | None, Any]]:
        # pydantic's repr, minus the fields that are None: a record has many optional fields.
        return [(name, value) for name, value in super().__repr_args__() if value is not None]

    def _repr_html_(self) -> str:
        from edm_client._display import model_html

        return model_html(self)


OpenEnum = Annotated[_E | str, Field(union_mode="left_to_right")]
"""An enum the API may extend: known values arrive as members, newer ones as plain `str`.

Declare a field as `OpenEnum[Status] | None`; the API is strict on writes, so the resource
definition's rules accept only the members. Validated by pydantic-core alone: the member is
tried first and the text kept when no member has that value (no Python call per record)."""


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """The string under each `name: type` line of the class body, as pydantic reads it."""
    try:
        lines, first = inspect.findsource(cls)  # the module's lines; the class statement's
        module = ast.parse("".join(lines))
    except (OSError, TypeError, SyntaxError):  # no source: no descriptions, as in pydantic
        return {}
    for node in ast.walk(module):
        if (
            isinstance(node, ast.ClassDef)
            and node.name == cls.__name__
            and first + 1 in (node.lineno, *(d.lineno for d in node.decorator_list))
        ):
            return {
                field.target.id: inspect.cleandoc(after.value.value)
                for field, after in itertools.pairwise(node.body)
                if isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            }
    return {}


class SourceType(str, Enum):
    """Where a write originated. The API may add values; unknown ones arrive as plain `str`."""

    FRONTEND = "frontend"
    BACKEND = "backend"
    SERVER = "server"
    SYSTEM = "system"
    API = "api"

    def __str__(self) -> str:
        return self.value


class APIRecord(EDMModel):
    """Base of every stored API record: the stamps the server puts on each one.

    A resource's model subclasses it and declares only its own fields. Of these, `source` and
    `source_type` may be written on create; the others are server-owned (`READ_ONLY_FIELDS`).
    """

    id: str
    """Server-assigned id: a ULID with the resource's type prefix, e.g. `per_…` or `pgl_…`."""
    tenant_id: str
    """Tenant scope, stamped from the caller's token."""
    created_at: AwareDatetime
    """When the server stored the record."""
    updated_at: AwareDatetime
    """When the record last changed."""
    app_id: str | None = None
    """Application scope; set only when the record was written with an integration API key."""
    created_by: str | None = None
    """Person id of the writer (the token's `sub`)."""
    updated_by: str | None = None
    """Person id of the last writer."""
    source: str | None = None
    """Provenance tag; the server defaults it to `edm`."""
    source_type: OpenEnum[SourceType] | None = None
    """Where the write originated; a `SourceType`, or a `str` for values newer than this SDK."""
    is_deleted: bool = False
    """Soft-delete flag. Soft-deleted records are left out of `list` unless asked for."""
    deleted_at: AwareDatetime | None = None
    """When the record was soft-deleted, else None."""
    deleted_by: str | None = None
    """Person id of who soft-deleted the record, else None."""
    schema_version: int | None = None
    """Document schema version, bumped on incompatible writes."""


WRITABLE_STAMPS = ("source", "source_type")
"""The stamps a create may set; the server fills them in otherwise."""
READ_ONLY_FIELDS = tuple(name for name in APIRecord.model_fields if name not in WRITABLE_STAMPS)
"""Server-owned fields: a create body holding one is refused with 422 `read_only_field`."""
