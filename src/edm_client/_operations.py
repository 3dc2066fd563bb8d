"""What each operation of a resource sends, built from its definition and typed arguments.

Each request is named for hooks and traces as `<resource>.<operation>` (`learning_records.get`)
with its path template (`/api/v1/performance/learning-records/{record_id}`), never its ids.

Shared by the sync and async resource classes (they differ only in `await`), so the two
cannot drift in what they send. Every check raises `InvalidRequestError` before sending.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from edm_client._base_client import RequestOptions, Timeout
from edm_client._bulk import prepare_item
from edm_client._config import NOT_GIVEN, NotGiven
from edm_client._definition import ResourceDefinition
from edm_client._params import (
    FILTER_CONVERTERS,
    WIRE_CONVERTERS,
    Converter,
    IdInput,
    check_body,
    encode_body,
    filter_str,
    page_limit,
    path_segment,
    wire_bool,
)
from edm_client._params import idempotency_key as checked_idempotency_key

__all__ = ["bulk_item_options", "create_options", "get_options", "list_options"]


def create_options(
    definition: ResourceDefinition[Any],
    fields: Mapping[str, object],
    *,
    idempotency_key: str | None,
    timeout: Timeout | None,
    extra_headers: Mapping[str, str] | None,
    total_timeout: float | NotGiven | None = NOT_GIVEN,
) -> RequestOptions:
    """A create of `fields` (create's arguments by name; None means "not sent")."""
    body = {
        name: to_wire(name, value)
        for name, to_wire in _wire_converters(definition)
        if (value := fields.get(name)) is not None
    }
    check_body(definition.check_create(body))
    return RequestOptions(
        "POST",
        definition.path,
        content=encode_body(body),
        idempotency_key=checked_idempotency_key(idempotency_key),
        timeout=timeout,
        total_timeout=total_timeout,
        extra_headers=extra_headers,
        operation=f"{definition.name}.create",
        path_template=definition.path,
    )


@functools.cache
def _wire_converters(definition: ResourceDefinition[Any]) -> tuple[tuple[str, Converter], ...]:
    """Each writable field of `definition` with the converter of its kind, in field order."""
    return tuple((name, WIRE_CONVERTERS[rule.kind]) for name, rule in definition.writable.items())


def bulk_item_options(definition: ResourceDefinition[Any], item: object) -> RequestOptions:
    """The create of one `create_many` item, keyed by its content unless it has its own key."""
    # An item without total_timeout keeps the client's; None in it means no limit.
    total_timeout = item.get("total_timeout", NOT_GIVEN) if isinstance(item, Mapping) else NOT_GIVEN
    return prepare_item(
        item,
        definition.create_arguments,
        lambda args: create_options(
            definition,
            args,
            idempotency_key=args["idempotency_key"],
            timeout=args["timeout"],
            extra_headers=args["extra_headers"],
            total_timeout=total_timeout,
        ),
    )


def get_options(
    definition: ResourceDefinition[Any],
    record_id: IdInput,
    *,
    timeout: Timeout | None,
    extra_headers: Mapping[str, str] | None,
    total_timeout: float | NotGiven | None = NOT_GIVEN,
) -> RequestOptions:
    """A get of one record by id, the id percent-encoded as one path segment."""
    segment = path_segment("record_id", record_id)
    return RequestOptions(
        "GET",
        f"{definition.path}/{segment}",
        timeout=timeout,
        total_timeout=total_timeout,
        extra_headers=extra_headers,
        operation=f"{definition.name}.get",
        path_template=f"{definition.path}/{{record_id}}",
    )


def list_options(
    definition: ResourceDefinition[Any],
    filters: Mapping[str, object],
    *,
    include_deleted: bool,
    limit: int | None,
    cursor: str | None,
    timeout: Timeout | None,
    extra_headers: Mapping[str, str] | None,
    total_timeout: float | NotGiven | None = NOT_GIVEN,
) -> RequestOptions:
    """The first page of a listing by `filters` (list's filter arguments; None: no filter)."""
    params: dict[str, str] = {}
    for name in definition.filters:
        value = filters.get(name)
        if value is not None:
            params[name] = str(FILTER_CONVERTERS[definition.writable[name].kind](name, value))
    if limit is not None:
        params["limit"] = page_limit("limit", limit)
    if cursor is not None:
        params["cursor"] = filter_str("cursor", cursor)
    if wire_bool("include_deleted", include_deleted):
        params["include_deleted"] = "true"
    return RequestOptions(
        "GET",
        definition.path,
        params=params,
        timeout=timeout,
        total_timeout=total_timeout,
        extra_headers=extra_headers,
        operation=f"{definition.name}.list",
        path_template=definition.path,
    )
