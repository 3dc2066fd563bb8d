"""`ResourceDefinition`: every fact about one API resource, in one place, and the registry.

A resource is declared once, next to its resource classes; from its definition come the
client-side checks and the request builders, and the fake server's collection, its OpenAPI
document, its control API, the `edm` command line and the per-resource test suite. Nothing
else names a resource. See docs/adding-a-resource.md.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeAlias, TypeVar

from edm_client._models import READ_ONLY_FIELDS, APIRecord, SourceType
from edm_client._rules import FILTER_KINDS, FieldError, FieldRule, check_create_body

if TYPE_CHECKING:
    from edm_client._resource import AsyncAPIResource, SyncAPIResource

__all__ = [
    "STAMP_RULES",
    "Operation",
    "ResourceDefinition",
    "definitions",
    "find",
    "register",
    "resource_classes",
]

M = TypeVar("M", bound=APIRecord)
Operation: TypeAlias = Literal["list", "get", "create"]
_OPERATIONS: Final[frozenset[Operation]] = frozenset({"list", "get", "create"})
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_PREFIX = re.compile(r"[a-z]{2,10}")
_PATH = re.compile(r"(/[a-z0-9][a-z0-9._-]*)+")

STAMP_RULES: Final[Mapping[str, FieldRule]] = MappingProxyType(
    {
        "source": FieldRule.text(max_length=200),
        "source_type": FieldRule.enum(SourceType),
    }
)
"""The rules of the two stamps a create may set, shared by every resource."""
CREATE_OPTIONS: Final = ("idempotency_key", "timeout", "total_timeout", "extra_headers")
"""`create`'s arguments beyond the fields: also what a `create_many` item may hold."""


@dataclass(frozen=True, eq=False)
class ResourceDefinition(Generic[M]):
    """One API resource: where it lives, what its records hold, what it accepts.

    `fields` are the resource's own writable fields in `create`'s order, each with its rule
    (`source` and `source_type`, which every record has, are added after them). `filters`
    name the fields `list` filters by. The model declares every field, writable or not.
    """

    namespace: str
    """The client attribute grouping it: `performance` for `client.performance`."""
    name: str
    """Its attribute on the namespace, e.g. `learning_records`."""
    path: str
    """The collection's path, e.g. `/api/v1/performance/learning-records`."""
    id_prefix: str
    """The type prefix of its ids: `per` in `per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C`."""
    model: type[M]
    """The record as the API returns it: an `APIRecord` subclass."""
    fields: Mapping[str, FieldRule]
    """The writable fields after the stamps, in order, and what each accepts on the wire."""
    filters: tuple[str, ...] = ()
    """The writable fields `list` can filter by (exact match)."""
    operations: frozenset[Operation] = _OPERATIONS
    """Which of list, get and create the API offers."""
    noun: str = ""
    """One record, for messages ("learning record"); default: `name` in the singular."""
    table_columns: tuple[str, ...] = ()
    """The columns of `edm <resource> list` as a table; default: `id` and `fields`."""
    table_priority: tuple[str, ...] = ()
    """`table_columns` most wanted first: a narrow terminal leaves out columns from the end of
    this; default: their order."""
    demo_items: Callable[[datetime], list[dict[str, Any]]] | None = None
    """Demo create bodies (JSON values) for a given now, seeded by the fake on request."""

    writable: Mapping[str, FieldRule] = field(init=False)
    """Every field a create may send: `fields`, then the writable stamps."""
    read_only: tuple[str, ...] = field(init=False, default=READ_ONLY_FIELDS)
    """The server-owned fields, refused in a create body."""
    required: tuple[str, ...] = field(init=False)
    """The fields a create must send."""
    create_arguments: tuple[str, ...] = field(init=False)
    """`create`'s keyword arguments, which a `create_many` item may hold."""

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError(f"resource definition {self.key}: {'; '.join(problems)}")
        writable = MappingProxyType({**self.fields, **STAMP_RULES})
        object.__setattr__(self, "writable", writable)
        object.__setattr__(self, "required", tuple(n for n, r in writable.items() if r.required))
        object.__setattr__(self, "create_arguments", (*writable, *CREATE_OPTIONS))
        if not self.noun:
            object.__setattr__(self, "noun", self.name.replace("_", " ").removesuffix("s"))
        if not self.table_columns:
            object.__setattr__(self, "table_columns", ("id", *self.fields))

    def _problems(self) -> list[str]:
        known = set(self.model.model_fields)
        problems = [
            f"{what} {value!r} is not {shape}"
            for what, value, pattern, shape in (
                ("namespace", self.namespace, _NAME, "a lower-case identifier"),
                ("name", self.name, _NAME, "a lower-case identifier"),
                ("id_prefix", self.id_prefix, _PREFIX, "2-10 lower-case letters"),
                ("path", self.path, _PATH, "an absolute path without a trailing slash"),
            )
            if not pattern.fullmatch(value)
        ]
        problems += [f"the model has no field {n!r}" for n in self.fields if n not in known]
        problems += [f"{n!r} is a stamp" for n in self.fields if n in APIRecord.model_fields]
        rules = {**self.fields, **STAMP_RULES}
        problems += [
            f"cannot filter by {n!r}"
            for n in self.filters
            if n not in rules or rules[n].kind not in FILTER_KINDS
        ]
        problems += [f"unknown operation {op!r}" for op in self.operations - _OPERATIONS]
        problems += [f"the model has no column {c!r}" for c in self.table_columns if c not in known]
        if self.table_priority and set(self.table_priority) != set(self.table_columns):
            problems.append("table_priority must order the table_columns")
        return problems

    @property
    def key(self) -> str:
        """`namespace.name`, e.g. `performance.learning_records`."""
        return f"{self.namespace}.{self.name}"

    @property
    def command(self) -> str:
        """Its name on the command line and in the fake's control API: `learning-records`."""
        return self.name.replace("_", "-")

    @property
    def plural(self) -> str:
        """Several records, for messages: `learning records`."""
        return self.name.replace("_", " ")

    def check_create(self, body: Mapping[str, object]) -> list[FieldError]:
        """Every rule a create body (decoded JSON) breaks: the SDK's and the fake's check."""
        return check_create_body(self.writable, body, read_only=self.read_only, noun=self.noun)

    def __repr__(self) -> str:
        return f"<ResourceDefinition {self.key} at {self.path}>"


