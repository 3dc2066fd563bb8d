"""A client we did not write, against the served fake: the document holds for every language.

`openapi-python-client` generates a client from the document the served fake serves (with
`--fail-on-warning`: the generator must understand all of it), and that client creates, gets,
lists page by page and meets a 422, as a team in another language would with its generator.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from edm_client.testing import FakeServer

PACKAGE = "edm_api_generated"
BODY = {"person_id": "p1", "title": "Kubernetes Administrator"}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeServer, str]]:
    fake = FakeServer()
    with fake.serve() as url:
        yield fake, url


@pytest.fixture(scope="module")
def generated(
    served: tuple[FakeServer, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    """The generated package, imported (its modules are forgotten afterwards)."""
    _, url = served
    root = tmp_path_factory.mktemp("generated")
    config = root / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: ruff need not be on PATH
    generator = Path(sys.executable).with_name("openapi-python-client")
    command = [
        str(generator),
        "generate",
        "--url",
        f"{url}/api/v1/openapi.json",
        "--meta",
        "none",
        "--config",
        str(config),
        "--output-path",
        str(root / PACKAGE),
        "--fail-on-warning",
    ]
    ran = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def api(generated: ModuleType, served: tuple[FakeServer, str]) -> Iterator[Any]:
    """The generated `AuthenticatedClient` of a freshly reset fake."""
    fake, url = served
    fake.reset()
    with generated.AuthenticatedClient(base_url=url, token=fake.issue_token()) as client:
        yield client


def operation(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.learning_records.{name}")


def create_body(**fields: Any) -> Any:
    model = importlib.import_module(f"{PACKAGE}.models").LearningRecordCreate
    return model.from_dict({**BODY, **fields})


def test_the_generator_makes_one_model_per_schema_and_no_inline_copies(
    generated: ModuleType, served: tuple[FakeServer, str]
) -> None:
    # An enum restated inline (once the create body's `source_type`) became a second class,
    # `LearningRecordCreateSourceTypeType0`, beside `SourceType`.
    fake, _ = served
    models = importlib.import_module(f"{PACKAGE}.models")

    assert set(models.__all__) == set(fake.openapi_document()["components"]["schemas"])


def test_the_generated_client_creates_a_record(api: Any) -> None:
    response = operation("create_learning_record").sync_detailed(
        client=api, body=create_body(score=87.5)
    )

    assert response.status_code == 201
    record = response.parsed
    assert (record.person_id, record.title, record.score) == ("p1", BODY["title"], 87.5)
    assert (record.source, record.source_type.value, record.app_id) == ("edm", "api", None)
    assert response.headers["Location"].endswith(record.id)


def test_the_generated_client_replays_a_create_under_its_idempotency_key(api: Any) -> None:
    create = operation("create_learning_record")

    first = create.sync_detailed(client=api, body=create_body(), idempotency_key="row-42")
    again = create.sync_detailed(client=api, body=create_body(), idempotency_key="row-42")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.parsed.id == first.parsed.id


def test_the_generated_client_gets_a_record(api: Any) -> None:
    created = operation("create_learning_record").sync(client=api, body=create_body())

    fetched = operation("get_learning_record").sync(client=api, record_id=created.id)

    assert fetched.to_dict() == created.to_dict()


def test_the_generated_client_pages_through_a_listing(api: Any) -> None:
    create = operation("create_learning_record")
    created = [create.sync(client=api, body=create_body(title=f"t{i}")).id for i in range(5)]
    listing = operation("list_learning_records")

    pages = [listing.sync(client=api, limit=2)]
    while pages[-1].next_cursor is not None:
        pages.append(listing.sync(client=api, limit=2, cursor=pages[-1].next_cursor))

    assert [len(page.data) for page in pages] == [2, 2, 1]
    assert [record.id for page in pages for record in page.data] == created


def test_the_generated_client_reads_a_422_as_a_problem(api: Any) -> None:
    response = operation("create_learning_record").sync_detailed(
        client=api, body=create_body(score=101)
    )

    assert response.status_code == 422
    problem = response.parsed
    assert problem.type_ == "https://errors.edm/validation"
    assert [(e.field, e.code) for e in problem.errors] == [("score", "out_of_range")]
