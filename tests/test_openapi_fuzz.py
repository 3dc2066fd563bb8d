"""The served fake, fuzzed with schemathesis against the OpenAPI document it serves itself.

Every generated request (valid and invalid bodies, query parameters, ids, headers) must get
no 5xx, a response that conforms to the document (status, content type, headers, schema), and
problem+json on every 4xx. Bounded so it runs in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from edm_client.testing import FakeServer


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


# The document the fake serves (a test in test_openapi.py checks they are the same).
schema = schemathesis.openapi.from_dict(FakeServer().openapi_document())


@schemathesis.check
def errors_are_problem_json(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """Every 4xx and 5xx is `application/problem+json` with a `status` matching the response."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == "application/problem+json", f"{response.status_code} {content_type}"
    assert response.json()["status"] == response.status_code


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_served_fake_conforms_to_its_own_openapi_document(
    case: schemathesis.Case, served: tuple[FakeServer, str], auth: dict[str, str]
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
    case.call_and_validate(
        base_url=url,
        headers=auth if has_auth else None,
        additional_checks=[errors_are_problem_json],
        excluded_checks=excluded,
    )


def _at_the_edge_of_time(body: object) -> bool:
    """Whether a create body has a date-time on the first or last day an offset can leave."""
    if not isinstance(body, dict):
        return False
    return any(
        isinstance(value, str) and value.startswith(("0001-01-01", "9999-12-31"))
        for value in body.values()
    )
