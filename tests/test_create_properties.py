"""Property tests of `create`: whatever a caller passes, the outcome is one of three.

Any mix of argument values and types ends in a stored record, `InvalidRequestError` raised
before anything is sent, or `UnprocessableEntityError` from the fake; never another exception.
And the SDK's verdict agrees with the fake's on every case: what the SDK refuses, the fake
refuses when a naive client sends it anyway; what the SDK sends, the fake stores.
"""

from __future__ import annotations

import inspect
import json
import math
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edm_client import InvalidRequestError, UnprocessableEntityError
from edm_client.resources.performance.learning_records import LearningRecords
from edm_client.testing import FakeServer
from edm_client.types import LearningRecord, SourceType

# The record's fields, as create's keyword arguments (the public signature is the source).
FIELDS = tuple(
    name
    for name in inspect.signature(LearningRecords.create).parameters
    if name not in ("self", "idempotency_key", "timeout", "total_timeout", "extra_headers")
)
ID_FIELDS = ("person_id", "linked_cohort_id", "linked_assessment_id")
NO_JSON = object()  # a value with no JSON form a naive client could send


def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        st.sampled_from(["", " ", "\t\n", "a\x00b", "\ud800", "é ☃ 日本", "true", "5"]),
        st.integers(max_size - 2, max_size + 2).map(lambda n: "x" * n),
    )


def wrong_types() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=True, allow_infinity=True),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.binary(max_size=5),
        st.uuids(),
    )


def datetimes() -> st.SearchStrategy[Any]:
    aware = st.datetimes(timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-7))]))
    return st.one_of(
        aware,
        st.datetimes(),  # naive: refused
        st.dates(),
        aware.map(lambda d: d.isoformat()),
        st.dates().map(date.isoformat),
        st.sampled_from(
            [
                "2026-03-01T09:30:00Z",
                "2026-03-01 09:30",
                "2026-02-30T00:00:00Z",
                "",
                "0001-01-01T00:00:00+05:00",  # before year 1 in UTC
                "9999-12-31T23:59:59-05:00",  # after year 9999 in UTC
            ]
        ),
    )


VALUES: dict[str, st.SearchStrategy[Any]] = {
    "person_id": st.one_of(st.uuids(), texts(200)),
    "title": texts(500),
    "provider": texts(200),
    "completed_at": datetimes(),
    "expires_at": datetimes(),
    "score": st.one_of(
        st.floats(-10, 110), st.integers(-5, 105), st.sampled_from([0, 100, 100.0001])
    ),
    "passed": st.one_of(st.booleans(), st.sampled_from(["true", "false", 0, 1])),
    "certification_ref": texts(2000),
    "linked_cohort_id": st.one_of(st.uuids(), texts(200)),
    "linked_assessment_id": st.one_of(st.uuids(), texts(200)),
    "source": texts(200),
    "source_type": st.one_of(
        st.sampled_from(SourceType), st.sampled_from(["api", "system", "mobile", "API", ""])
    ),
}


def fine_text(max_size: int) -> st.SearchStrategy[str]:
    """Text the contract accepts: non-blank, no NUL, encodable, at most `max_size` long."""
    chars = st.characters(codec="utf-8", exclude_characters="\x00")
    return st.one_of(
        st.text(chars, min_size=1, max_size=min(max_size, 60)).filter(str.strip),
        st.just("é" * max_size),
    )


def fine_datetimes(allow_bare_date: bool) -> st.SearchStrategy[Any]:
    aware = st.datetimes(timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5))]))
    strategies = [aware, st.dates(), aware.map(lambda d: d.isoformat())]
    if allow_bare_date:
        strategies.append(st.dates().map(date.isoformat))
    return st.one_of(*strategies)


FINE: dict[str, st.SearchStrategy[Any]] = {
    "person_id": st.one_of(st.uuids(), fine_text(200)),
    "title": fine_text(500),
    "provider": fine_text(200),
    "completed_at": fine_datetimes(allow_bare_date=False),
    "expires_at": fine_datetimes(allow_bare_date=True),
    "score": st.one_of(st.floats(0, 100), st.integers(0, 100)),
    "passed": st.booleans(),
    "certification_ref": fine_text(2000),
    "linked_cohort_id": st.one_of(st.uuids(), fine_text(200)),
    "linked_assessment_id": st.one_of(st.uuids(), fine_text(200)),
    "source": fine_text(200),
    "source_type": st.one_of(st.sampled_from(SourceType), st.sampled_from(["api", "backend"])),
}


