"""`FakeServer(rate_limit=...)`: a token bucket per tenant, in-process and over the socket."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from _helpers import COLLECTION
from edm_client import RateLimit, RateLimitError
from edm_client.testing import FakeServer, TokenBucket, _jwt
from edm_client.testing._rate_limit import RateLimiter

LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def limited_server(
    request: pytest.FixtureRequest, limit: float | TokenBucket
) -> Iterator[FakeServer]:
    fake = FakeServer(rate_limit=limit)
    if request.param == "socket":
        with fake.serve():
            yield fake
    else:
        yield fake


@pytest.fixture(params=["inprocess", "socket"])
def slow(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    """A fake allowing a burst of 3 requests per tenant, then one every 2 seconds."""
    yield from limited_server(request, TokenBucket(rate=0.5, burst=3))


def raw_client(server: FakeServer, token: str | None = None) -> httpx.Client:
    transport = None if server.base_url.startswith("http://") else server.transport
    return httpx.Client(
        transport=transport,
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {token or server.issue_token()}"},
        trust_env=False,
    )


def limits(response: httpx.Response) -> tuple[str | None, ...]:
    return tuple(response.headers.get(name) for name in LIMIT_HEADERS)


def test_a_burst_passes_then_the_empty_bucket_answers_429_with_retry_after(slow):
    with raw_client(slow) as http:
        answers = [http.get(COLLECTION) for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    refused = answers[3]
    assert refused.headers["Retry-After"] == "2"  # a token in 2 s, whole seconds rounded up
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["status"] == 429
    assert "retry after 2 s" in refused.json()["detail"]
    assert refused.headers["X-Request-ID"] == refused.json()["request_id"]


def test_every_api_response_carries_the_rate_limit_headers(slow):
    with raw_client(slow) as http:
        created = http.post(COLLECTION, json={"person_id": "p", "title": "T"})
        invalid = http.post(COLLECTION, json={"person_id": "p"})
        missing = http.get(f"{COLLECTION}/per_missing")
        refused = http.get(COLLECTION)

    assert [r.status_code for r in (created, invalid, missing, refused)] == [201, 422, 404, 429]
    assert limits(created) == ("3", "2", "2")  # 1 token short: back in 2 s
    assert limits(invalid) == ("3", "1", "4")
    assert limits(missing) == ("3", "0", "6")
    assert limits(refused) == ("3", "0", "6")


def test_the_sdk_reads_the_fakes_limit_and_retry_after(slow):
    with slow.client(max_retries=0) as client:
        first = client.performance.learning_records.with_raw_response.list()
        for _ in range(2):
            client.performance.learning_records.list()
        with pytest.raises(RateLimitError) as caught:
            client.performance.learning_records.list()

    assert first.rate_limit == RateLimit(limit=3, remaining=2, reset_after=2.0)
    assert caught.value.retry_after == 2.0
    assert caught.value.rate_limit == RateLimit(limit=3, remaining=0, reset_after=6.0)


def test_each_tenant_has_its_own_bucket(slow):
    with raw_client(slow) as acme, raw_client(slow, slow.issue_token(tenant_id="ten_b")) as other:
        acme_answers = [acme.get(COLLECTION).status_code for _ in range(4)]
        other_answers = [other.get(COLLECTION).status_code for _ in range(3)]

    assert acme_answers == [200, 200, 200, 429]
    assert other_answers == [200, 200, 200]


def test_the_openapi_document_and_unauthenticated_requests_do_not_count(slow):
    with raw_client(slow) as http:
        document = [http.get("/api/v1/openapi.json") for _ in range(5)]
        anonymous = [http.get(COLLECTION, headers={"Authorization": "Bearer x"}) for _ in range(5)]
        counted = [http.get(COLLECTION) for _ in range(3)]

    assert {r.status_code for r in document} == {200}
    assert {r.status_code for r in anonymous} == {401}
    assert all(limits(r) == (None, None, None) for r in [*document, *anonymous])
    assert [r.status_code for r in counted] == [200, 200, 200]


def test_refused_requests_are_recorded_and_never_handled(slow):
    with raw_client(slow) as http:
        answers = [
            http.post(COLLECTION, json={"person_id": "p", "title": f"T{n}"}) for n in range(5)
        ]

    assert [r.status_code for r in answers] == [201, 201, 201, 429, 429]
    assert len(slow.requests) == 5
    assert [r.title for r in slow.records()] == ["T0", "T1", "T2"]


def test_injected_faults_apply_only_to_admitted_requests_and_carry_the_headers(slow):
    slow.inject_fault(status=503, times=None)
    with raw_client(slow) as http:
        answers = [http.get(COLLECTION) for _ in range(4)]

    assert [r.status_code for r in answers] == [503, 503, 503, 429]
    assert limits(answers[0]) == ("3", "2", "2")


def test_reset_refills_every_bucket(slow):
    with raw_client(slow) as http:
        for _ in range(3):
            http.get(COLLECTION)
        slow.reset()
        assert http.get(COLLECTION).status_code == 200


def test_without_a_rate_limit_no_header_is_sent(server):
    with raw_client(server) as http:
        response = http.get(COLLECTION)

    assert response.status_code == 200
    assert limits(response) == (None, None, None)
    assert server.rate_limit is None


@pytest.mark.parametrize("server", ["socket"], indirect=True)
def test_the_control_api_shows_the_rate_limit_and_is_never_limited(server):
    fake = FakeServer(rate_limit=TokenBucket(rate=0.5, burst=1))
    with fake.serve(), httpx.Client(base_url=fake.base_url, trust_env=False) as http:
        answers = [http.get("/_fake/") for _ in range(3)]

    assert {r.status_code for r in answers} == {200}
    assert answers[0].json()["rate_limit"] == {"rate": 0.5, "burst": 1}
    assert limits(answers[0]) == (None, None, None)


# -- the bucket itself, on a clock the test moves -------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


SECRET = b"k" * 32


def bucket_request() -> httpx.Request:
    """An API request of tenant `ten_a`, with a token signed by `SECRET`."""
    claims = {"sub": "p", "tenant_id": "ten_a", "exp": time.time() + 600}
    token = _jwt.encode(claims, SECRET)
    return httpx.Request(
        "GET", "https://fake" + COLLECTION, headers={"Authorization": f"Bearer {token}"}
    )


def test_tokens_come_back_at_the_rate_and_never_beyond_the_burst():
    clock = Clock()
    limiter = RateLimiter(TokenBucket(rate=4, burst=2), SECRET, clock)
    request = bucket_request()

    assert [limiter.admit(request) for _ in range(3)] == [None, None, 1]
    clock.now += 0.25  # one token back
    assert [limiter.admit(request) for _ in range(2)] == [None, 1]
    clock.now += 60  # a long quiet spell refills the bucket to its size only
    assert limiter.headers(request) == {
        "RateLimit-Limit": "2",
        "RateLimit-Remaining": "2",
        "RateLimit-Reset": "0",
    }
    assert [limiter.admit(request) for _ in range(3)] == [None, None, 1]


def test_retry_after_is_rounded_up_to_whole_seconds():
    clock = Clock()
    limiter = RateLimiter(TokenBucket(rate=0.4, burst=1), SECRET, clock)
    request = bucket_request()

    assert limiter.admit(request) is None
    assert limiter.admit(request) == 3  # 2.5 s to the next token
    clock.now += 2.0
    assert limiter.admit(request) == 1  # 0.5 s left


def test_a_number_is_a_rate_with_a_burst_of_one_second():
    assert FakeServer(rate_limit=200).rate_limit == TokenBucket(rate=200)
    assert TokenBucket(rate=2.5).capacity == 3
    assert str(TokenBucket(rate=200, burst=20)) == (
        "200 requests per second per tenant, in bursts of up to 20"
    )


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"rate": 0}, ValueError),
        ({"rate": float("inf")}, ValueError),
        ({"rate": float("nan")}, ValueError),
        ({"rate": "200"}, TypeError),
        ({"rate": True}, TypeError),
        ({"rate": 1, "burst": 0}, ValueError),
        ({"rate": 1, "burst": 1.5}, TypeError),
    ],
)
def test_a_bad_token_bucket_is_refused_when_made(arguments, error):
    with pytest.raises(error):
        TokenBucket(**arguments)


# -- python -m edm_client.testing serve --rate-limit ----------------------------------------------


def test_serve_with_a_rate_limit_announces_it_and_applies_it():
    command = [sys.executable, "-m", "edm_client.testing", "serve", "--json"]
    with subprocess.Popen(
        [*command, "--rate-limit", "0.5", "--rate-burst", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        with httpx.Client(
            base_url=ready["base_url"],
            headers={"Authorization": f"Bearer {ready['token']}"},
            trust_env=False,
        ) as http:
            statuses = [http.get(COLLECTION).status_code for _ in range(3)]
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)

    assert ready["rate_limit"] == {"rate": 0.5, "burst": 2}
    assert statuses == [200, 200, 429]
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate-limit", "0"], "must be above 0"),
        (["--rate-limit", "fast"], "not a number"),
        (["--rate-burst", "5"], "--rate-burst needs --rate-limit"),
    ],
)
def test_serve_refuses_a_bad_rate_limit_with_usage(args, message):
    result = subprocess.run(
        [sys.executable, "-m", "edm_client.testing", "serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 2
    assert message in result.stderr
