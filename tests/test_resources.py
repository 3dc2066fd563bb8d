"""The per-resource suite: every registered resource, the SDK's own and the test-only ones.

Each test is written once from the resource's definition and runs for every resource (the
`definition` fixture), sync and async (`resource_api`), in-process and over a loopback socket
(`server`). A new resource needs no test of its own here; docs/adding-a-resource.md says so.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from _helpers import Api, client_side_only, raw_http, required_fields, sample
from edm_client import APIResponse, InvalidRequestError, NotFoundError
from edm_client._definition import CREATE_OPTIONS, ResourceDefinition, definitions
from edm_client._rules import FieldRule
from edm_client.testing import FakeServer

Definition = ResourceDefinition[Any]


def every_field(definition: Definition) -> dict[str, Any]:
    """A value for every writable field."""
    return {name: sample(rule) for name, rule in definition.writable.items()}


def broken_values(rule: FieldRule) -> list[tuple[Any, str]]:
    """Values `rule` refuses, each with the code the fake answers."""
    broken: dict[str, list[tuple[Any, str]]] = {
        "text": [(" ", "blank"), ("a\x00b", "invalid_character"), (7, "invalid_type")],
        "id": [(" ", "blank"), ("x" * 201, "too_long")],
        "number": [((rule.maximum or 0) + 1, "out_of_range"), ("1", "invalid_type")],
        "boolean": [("true", "invalid_type")],
        "datetime": [("2026-02-30", "invalid_datetime"), ("2026-03-01T09:30", "invalid_datetime")],
        "date": [("2026-02-30", "invalid_date"), ("2026-03-01T00:00:00Z", "invalid_date")],
        "enum": [("no-such-value", "invalid_choice")],
    }
    if rule.kind == "text" and rule.max_length:
        broken["text"].append(("x" * (rule.max_length + 1), "too_long"))
    return broken[rule.kind]


def _broken_cases() -> list[Any]:
    return [
        pytest.param(d, name, value, code, id=f"{d.key}-{name}-{code}-{i}")
        for d in definitions()
        for name, rule in d.writable.items()
        for i, (value, code) in enumerate(broken_values(rule))
    ]


def _raw_create(server: FakeServer, definition: Definition, body: object) -> httpx.Response:
    with raw_http(server) as http:
        return http.post(definition.path, content=json.dumps(body).encode())


# -- the surface ----------------------------------------------------------------------------


def test_create_takes_every_writable_field_then_the_request_options(
    resource_api: Api, definition: Definition
) -> None:
    parameters = inspect.signature(resource_api.records.create).parameters

    assert list(parameters) == [*definition.writable, *CREATE_OPTIONS]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    required = [n for n, p in parameters.items() if p.default is inspect.Parameter.empty]
    assert required == list(definition.required)


def test_list_takes_every_filter_then_the_paging_and_request_options(
    resource_api: Api, definition: Definition
) -> None:
    parameters = inspect.signature(resource_api.records.list).parameters

    assert list(parameters) == [
        *definition.filters,
        "include_deleted",
        "limit",
        "cursor",
        "timeout",
        "total_timeout",
        "extra_headers",
    ]
    assert all(p.default is not inspect.Parameter.empty for p in parameters.values())


# -- create, get, list ------------------------------------------------------------------------


async def test_create_stores_every_field_sent_and_the_servers_stamps(
    resource_api: Api, definition: Definition
) -> None:
    record = await resource_api.create(**every_field(definition))

    assert isinstance(record, definition.model)
    assert record.id.startswith(f"{definition.id_prefix}_")
    assert (record.tenant_id, record.created_by) == ("ten_demo", resource_api.server.demo_person_id)
    assert (record.is_deleted, record.schema_version, record.created_at) == (
        False,
        1,
        record.updated_at,
    )
    expected = definition.model.model_validate({**record.model_dump(), **every_field(definition)})
    assert record == expected


async def test_create_leaves_out_what_is_not_given_and_the_server_fills_the_stamps(
    resource_api: Api,
) -> None:
    record = await resource_api.create()

    assert (record.source, record.source_type) == ("edm", "api")
    sent = json.loads([r for r in resource_api.server.requests if r.method == "POST"][-1].content)
    assert sent == required_fields(resource_api.definition)


async def test_get_returns_the_stored_record(resource_api: Api) -> None:
    created = await resource_api.create()

    assert await resource_api.get(created.id) == created


async def test_get_of_an_unknown_id_is_not_found(resource_api: Api, definition: Definition) -> None:
    with pytest.raises(NotFoundError, match=definition.noun):
        await resource_api.get(f"{definition.id_prefix}_missing")


async def test_list_yields_every_record_oldest_first_across_pages(resource_api: Api) -> None:
    created = [(await resource_api.create()).id for _ in range(5)]

    pages = await resource_api.pages(limit=2)

    assert [len(p.data) for p in pages] == [2, 2, 1]
    assert [r.id for r in await resource_api.list(limit=2)] == created


async def test_each_filter_lists_exactly_the_records_with_that_value(
    resource_api: Api, definition: Definition
) -> None:
    for name in definition.filters:
        rule = definition.writable[name]
        wanted = await resource_api.create(**{name: sample(rule)})
        await resource_api.create(**{name: sample(rule, other=True)})

        listed = await resource_api.list(**{name: sample(rule)})

        assert wanted.id in {r.id for r in listed}
        assert all(getattr(r, name) == getattr(wanted, name) for r in listed), name


async def test_a_soft_deleted_record_is_listed_only_with_include_deleted(
    resource_api: Api, definition: Definition
) -> None:
    kept, deleted = await resource_api.create(), await resource_api.create()
    resource_api.server.collection(definition).soft_delete(deleted.id, by="admin")

    assert [r.id for r in await resource_api.list()] == [kept.id]
    assert len(await resource_api.list(include_deleted=True)) == 2
    assert (await resource_api.get(deleted.id)).is_deleted


async def test_another_tenant_neither_gets_nor_lists_a_record(
    resource_api: Api, server: FakeServer
) -> None:
    record = await resource_api.create()
    token = server.issue_token(tenant_id="ten_other")

    with raw_http(server, token) as http:
        assert http.get(f"{resource_api.definition.path}/{record.id}").status_code == 404
        assert http.get(resource_api.definition.path).json()["data"] == []


async def test_with_raw_response_gives_status_headers_and_the_parsed_result(
    resource_api: Api,
) -> None:
    created = await resource_api.raw("create")
    fetched = await resource_api.raw("get", created.parse().id)
    listed = await resource_api.raw("list")

    assert all(isinstance(r, APIResponse) for r in (created, fetched, listed))
    assert (created.status_code, fetched.status_code, listed.status_code) == (201, 200, 200)
    assert created.headers["Location"].endswith(created.parse().id)
    assert fetched.parse() == created.parse()
    assert [r.id for r in listed.parse().data] == [created.parse().id]


async def test_create_many_stores_each_item_once_however_often_it_runs(
    resource_api: Api, definition: Definition
) -> None:
    items = [
        {**required_fields(definition), name: sample(rule, other=True)}
        for name, rule in definition.fields.items()
    ]

    first = await resource_api.create_many(items)
    again = await resource_api.create_many(items)

    assert first.ok
    assert first.created_count == len(items)
    assert again.replayed_count == len(items)
    assert len(resource_api.server.collection(definition).records()) == len(items)


async def test_a_create_repeated_with_its_idempotency_key_stores_once(
    resource_api: Api, definition: Definition
) -> None:
    first = await resource_api.create(idempotency_key="same-key")
    again = await resource_api.create(idempotency_key="same-key")

    assert again == first
    assert len(resource_api.server.collection(definition).records()) == 1


def test_one_idempotency_key_used_on_every_resource_stores_a_record_in_each(
    server: FakeServer,
) -> None:
    with server.client() as client:
        stored = [
            Api(client, server, d).records.create(**required_fields(d), idempotency_key="same")
            for d in definitions()
        ]

    assert len({r.id for r in stored}) == len(stored) == len(definitions())


# -- the rules, on both sides -----------------------------------------------------------------


@client_side_only
@pytest.mark.parametrize(("definition", "name", "value", "code"), _broken_cases())
async def test_create_refuses_a_broken_rule_before_sending(
    resource_api: Api, definition: Definition, name: str, value: Any, code: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await resource_api.create(**{name: value})

    assert caught.value.param == name
    assert resource_api.server.requests == []


@pytest.mark.parametrize(("definition", "name", "value", "code"), _broken_cases())
def test_the_fake_answers_422_for_a_broken_rule_sent_raw(
    server: FakeServer, definition: Definition, name: str, value: Any, code: str
) -> None:
    response = _raw_create(server, definition, {**required_fields(definition), name: value})

    assert response.status_code == 422
    assert {"field": name, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in response.json()["errors"]
    ]


def test_the_fake_refuses_unknown_and_server_owned_fields(
    server: FakeServer, definition: Definition
) -> None:
    body = {**required_fields(definition), "colour": "red", "tenant_id": "t"}

    errors = _raw_create(server, definition, body).json()["errors"]

    assert [(e["field"], e["code"]) for e in errors] == [
        ("colour", "unknown_field"),
        ("tenant_id", "read_only_field"),
    ]


def test_every_required_field_is_required(server: FakeServer, definition: Definition) -> None:
    errors = _raw_create(server, definition, {}).json()["errors"]

    assert [(e["field"], e["code"]) for e in errors] == [
        (name, "required") for name in definition.required
    ]


def _fields_of_kind(kind: str) -> list[Any]:
    return [
        pytest.param(d, name, id=f"{d.key}-{name}")
        for d in definitions()
        for name, rule in d.writable.items()
        if rule.kind == kind
    ]


@client_side_only
@pytest.mark.parametrize(("definition", "name"), _fields_of_kind("date"))
async def test_a_date_field_refuses_a_datetime_before_sending(
    resource_api: Api, definition: Definition, name: str
) -> None:
    with pytest.raises(InvalidRequestError, match="not a datetime") as caught:
        await resource_api.create(**{name: datetime(2026, 3, 1, tzinfo=timezone.utc)})

    assert caught.value.param == name


@pytest.mark.parametrize(("definition", "name"), _fields_of_kind("enum"))
def test_an_enum_value_newer_than_the_sdk_arrives_as_a_plain_string(
    server: FakeServer, definition: Definition, name: str
) -> None:
    record = _raw_create(server, definition, required_fields(definition)).json()

    newer = definition.model.model_validate({**record, name: "newer-than-the-sdk"})
    known = definition.model.model_validate({**record, name: definition.writable[name].choices[0]})

    assert getattr(newer, name) == "newer-than-the-sdk"
    assert isinstance(getattr(known, name), Enum)


# -- the fake's control API, OpenAPI document and the command line -------------------------


def test_the_control_api_lists_and_soft_deletes_the_resources_records(
    server: FakeServer, definition: Definition
) -> None:
    created = _raw_create(server, definition, required_fields(definition)).json()
    with raw_http(server) as http:
        listed = http.get(f"/_fake/{definition.command}").json()["data"]
        deleted = http.post(f"/_fake/{definition.command}/{created['id']}/soft-delete")

    assert listed == [created]
    assert deleted.json()["is_deleted"] is True
    assert server.collection(definition.key).records()[0].is_deleted


def test_the_openapi_document_describes_the_resources_operations(
    server: FakeServer, definition: Definition
) -> None:
    document = server.openapi_document()
    model = definition.model.__name__

    assert set(document["paths"][definition.path]) == {"get", "post"}
    assert set(document["paths"][f"{definition.path}/{{record_id}}"]) == {"get"}
    create = document["components"]["schemas"][f"{model}Create"]
    assert list(create["properties"]) == list(definition.writable)
    assert create["required"] == list(definition.required)
    assert set(document["components"]["schemas"][model]["properties"]) == set(
        definition.model.model_fields
    )


def test_the_openapi_create_schema_accepts_a_valid_body_and_refuses_each_broken_one(
    server: FakeServer, definition: Definition
) -> None:
    document = server.openapi_document()
    schema = {
        "$ref": f"#/components/schemas/{definition.model.__name__}Create",
        "components": document["components"],
    }
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)

    assert validator.is_valid(every_field(definition))
    for name, rule in definition.writable.items():
        for value, _ in broken_values(rule):
            assert not validator.is_valid({**every_field(definition), name: value}), (name, value)


def test_the_command_line_creates_gets_lists_exports_and_imports(
    edm_cli: Callable[..., Any], definition: Definition, tmp_path: Path
) -> None:
    flags = [f"--{n.replace('_', '-')}={v}" for n, v in required_fields(definition).items()]
    command = definition.command

    created = edm_cli(command, "create", *flags, "--format", "json")
    record_id = json.loads(created.out)["id"]
    fetched = edm_cli(command, "get", record_id, "--format", "json")
    listed = edm_cli(command, "list", "--format", "jsonl")
    export = tmp_path / "export.jsonl"
    exported = edm_cli(command, "export", "-o", export)
    (row,) = [json.loads(line) for line in export.read_text().splitlines()]
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({**row, "idempotency_key": "another"}) + "\n")
    imported = edm_cli(command, "import", rows)

    assert [r.code for r in (created, fetched, listed, exported, imported)] == [0] * 5
    assert json.loads(fetched.out) == json.loads(created.out)
    assert [json.loads(line)["id"] for line in listed.out.splitlines()] == [record_id]
    assert "1 created" in imported.out
