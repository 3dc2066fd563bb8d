"""The served OpenAPI document passes Spectral's `spectral:oas` ruleset, with no warning.

Each test is one of Spectral's rules written in Python (named after it), so it runs
everywhere, CI included; the last one runs Spectral itself where node's `npx` has it cached.
Every registered resource is in the document (the test-only ones too).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from _helpers import resolve_ref
from edm_client.testing import FakeServer

SPECTRAL = "@stoplight/spectral-cli@6.16.3"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENT_KINDS = ("schemas", "responses", "parameters", "headers", "examples", "requestBodies")


@pytest.fixture(scope="module")
def document() -> Iterator[dict[str, Any]]:
    """The document as the served fake serves it."""
    fake = FakeServer()
    with fake.serve() as url, httpx.Client(trust_env=False) as http:
        served: dict[str, Any] = http.get(f"{url}/api/v1/openapi.json").json()
        yield served


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def nodes(value: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every JSON object in `value` with its JSON pointer, examples' values left out (they are
    data, not part of the document's structure)."""
    if isinstance(value, dict):
        yield where, value
        for key, item in value.items():
            if key not in ("example", "examples"):
                yield from nodes(item, f"{where}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, f"{where}/{index}")


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    rooted = {**schema, "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(rooted, validate_formats=True)


# -- info, servers, tags ------------------------------------------------------------------------


def test_info_contact(document: dict[str, Any]) -> None:
    assert document["info"]["contact"]["name"]


def test_info_description(document: dict[str, Any]) -> None:
    assert document["info"]["description"].strip()


def test_info_license_and_license_url(document: dict[str, Any]) -> None:
    license_ = document["info"]["license"]

    assert license_["name"] == "Apache-2.0"
    assert httpx.URL(license_["url"]).scheme == "https"


def test_oas3_api_servers_without_trailing_slash_or_example_host(document: dict[str, Any]) -> None:
    assert document["servers"]
    for server in document["servers"]:
        url = httpx.URL(server["url"])
        assert url.scheme in ("http", "https")
        assert not server["url"].endswith("/")
        assert "example.com" not in url.host


def test_openapi_tags_are_defined_with_descriptions_in_alphabetical_order(
    document: dict[str, Any],
) -> None:
    names = [tag["name"] for tag in document["tags"]]

    assert names == sorted(names)
    assert len(set(names)) == len(names)
    assert all(tag["description"].strip() for tag in document["tags"])


# -- operations ----------------------------------------------------------------------------------


def test_operation_description_and_summary(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        assert operation["summary"].strip(), (method, path)
        assert len(operation["description"]) > len(operation["summary"]), (method, path)


def test_operation_operation_id_unique_and_valid_in_url(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]

    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", i) for i in ids)


def test_operation_tags_and_operation_tag_defined(document: dict[str, Any]) -> None:
    defined = {tag["name"] for tag in document["tags"]}
    for path, method, operation in operations(document):
        assert operation["tags"], (method, path)
        assert set(operation["tags"]) <= defined, (method, path)


def test_operation_success_response(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        assert any(code[0] in "23" for code in operation["responses"]), (method, path)


def test_operation_parameters_are_unique(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        params = [resolve_ref(document, p) for p in operation.get("parameters", [])]
        keys = [(p["name"], p["in"]) for p in params]
        assert len(set(keys)) == len(keys), (method, path)


def test_path_params_are_defined_required_and_used(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        in_path = set(re.findall(r"{([^}]+)}", path))
        params = [resolve_ref(document, p) for p in operation.get("parameters", [])]
        declared = {p["name"] for p in params if p["in"] == "path"}
        assert declared == in_path, (method, path)
        assert all(p["required"] for p in params if p["in"] == "path")


def test_path_keys_have_no_trailing_slash_or_query(document: dict[str, Any]) -> None:
    for path in document["paths"]:
        assert not path.endswith("/")
        assert "?" not in path


def test_oas3_operation_security_defined(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    requirements = list(document["security"])
    requirements += [r for _, _, op in operations(document) for r in op.get("security", [])]

    assert requirements
    assert all(set(requirement) <= set(schemes) for requirement in requirements)


# -- components and schemas -------------------------------------------------------------------


def test_oas3_unused_component(document: dict[str, Any]) -> None:
    text = json.dumps({**document, "components": {}})
    used: set[str] = set()
    pending = set(re.findall(r'"\$ref": "([^"]+)"', text))
    while pending:
        ref = pending.pop()
        used.add(ref)
        pending |= set(
            re.findall(r'"\$ref": "([^"]+)"', json.dumps(resolve_ref(document, {"$ref": ref})))
        )
        pending -= used

    for kind in COMPONENT_KINDS:
        for name in document["components"].get(kind, {}):
            assert f"#/components/{kind}/{name}" in used, (kind, name)


def test_no_ref_siblings(document: dict[str, Any]) -> None:
    for where, node in nodes(document):
        if "$ref" in node:
            assert list(node) == ["$ref"], where


def test_array_items(document: dict[str, Any]) -> None:
    for where, node in nodes(document):
        if node.get("type") == "array":
            assert "items" in node, where


def test_typed_enum_without_duplicated_entries(document: dict[str, Any]) -> None:
    python_types = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
    for where, node in nodes(document):
        if "enum" in node:
            assert len(set(node["enum"])) == len(node["enum"]), where
            expected = python_types[node["type"]]
            assert all(isinstance(value, expected) for value in node["enum"]), where


def test_every_schema_property_has_a_description(document: dict[str, Any]) -> None:
    for where, node in nodes(document["components"]["schemas"], "#/components/schemas"):
        for name, prop in node.get("properties", {}).items():
            if isinstance(prop, dict):
                assert prop.get("description", "").strip(), f"{where}/properties/{name}"


def test_every_parameter_and_header_has_a_description(document: dict[str, Any]) -> None:
    components = document["components"]
    for item in [*components["parameters"].values(), *components["headers"].values()]:
        assert item["description"].strip()
    for path, method, operation in operations(document):
        for parameter in operation.get("parameters", []):
            assert resolve_ref(document, parameter)["description"].strip(), (method, path)


def test_no_script_tags_or_eval_in_markdown(document: dict[str, Any]) -> None:
    for where, node in nodes(document):
        for key in ("description", "title", "summary"):
            text = node.get(key)
            if isinstance(text, str):
                assert "<script" not in text.lower(), where
                assert "eval(" not in text, where


# -- examples ------------------------------------------------------------------------------------


def media_examples(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every example of a media type, parameter or schema."""
    for where, node in nodes(document):
        if "schema" in node and "example" in node:
            yield where, node["schema"], node["example"]
        if where.startswith("#/components/schemas/") and "examples" in node:
            for example in node["examples"]:
                yield where, node, example


def test_oas3_valid_media_and_schema_examples(document: dict[str, Any]) -> None:
    found = list(media_examples(document))

    assert found
    for where, schema, example in found:
        errors = [str(e) for e in validator(document, schema).iter_errors(example)]
        assert not errors, (where, errors)


def test_every_response_of_every_operation_has_an_example(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            for media in resolve_ref(document, response)["content"].values():
                assert "example" in media, (method, path, status)


def test_a_create_body_has_an_example(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        if "requestBody" in operation:
            (media,) = operation["requestBody"]["content"].values()
            assert "example" in media, (method, path)


def test_the_list_example_is_a_last_page(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        if method == "get" and "{" not in path:
            example = operation["responses"]["200"]["content"]["application/json"]["example"]
            assert example["next_cursor"] is None
            assert len(example["data"]) == 1


# -- Spectral itself --------------------------------------------------------------------------


def test_spectral_reports_nothing(document: dict[str, Any], tmp_path: Path) -> None:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("node's npx is not installed (as in CI); the Python rules above stand in")
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    (tmp_path / ".spectral.yaml").write_text('extends: ["spectral:oas"]\n')
    # --offline: a test reaches nothing beyond this machine, so Spectral runs only when npm
    # has it cached already.
    command = [npx, "--offline", "--yes", SPECTRAL, "lint", "openapi.json", "--format", "json"]
    ran = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    if "ENOTCACHED" in ran.stderr:
        pytest.skip(f"{SPECTRAL} is not in npm's cache: `npx --yes {SPECTRAL} --version` once")

    start = ran.stdout.find("[")
    results = json.loads(ran.stdout[start : ran.stdout.rindex("]") + 1])
    assert results == [], ran.stdout
    assert ran.returncode == 0, ran.stderr
