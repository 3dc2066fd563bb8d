"""Records to a `pandas.DataFrame`: the one conversion behind every `.to_pandas()`.

pandas is an optional extra (`pip install 'edm-sdk[pandas]'`) and is imported only here, only
when a DataFrame is asked for, so `import edm_client` never pays for it.

Column dtypes come from the model's field annotations, so an empty listing still gets the right
dtypes:

| field type            | dtype                                        |
|-----------------------|----------------------------------------------|
| `datetime`            | `datetime64[us, UTC]` (offsets converted to UTC, microseconds kept) |
| `str`, `str` enums    | `string` (missing values are `pd.NA`)       |
| `bool` / `bool | None`  | `bool` / `boolean`                           |
| `int` / `int | None`    | `int64` / `Int64`                            |
| `float` / `float | None`| `float64` / `Float64`                        |
| anything else         | `object`                                     |

Fields this SDK version does not know (kept by the models as extras) become trailing columns,
in the order first seen, with pandas' nullable dtypes inferred from their values.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Generic,
    Literal,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

import pydantic

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FrameBuilder", "require_pandas"]

T = TypeVar("T", bound=pydantic.BaseModel)

PANDAS_INSTALL_HINT = "pip install 'edm-sdk[pandas]'"

_Kind = Literal["datetime", "string", "bool", "int", "float", "object"]
_NAMED_DATETIMES = (
    pydantic.AwareDatetime,
    pydantic.NaiveDatetime,
    pydantic.PastDatetime,
    pydantic.FutureDatetime,
)
_NULLABLE_DTYPES = {"bool": "boolean", "int": "Int64", "float": "Float64"}
_NUMPY_DTYPES = {"bool": "bool", "int": "int64", "float": "float64"}


def require_pandas() -> None:
    """Import pandas, or raise an `ImportError` that says which extra to install."""
    try:
        import pandas  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"to_pandas() needs pandas, an optional extra of edm-sdk: {PANDAS_INSTALL_HINT}",
            name="pandas",
        ) from exc


class FrameBuilder(Generic[T]):
    """Collects records page by page, column by column, then builds one DataFrame.

    Creating a builder imports pandas, so a missing extra fails before any page is fetched.
    """

    def __init__(self, item: type[T]) -> None:
        require_pandas()
        self._fields = {name: _kind(field.annotation) for name, field in item.model_fields.items()}
        self._columns: dict[str, list[Any]] = {name: [] for name in self._fields}
        self._extras: dict[str, list[Any]] = {}
        self._rows = 0

    def add(self, records: Iterable[T]) -> None:
        for record in records:
            for name, values in self._columns.items():
                values.append(getattr(record, name))
            for name, value in (record.model_extra or {}).items():
                if name not in self._columns:
                    self._extras.setdefault(name, [None] * self._rows).append(value)
            self._rows += 1
            for values in self._extras.values():
                if len(values) < self._rows:
                    values.append(None)

    def build(self) -> pd.DataFrame:
        import pandas as pd

        data = {name: _series(values, self._fields[name]) for name, values in self._columns.items()}
        for name, values in self._extras.items():
            data[name] = pd.Series(values, dtype=object).convert_dtypes()
        frame: pd.DataFrame = pd.DataFrame(data, index=pd.RangeIndex(self._rows))
        return frame


def _series(values: list[Any], kind: tuple[_Kind, bool]) -> pd.Series[Any]:
    import numpy as np
    import pandas as pd

    what, optional = kind
    series: pd.Series[Any]
    if what == "datetime":
        # Through numpy at microsecond precision: pandas 2 would otherwise go through
        # nanoseconds, which end in 2262 (and "expires 9999-12-31" is a real-world value).
        utc = np.array([_naive_utc(v) for v in values], dtype="datetime64[us]")
        series = pd.Series(utc).dt.tz_localize("UTC")
    elif what == "string":
        series = pd.Series([_plain(v) for v in values], dtype=pd.StringDtype())
    elif what == "object":
        series = pd.Series(values, dtype=object)
    else:
        nullable = optional or None in values
        series = pd.Series(values, dtype=(_NULLABLE_DTYPES if nullable else _NUMPY_DTYPES)[what])
    return series


def _kind(annotation: Any) -> tuple[_Kind, bool]:
    """What a field holds (ignoring None), and whether it may be None."""
    args = _union_members(annotation)
    members = [a for a in args if a is not type(None)]
    optional = len(members) < len(args)
    kinds = {_member_kind(m) for m in members}
    if kinds == {"int", "float"}:
        return "float", optional
    return (kinds.pop() if len(kinds) == 1 else "object"), optional


def _union_members(annotation: Any) -> list[Any]:
    """The types a field may hold, with `Annotated` metadata (an `OpenEnum`'s) set aside."""
    if get_origin(annotation) is Annotated:
        return _union_members(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for a in get_args(annotation) for m in _union_members(a)]
    return [annotation]


def _member_kind(annotation: Any) -> _Kind:
    if annotation in _NAMED_DATETIMES:
        return "datetime"
    if not isinstance(annotation, type):
        return "object"
    if issubclass(annotation, datetime):
        return "datetime"
    if issubclass(annotation, bool):
        return "bool"
    if issubclass(annotation, str):  # str enums included
        return "string"
    if issubclass(annotation, enum.Enum):
        return "object"
    if issubclass(annotation, int):
        return "int"
    if issubclass(annotation, float):
        return "float"
    return "object"


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:  # naive ones (if a model allows them) read as UTC
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
