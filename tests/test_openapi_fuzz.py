"""The served fake, fuzzed with schemathesis against the OpenAPI document it serves itself.

Every generated request (valid and invalid bodies, query parameters, ids, headers) must get
no 5xx, a response that conforms to the document (status, content type, headers, schema), and
problem+json on every 4xx, of a type from the fake's table. Bounded so it runs in seconds;
the last test checks the fuzzing got past the headers to the rules of create bodies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from edm_client._definition import definitions
from edm_client.testing import FakeServer
from edm_client.testing._problem import problem_type


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeServer, str]]:
    fake = FakeServer()
    with fake.serve() as url:
        fake.seed_demo_data()
        yield fake, url


@pytest.fixture(scope="module")
def auth(served: tuple[FakeServer, str]) -> dict[str, str]:
    fake, _ = served
    return {"Authorization": f"Bearer {fake.issue_token()}"}


@pytest.fixture(scope="module")
def outcomes() -> Counter[tuple[str, str, int]]:
    """How often each operation (method, path template) was answered with each status."""
    return Counter()


# The document the fake serves (a test in test_openapi.py checks they are the same).
schema = schemathesis.openapi.from_dict(FakeServer().openapi_document())


@schemathesis.check
def errors_are_problem_json(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """Every 4xx and 5xx is `application/problem+json` with a `status` matching the response,
    and the `type` and `title` the fake's table gives that status."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == "application/problem+json", f"{response.status_code} {content_type}"
    problem = response.json()
    kind = problem_type(response.status_code)
    assert (problem["status"], problem["type"], problem["title"]) == (
        response.status_code,
        kind.type,
        kind.title,
    )


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_served_fake_conforms_to_its_own_openapi_document(
    case: schemathesis.Case,
    served: tuple[FakeServer, str],
    auth: dict[str, str],
    outcomes: Counter[tuple[str, str, int]],
) -> None:
    _, url = served
    # A made-up cursor can never be valid (it is opaque and bound to its filters), so 400 is
    # the contract's answer to it, not a rejected valid request.
    # Likewise a date-time whose offset pushes its instant out of years 1-9999
    # (0001-01-01T00:00:00+01:00) matches the document's pattern, which cannot state that
    # bound (its description does), and is refused with 422.
    excluded = (
        [positive_data_acceptance]
        if "cursor" in (case.query or {}) or _at_the_edge_of_time(case.body)
        else []
    )
    # The generated Authorization is replaced by a valid token; a negative case that left it
    # out on purpose is sent without one, so the fake's 401 is the rejection it expects (adding
    # the token back made such a case be "accepted", failing this test at random).
    has_auth = any(name.lower() == "authorization" for name in case.headers or {})
    response = case.call_and_validate(
        base_url=url,
        headers=auth if has_auth else None,
        additional_checks=[errors_are_problem_json],
        excluded_checks=excluded,
    )
    outcomes[(case.method, case.path, response.status_code)] += 1


def test_the_fuzzing_stored_records_and_met_the_body_rules_of_every_create(
    outcomes: Counter[tuple[str, str, int]],
) -> None:
    # Runs after the fuzzing above (tests run in file order). Before the fake refused empty
    # and overlong Idempotency-Keys, most generated creates shared one key and met 409.
    if not outcomes:
        pytest.skip("the fuzzing above was not run in this session")
    for path in (d.path for d in definitions() if "create" in d.operations):
        assert outcomes[("POST", path, 201)] >= 5, outcomes
        assert outcomes[("POST", path, 422)] >= 5, outcomes


def _at_the_edge_of_time(body: object) -> bool:
    """Whether a create body has a date-time on the first or last day an offset can leave."""
    if not isinstance(body, dict):
        return False
    return any(
        isinstance(value, str) and value.startswith(("0001-01-01", "9999-12-31"))
        for value in body.values()
    )
