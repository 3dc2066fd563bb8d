"""The base of every API object."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class EDMModel(BaseModel):
    """Base of every API object: immutable, and keeps fields this SDK version does not know."""

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        use_attribute_docstrings=True,
        populate_by_name=True,
    )

    def __repr_args__(self) -> list[tuple[str | None, Any]]:
        # pydantic's repr, minus the fields that are None: a record has many optional fields.
        return [(name, value) for name, value in super().__repr_args__() if value is not None]

    def _repr_html_(self) -> str:
        from edm_client._display import model_html

        return model_html(self)