@st.composite
def create_arguments(draw: st.DrawFn) -> dict[str, Any]:
    """Every argument of create: valid ones, with none, one, a few or all of them replaced by
    any value of the field's kind or of any other type (optional ones may be left out)."""
    arguments: dict[str, Any] = {}
    spoiled = draw(
        st.one_of(
            st.just(frozenset()),
            st.sets(st.sampled_from(FIELDS), min_size=1, max_size=3),
            st.just(frozenset(FIELDS)),
        )
    )
    for name in FIELDS:
        if name not in ("person_id", "title") and draw(st.booleans()):
            continue
        if name not in spoiled:
            arguments[name] = draw(FINE[name])
        else:
            arguments[name] = draw(st.one_of(VALUES[name], wrong_types()))
    return arguments


def naive_wire(name: str, value: Any) -> Any:
    """What a client without the SDK's checks would put in the JSON body for `value`.

    Python types the SDK refuses for a field but that have no one obvious JSON form there
    (bytes, a UUID as a title) are NO_JSON: the SDK is stricter than the wire by choice.
    """
    if isinstance(value, uuid.UUID) and name not in ID_FIELDS:
        return NO_JSON
    if isinstance(value, datetime):
        return value.isoformat()  # naive stays naive: no offset
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"  # the SDK's documented meaning of a date
    if isinstance(value, (uuid.UUID, SourceType)):
        return str(value)
    if isinstance(value, bytes) or (isinstance(value, str) and not _utf8(value)):
        return NO_JSON
    return value


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def referee_verdict(referee: FakeServer, arguments: dict[str, Any]) -> tuple[int, set[str]]:
    """POST what a naive client would send straight to a second fake: status, fields blamed."""
    body = {name: naive_wire(name, v) for name, v in arguments.items() if v is not None}
    content = json.dumps(body, allow_nan=True).encode()
    with httpx.Client(transport=referee.transport) as http:
        response = http.post(
            f"{referee.base_url}/api/v1/performance/learning-records",
            content=content,
            headers={"Authorization": f"Bearer {referee.issue_token()}"},
        )
    blamed = {e["field"] for e in response.json().get("errors", [])}
    return response.status_code, blamed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arguments=create_arguments())
def test_create_ends_in_a_record_a_client_error_or_a_422_and_agrees_with_the_fake(
    arguments: dict[str, Any],
) -> None:
    server, referee = FakeServer(), FakeServer()
    with server.client() as client:
        try:
            outcome: object = client.performance.learning_records.create(**arguments)
        except (InvalidRequestError, UnprocessableEntityError) as exc:
            outcome = exc
        # Anything else propagates and fails the property.

    representable = all(naive_wire(n, v) is not NO_JSON for n, v in arguments.items())
    event(f"outcome: {type(outcome).__name__}")
    if isinstance(outcome, InvalidRequestError):
        assert server.requests == [], "refused arguments must not reach the network"
        assert outcome.param in (*FIELDS, None)
        if representable and not _non_finite(arguments):
            status, blamed = referee_verdict(referee, arguments)
            assert status == 422, f"the SDK refused what the fake accepts: {outcome}"
            assert outcome.param in blamed
        elif representable:
            assert referee_verdict(referee, arguments)[0] == 422
    elif isinstance(outcome, UnprocessableEntityError):
        raise AssertionError(f"the SDK sent what the fake refuses: {outcome}")
    else:
        assert isinstance(outcome, LearningRecord)
        assert server.records() == [outcome]
        assert outcome.title == arguments["title"]
        status, _ = referee_verdict(referee, arguments)
        assert status == 201


def _non_finite(arguments: dict[str, Any]) -> bool:
    """A NaN or infinity anywhere: JSON has no such number, so a naive body fails to parse."""
    return any(isinstance(v, float) and not math.isfinite(v) for v in arguments.values())


@settings(max_examples=100, deadline=None)
@given(
    idempotency_key=st.one_of(
        st.none(), st.text(max_size=300), st.integers(), st.binary(max_size=4)
    ),
    timeout=st.one_of(st.none(), st.floats(), st.integers(-5, 5), st.text(max_size=3)),
    total_timeout=st.one_of(
        st.none(), st.floats(min_value=1), st.floats(max_value=0), st.integers(-5, 5), st.text()
    ),
    extra_headers=st.one_of(
        st.none(),
        st.integers(),
        st.dictionaries(
            st.text(max_size=8), st.one_of(st.text(max_size=8), st.integers()), max_size=2
        ),
    ),
)
def test_create_call_options_are_sent_or_refused_before_the_network(
    idempotency_key: Any, timeout: Any, total_timeout: Any, extra_headers: Any
) -> None:
    server = FakeServer()
    refused: InvalidRequestError | None = None
    with server.client() as client:
        try:
            record = client.performance.learning_records.create(
                person_id="p1",
                title="Options",
                idempotency_key=idempotency_key,
                timeout=timeout,
                total_timeout=total_timeout,
                extra_headers=extra_headers,
            )
        except InvalidRequestError as exc:
            refused = exc
    if refused is not None:
        assert refused.param in ("idempotency_key", "timeout", "total_timeout", "extra_headers")
        assert server.requests == []
    else:
        assert server.records() == [record]
