"""The base of every API object."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EDMModel(BaseModel):
    """Base of every API object: immutable, and keeps fields this SDK version does not know."""

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        use_attribute_docstrings=True,
        populate_by_name=True,
    )

    def _repr_html_(self) -> str:
        from edm_client._display import model_html

        return model_html(self)