# -- the registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Registered:
    definition: ResourceDefinition[Any]
    sync: type[SyncAPIResource[Any]]
    asynchronous: type[AsyncAPIResource[Any]]


_registry: dict[str, _Registered] = {}
_lock = threading.Lock()


def register(
    sync: type[SyncAPIResource[M]], asynchronous: type[AsyncAPIResource[M]]
) -> ResourceDefinition[M]:
    """Make a resource known by its pair of classes (both naming one `_definition`).

    It then appears on the clients (`client.<namespace>.<name>`), in the fake server, its
    OpenAPI document and control API, and the `edm` command line. Registering the same pair
    again does nothing; another resource with the same name, path, id prefix or command is an
    error.
    """
    _load_shipped()  # so that the SDK's own resources come first
    definition: ResourceDefinition[M] = sync._definition
    if asynchronous._definition is not definition:
        raise ValueError(f"{sync.__name__} and {asynchronous.__name__} define other resources")
    entry = _Registered(definition, sync, asynchronous)
    with _lock:
        if _registry.get(definition.key) == entry:
            return definition
        for other in (r.definition for r in _registry.values()):
            for what in ("key", "path", "id_prefix", "command"):
                if getattr(other, what) == getattr(definition, what):
                    raise ValueError(
                        f"cannot register {definition!r}: {other!r} has the same {what}"
                    )
        _registry[definition.key] = entry
    return definition


def definitions() -> tuple[ResourceDefinition[Any], ...]:
    """Every registered resource, the SDK's own first, in the order they were registered."""
    _load_shipped()
    return tuple(r.definition for r in _registry.values())


def find(key: str) -> ResourceDefinition[Any]:
    """The resource registered as `key` (`performance.goals`); KeyError naming the known ones."""
    _load_shipped()
    entry = _registry.get(key)
    if entry is None:
        raise KeyError(f"no resource {key!r}; known: {', '.join(_registry)}")
    return entry.definition


def resource_classes(
    namespace: str, name: str
) -> tuple[type[SyncAPIResource[Any]], type[AsyncAPIResource[Any]]] | None:
    """The sync and async classes of `namespace.name`, or None."""
    _load_shipped()
    entry = _registry.get(f"{namespace}.{name}")
    return None if entry is None else (entry.sync, entry.asynchronous)


def namespace_resources(namespace: str) -> list[str]:
    """The names of the resources registered in `namespace`."""
    _load_shipped()
    return [r.definition.name for r in _registry.values() if r.definition.namespace == namespace]


def _load_shipped() -> None:
    # The SDK's own resources register themselves when imported; a lookup must see them all.
    from edm_client.resources import RESOURCE_MODULES

    for module in RESOURCE_MODULES:
        importlib.import_module(module)
