"""The public surface: `__all__` says exactly what is importable, and sync/async agree."""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import importlib.resources
import inspect
import pickle
import re
import traceback
import types
import typing
import uuid
from datetime import date
from typing import Any

import httpx
import pytest

import edm_client
import edm_client.testing
import edm_client.types
from _helpers import (
    LIST_PARAMETERS,
    WRITABLE_FIELDS,
    Api,
    json_response,
    make_client,
    record_json,
)
from edm_client import AsyncClient, BulkCreateResult, Client
from edm_client._definition import definitions, resource_classes
from edm_client._resource import Namespace
from edm_client.resources.performance.learning_records import LearningRecords

PUBLIC_MODULES = [edm_client, edm_client.types, edm_client.testing]


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff (RUF022) keeps `__all__` in: CONSTANTS, then Classes, then the rest."""
    if name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
def test_all_is_sorted_and_every_name_in_it_is_importable(module: types.ModuleType) -> None:
    names = module.__all__

    assert sorted(names, key=_isort_key) == names
    assert len(set(names)) == len(names)
    for name in names:
        assert getattr(importlib.import_module(module.__name__), name) is not None


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
def test_every_public_name_of_the_package_is_in_all(module: types.ModuleType) -> None:
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }

    assert public - {"annotations"} <= set(module.__all__)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, Any] = {}
    exec("from edm_client import *", namespace)

    assert set(namespace) - {"__builtins__"} == set(edm_client.__all__)


def test_the_promised_names_are_exported() -> None:
    promised = {
        "Client",
        "AsyncClient",
        "EDMError",
        "InvalidRequestError",
        "APIError",
        "APIConnectionError",
        "APITimeoutError",
        "APIResponseValidationError",
        "APIStatusError",
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "UnprocessableEntityError",
        "RateLimitError",
        "InternalServerError",
        "RetryPolicy",
        "__version__",
    }

    assert promised <= set(edm_client.__all__)
    assert {"LearningRecord", "SourceType"} <= set(edm_client.types.__all__)
    assert "FakeServer" in edm_client.testing.__all__


@pytest.mark.parametrize("name", ["LearningRecord", "SourceType"])
def test_the_models_are_importable_from_the_package_too(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"from edm_client import {name}", namespace)

    assert namespace[name] is getattr(edm_client.types, name)
    assert name in edm_client.__all__
    assert name in dir(edm_client)


def test_the_version_is_a_version_string() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([a-z0-9.+-]*)?", edm_client.__version__)


def test_the_version_is_that_of_the_installed_edm_sdk_distribution() -> None:
    distribution = importlib.metadata.distribution("edm-sdk")

    assert distribution.metadata["Name"] == "edm-sdk"
    assert distribution.version == edm_client.__version__


# -- sync/async parity, for every resource found on the clients ---------------------------


def _resources_on_the_clients() -> list[tuple[str, type, type]]:
    """Every resource reachable as `client.<namespace>.<name>` on `Client`, with its twin on
    `AsyncClient`: the explicit properties and whatever is registered."""
    found = []
    with Client(api_key="k", base_url="https://edm.test") as client:
        aclient = AsyncClient(api_key="k", base_url="https://edm.test")
        for space in (n for n in dir(Client) if not n.startswith("_")):
            namespace = getattr(client, space)
            if not isinstance(namespace, Namespace):
                continue
            for name in (n for n in dir(namespace) if not n.startswith("_")):
                resource = getattr(namespace, name)
                twin = getattr(getattr(aclient, space), name)
                found.append((f"{space}.{name}", type(resource), type(twin)))
        asyncio.run(aclient.close())
    return found


FOUND = _resources_on_the_clients()
RESOURCES = [pytest.param(*found, id=found[0]) for found in FOUND]


def _public(cls: type) -> dict[str, Any]:
    return {name: getattr(cls, name) for name in dir(cls) if not name.startswith("_")}


def _methods(cls: type) -> dict[str, Any]:
    return {name: value for name, value in _public(cls).items() if inspect.isfunction(value)}


def test_every_registered_resource_is_found_on_the_clients() -> None:
    registered = {d.key: resource_classes(d.namespace, d.name) for d in definitions()}

    assert {key: (sync, asynchronous) for key, sync, asynchronous in FOUND} == registered
    assert "performance.learning_records" in registered


@pytest.mark.parametrize(("key", "sync", "asynchronous"), RESOURCES)
def test_sync_and_async_resources_have_the_same_public_names(
    key: str, sync: type, asynchronous: type
) -> None:
    assert set(_public(sync)) == set(_public(asynchronous))
    assert {"create", "create_many", "get", "list", "with_raw_response"} <= set(_public(sync))


@pytest.mark.parametrize(("key", "sync", "asynchronous"), RESOURCES)
def test_sync_and_async_methods_take_the_same_parameters(
    key: str, sync: type, asynchronous: type
) -> None:
    for name, method in _methods(sync).items():
        twin = _methods(asynchronous)[name]
        expected = inspect.signature(method).parameters
        assert inspect.signature(twin).parameters == expected, name  # names, kinds,
        # defaults and annotations


@pytest.mark.parametrize(("key", "sync", "asynchronous"), RESOURCES)
def test_sync_and_async_methods_return_the_same_type_awaited(
    key: str, sync: type, asynchronous: type
) -> None:
    for name, method in _methods(sync).items():
        twin = _methods(asynchronous)[name]
        returned = str(inspect.signature(method).return_annotation)
        paged = returned.replace("CursorPage[", "AsyncPaginator[")
        assert str(inspect.signature(twin).return_annotation) == paged, name
        assert inspect.iscoroutinefunction(twin) == (paged == returned), name


@pytest.mark.parametrize(("key", "sync", "asynchronous"), RESOURCES)
def test_every_method_signature_names_the_resources_own_model(
    key: str, sync: type, asynchronous: type
) -> None:
    model = sync._definition.model  # type: ignore[attr-defined]
    for cls in (sync, asynchronous):
        methods = _methods(cls)
        returned = {
            n: inspect.signature(m, eval_str=True).return_annotation for n, m in methods.items()
        }
        assert returned["get"] is model, cls
        assert returned["create"] is model, cls
        assert returned["create_many"] == BulkCreateResult[model], cls
        assert typing.get_args(returned["list"]) == (model,), cls
        for name, method in methods.items():
            hints = typing.get_type_hints(method).values()
            assert not [h for h in hints if isinstance(h, typing.TypeVar) or _parameters(h)], name


def _parameters(hint: Any) -> tuple[Any, ...]:
    return tuple(getattr(hint, "__parameters__", ()))


@pytest.mark.parametrize(("key", "sync", "asynchronous"), RESOURCES)
def test_sync_and_async_docstrings_document_the_same_arguments(
    key: str, sync: type, asynchronous: type
) -> None:
    for name, method in _methods(sync).items():
        doc, twin_doc = inspect.getdoc(method), inspect.getdoc(_methods(asynchronous)[name])
        assert doc, name
        assert twin_doc, name
        if "async twin" in twin_doc:  # it refers to the sync docstring
            continue
        for parameter in inspect.signature(method).parameters:
            assert (f"`{parameter}`" in doc) == (f"`{parameter}`" in twin_doc), (name, parameter)


def test_create_has_the_promised_keyword_only_parameters() -> None:
    parameters = inspect.signature(LearningRecords.create).parameters

    assert list(parameters)[1:] == [
        *WRITABLE_FIELDS,
        "idempotency_key",
        "timeout",
        "total_timeout",
        "extra_headers",
    ]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(parameters.values())[1:])
    assert [n for n, p in parameters.items() if p.default is inspect.Parameter.empty] == [
        "self",
        "person_id",
        "title",
    ]


def test_list_has_the_promised_parameters() -> None:
    parameters = inspect.signature(LearningRecords.list).parameters

    assert list(parameters)[1:] == [*LIST_PARAMETERS, "timeout", "total_timeout", "extra_headers"]
    assert parameters["include_deleted"].default is False


def test_get_takes_the_id_positionally() -> None:
    parameters = inspect.signature(LearningRecords.get).parameters

    assert parameters["record_id"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert list(parameters)[2:] == ["timeout", "total_timeout", "extra_headers"]


def test_client_and_async_client_take_the_same_arguments() -> None:
    sync = inspect.signature(Client.__init__).parameters
    asynchronous = inspect.signature(AsyncClient.__init__).parameters

    assert list(sync) == list(asynchronous)
    assert list(sync)[1:7] == [
        "api_key",
        "base_url",
        "timeout",
        "max_retries",
        "default_headers",
        "http_client",
    ]
    for name in sync:
        if name != "http_client":
            assert sync[name] == asynchronous[name]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(sync.values())[1:])


def test_with_options_takes_the_same_arguments_on_both_clients() -> None:
    sync = inspect.signature(Client.with_options).parameters
    asynchronous = inspect.signature(AsyncClient.with_options).parameters

    assert sync == asynchronous
    assert {"timeout", "max_retries", "default_headers"} <= set(sync)


def test_the_package_is_typed() -> None:
    assert importlib.resources.files("edm_client").joinpath("py.typed").is_file()


async def test_sync_and_async_send_identical_requests() -> None:
    def capture(mode: str) -> tuple[Api, list[httpx.Request]]:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if request.method == "POST":
                return json_response(201, record_json())
            if request.url.path.endswith("learning-records"):
                return json_response(200, {"data": [record_json()], "next_cursor": None})
            return json_response(200, record_json())

        return Api(make_client(mode, handler=handler, default_headers={"X-Team": "hr"})), seen

    sent: dict[str, list[httpx.Request]] = {}
    for mode in ("sync", "async"):
        api, sent[mode] = capture(mode)
        await api.create(
            person_id=uuid.UUID(int=1),
            title="CKA",
            completed_at=date(2026, 3, 1),
            score=90,
            passed=True,
            idempotency_key="same",
            extra_headers={"X-Call": "1"},
        )
        await api.get("per_1/x", timeout=3.0)
        await api.list(person_id="p1", passed=False, include_deleted=True, limit=5)

    for sync, asynchronous in zip(sent["sync"], sent["async"], strict=True):
        assert sync.method == asynchronous.method
        assert sync.url == asynchronous.url
        assert sync.content == asynchronous.content
        assert dict(sync.headers) == dict(asynchronous.headers)
        assert sync.extensions["timeout"] == asynchronous.extensions["timeout"]


_ERRORS = [
    name
    for name, value in vars(edm_client).items()
    if name in edm_client.__all__ and isinstance(value, type) and issubclass(value, Exception)
]


@pytest.mark.parametrize("name", _ERRORS)
def test_errors_and_warnings_show_their_public_path(name: str) -> None:
    error = getattr(edm_client, name)

    assert repr(error) == f"<class 'edm_client.{name}'>"


def test_a_traceback_names_the_error_by_its_public_path() -> None:
    error = edm_client.InvalidRequestError("score: must be between 0 and 100", param="score")

    last_line = traceback.format_exception(error)[-1]

    assert last_line == "edm_client.InvalidRequestError: score: must be between 0 and 100\n"


@pytest.mark.parametrize("name", _ERRORS)
def test_errors_pickle_by_their_public_path(name: str) -> None:
    error = getattr(edm_client, name)
    request = httpx.Request("GET", "https://edm.example.com/api/v1/x")
    if issubclass(error, (edm_client.APIStatusError, edm_client.APIResponseValidationError)):
        instance = error("boom", response=httpx.Response(418, request=request))
    elif issubclass(error, edm_client.APIError):
        instance = error("boom", request=request)
    elif issubclass(error, edm_client.HookError):
        instance = error("boom", hook="before_attempt", operation="learning_records.get")
    else:
        instance = error("boom")

    assert pickle.loads(pickle.dumps(error)) is error
    assert type(pickle.loads(pickle.dumps(instance))) is error


@pytest.mark.parametrize(
    "name", [n for n in edm_client.__all__ if isinstance(getattr(edm_client, n), type)]
)
def test_type_hints_of_every_public_class_resolve(name: str) -> None:
    """typing and pydantic (e.g. a RetryPolicy field of a settings model) can read them."""
    assert isinstance(typing.get_type_hints(getattr(edm_client, name)), dict)


def test_a_resource_subclass_keeps_the_get_its_parent_class_writes() -> None:
    class Custom(LearningRecords):
        def get(self, record_id: Any, **kwargs: Any) -> Any:
            return "custom"

    class Renamed(Custom):
        _definition = LearningRecords._definition

    assert Renamed.get is Custom.get
    assert Renamed.create_many is not LearningRecords.create_many  # still bound to its model
    assert Renamed.create_many.__qualname__.endswith("Renamed.create_many")
