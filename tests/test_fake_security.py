"""The fake as a security boundary: hostile cursors and bodies, forged tokens, slow clients,
and web pages reaching for the served fake's control API.

Every case runs in-process and over a loopback socket where it concerns the wire.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import inspect
import json
import math
import re
import select
import socket
import string
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from _helpers import COLLECTION, Api, api_fixture, raw_http
from edm_client import BadRequestError
from edm_client.testing import FakeServer, TokenBucket, _jwt

api = api_fixture()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _nested(depth: int, inside: bytes = b"") -> bytes:
    return b"[" * depth + inside + b"]" * depth


# 40,000 is what crashed the fake; 33 is one level over the limit, still easy to parse.
DEPTHS = [33, 990, 40_000]
# A create is read only when sent as JSON (else a 415), so these bodies say they are.
AS_JSON = {"content-type": "application/json"}

# -- hostile JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "decoded",
    [
        pytest.param(_nested(33), id="33"),
        pytest.param(_nested(990), id="990"),
        pytest.param(b"[" * 40_000, id="40000-unclosed"),
        pytest.param(b'{"after": ' + _nested(990) + b', "filters": "x"}', id="in-a-field-990"),
        pytest.param(b'{"after": ' + b"[" * 40_000, id="in-a-field-40000-unclosed"),
    ],
)
async def test_a_deeply_nested_cursor_is_a_bad_request(api: Api, decoded: bytes) -> None:
    with pytest.raises(BadRequestError, match="cursor could not be decoded") as caught:
        await api.first_page(cursor=_b64url(decoded))

    assert caught.value.status_code == 400


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda deep: deep, id="bare"),
        pytest.param(lambda deep: b'{"person_id": "p1", "title": ' + deep + b"}", id="field"),
        pytest.param(
            lambda deep: b'{"person_id": "p1", "title": "t", "x": ' + deep + b"}", id="extra"
        ),
    ],
)
def test_a_deeply_nested_create_body_is_a_400(server: FakeServer, depth: int, wrap: Any) -> None:
    with raw_http(server) as http:
        response = http.post(COLLECTION, content=wrap(_nested(depth)), headers=AS_JSON)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "nested more than 32 levels" in response.json()["detail"]
    assert server.records() == []


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(
    ("path", "field"),
    [("/_fake/tokens", "app_id"), ("/_fake/faults", "retry_after"), ("/_fake/faults", "status")],
)
def test_a_deeply_nested_control_body_is_a_400(
    server: FakeServer, depth: int, path: str, field: str
) -> None:
    with raw_http(server) as http:
        response = http.post(path, content=b'{"%s": %s}' % (field.encode(), _nested(depth)))

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "nested more than 32 levels" in response.json()["detail"]


@pytest.mark.parametrize("path", [COLLECTION, "/_fake/tokens"])
def test_a_body_with_a_name_twice_is_a_400_and_nothing_is_stored(
    server: FakeServer, path: str
) -> None:
    body = b'{"person_id": "p1", "title": "Shown", "title": "Stored"}'
    if path != COLLECTION:
        body = b'{"tenant_id": "ten_a", "tenant_id": "ten_b"}'
    with raw_http(server) as http:
        response = http.post(path, content=body, headers=AS_JSON)

    assert response.status_code == 400
    assert "twice in one object" in response.json()["detail"]
    assert server.records() == []


def test_a_body_nested_32_levels_deep_is_read(server: FakeServer) -> None:
    with raw_http(server) as http:
        response = http.post(
            COLLECTION,
            content=b'{"person_id": "p1", "title": ' + _nested(31) + b"}",
            headers=AS_JSON,
        )

    assert response.status_code == 422  # read, then refused by the rules: a title is text
    assert response.json()["errors"][0]["field"] == "title"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_the_control_api_mints_no_token_that_never_expires(
    server: FakeServer, constant: bytes
) -> None:
    with raw_http(server) as http:
        response = http.post("/_fake/tokens", content=b'{"expires_in": %s}' % constant)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "expires_in"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_the_control_api_refuses_a_fault_whose_retry_after_is_not_finite(
    server: FakeServer, constant: bytes
) -> None:
    # Accepted, it was echoed back as `NaN` or `Infinity`: an answer no JSON parser but
    # Python's reads.
    with raw_http(server) as http:
        response = http.post(
            "/_fake/faults", content=b'{"status": 503, "retry_after": %s}' % constant
        )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "retry_after"
    with raw_http(server) as http:
        assert http.get(COLLECTION).status_code == 200  # no fault was added


@pytest.mark.parametrize("retry_after", [b"2", b"0.5", b'"Wed, 21 Oct 2026 07:28:00 GMT"'])
def test_the_control_api_accepts_a_fault_whose_retry_after_is_seconds_or_a_date(
    server: FakeServer, retry_after: bytes
) -> None:
    with raw_http(server) as http:
        response = http.post(
            "/_fake/faults", content=b'{"status": 503, "retry_after": %s}' % retry_after
        )
        answer = http.get(COLLECTION)

    assert response.status_code == 201
    assert answer.headers["Retry-After"] == str(json.loads(retry_after))


@pytest.mark.parametrize(
    "garble",
    [
        pytest.param(lambda cursor: cursor + "!!", id="!!"),
        pytest.param(lambda cursor: cursor + "====", id="padding"),
        pytest.param(lambda cursor: cursor[:8] + "." + cursor[8:], id="a-dot-inside"),
    ],
)
async def test_a_cursor_in_a_non_canonical_encoding_is_a_bad_request(api: Api, garble: Any) -> None:
    for title in ("a", "b", "c"):
        await api.create(title=title)
    cursor = (await api.first_page(limit=1)).next_cursor
    assert cursor is not None

    with pytest.raises(BadRequestError, match="could not be decoded"):
        await api.first_page(limit=1, cursor=garble(cursor))


# -- tokens ----------------------------------------------------------------------------------

CLAIMS = ["tenant_id", "person_id", "app_id"]
NOT_STRINGS = [123, True, 1.5, ["app_1"], {"id": "app_1"}, b"app_1"]


@pytest.mark.parametrize("value", NOT_STRINGS, ids=repr)
@pytest.mark.parametrize("claim", CLAIMS)
def test_issuing_a_token_with_a_claim_that_is_not_a_string_is_a_type_error(
    claim: str, value: object
) -> None:
    with pytest.raises(TypeError, match=f"{claim} must be a str"):
        FakeServer().issue_token(**{claim: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("claim", CLAIMS)
def test_issuing_a_token_with_an_empty_claim_is_a_value_error(claim: str) -> None:
    with pytest.raises(ValueError, match=f"{claim} must not be empty"):
        FakeServer().issue_token(**{claim: ""})


@pytest.mark.parametrize("expires_in", [math.nan, math.inf, -math.inf])
def test_issuing_a_token_that_never_expires_is_a_value_error(expires_in: float) -> None:
    with pytest.raises(ValueError, match="expires_in must be a finite number"):
        FakeServer().issue_token(expires_in=expires_in)


def test_mocking_with_an_app_id_that_is_not_a_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="app_id must be a str"):
        FakeServer().mock(app_id=123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("app_id", b"123"),
        ("tenant_id", b'["ten_b"]'),
        ("person_id", b"true"),
    ],
)
def test_the_control_api_refuses_a_token_with_a_claim_of_the_wrong_type(
    server: FakeServer, field: str, value: bytes
) -> None:
    with raw_http(server) as http:
        response = http.post("/_fake/tokens", content=b'{"%s": %s}' % (field.encode(), value))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def _forge(server: FakeServer, **changes: object) -> str:
    """A token signed with the fake's own secret, with `changes` to its usual claims (a
    value of `...` drops the claim)."""
    claims = {
        "sub": server.demo_person_id,
        "tenant_id": server.demo_tenant_id,
        "exp": time.time() + 3600,
        **changes,
    }
    return _jwt.encode({k: v for k, v in claims.items() if v is not ...}, server._state.secret)


def test_a_hand_made_token_with_string_claims_is_accepted(server: FakeServer) -> None:
    with raw_http(server, _forge(server, app_id="app_1")) as http:
        assert http.get(COLLECTION).status_code == 200


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        *[("app_id", value) for value in [123, True, 1.5, ["app_1"], {"id": "app_1"}, None, ""]],
        ("sub", 7),
        ("sub", None),
        ("sub", ...),
        ("tenant_id", ["ten_demo"]),
        ("tenant_id", ""),
        ("exp", "4102444800"),
        ("exp", True),
        ("exp", math.inf),
        ("exp", math.nan),
        pytest.param("exp", 10**400, id="'exp'-10**400"),  # no float holds it
    ],
    ids=repr,
)
def test_a_token_whose_claim_has_the_wrong_type_is_a_401(
    server: FakeServer, claim: str, value: object
) -> None:
    with raw_http(server, server.issue_token(app_id="app_1")) as app_1:
        app_1.post(COLLECTION, json={"person_id": "p1", "title": "Only app_1 may read this"})

    with raw_http(server, _forge(server, **{claim: value})) as http:
        response = http.get(COLLECTION)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="edm"'


@pytest.mark.parametrize(
    ("claim", "value"),
    [("app_id", 123), ("tenant_id", ...), pytest.param("exp", 10**400, id="'exp'-10**400")],
    ids=repr,
)
def test_a_token_with_a_malformed_claim_is_not_counted_by_the_rate_limit(
    claim: str, value: object
) -> None:
    server = FakeServer(rate_limit=TokenBucket(rate=0.001, burst=1))
    with raw_http(server, _forge(server, **{claim: value})) as forged:
        refused = [forged.get(COLLECTION).status_code for _ in range(3)]
    with raw_http(server) as http:
        assert http.get(COLLECTION).status_code == 200

    assert refused == [401, 401, 401]


def _flip_an_unused_bit(segment: str) -> str:
    # 32 signature bytes take 43 characters, whose last one has 2 bits to spare.
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) ^ 1]


@pytest.mark.parametrize(
    "garble",
    [
        pytest.param(lambda signature: signature + "!!", id="!!"),
        pytest.param(lambda signature: signature + "====", id="===="),
        pytest.param(lambda signature: signature + "=", id="="),
        pytest.param(lambda signature: signature[:20] + "*" + signature[20:], id="*-inside"),
        pytest.param(_flip_an_unused_bit, id="unused-bit"),
    ],
)
def test_a_valid_signature_in_a_non_canonical_encoding_is_a_401(
    server: FakeServer, garble: Any
) -> None:
    header, claims, signature = server.issue_token().split(".")

    with raw_http(server, f"{header}.{claims}.{garble(signature)}") as http:
        assert http.get(COLLECTION).status_code == 401


# -- slow clients (served only) --------------------------------------------------------------

SHORT = 0.5  # seconds; the server's idle timeout in these tests


@pytest.fixture
def short_timeout_url() -> Iterator[str]:
    with FakeServer().serve(idle_timeout=SHORT) as url:
        yield url


def _connect(url: str) -> socket.socket:
    parsed = httpx.URL(url)
    # The 10 s timeout only keeps a broken server from hanging the test.
    return socket.create_connection((parsed.host, parsed.port), timeout=10)


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(b"GET /api/v1/perf", id="half-a-request-line"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", id="half-the-headers"),
        pytest.param(
            b"POST " + COLLECTION.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b'Content-Length: 100\r\n\r\n{"person_id": ',
            id="half-the-body",
        ),
    ],
)
def test_a_connection_that_stalls_mid_request_gets_a_408_and_is_closed(
    short_timeout_url: str, partial: bytes
) -> None:
    with _connect(short_timeout_url) as sock:
        sock.sendall(partial)
        answer = _read_until_closed(sock)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"Content-Type: application/problem+json" in head
    assert json.loads(body)["detail"] == f"the request did not arrive whole within {SHORT:g} s"


@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(b"GE", id="half-a-request-line"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", id="half-the-headers"),
    ],
)
def test_a_request_that_stalls_behind_a_pipelined_one_gets_a_408(
    short_timeout_url: str, partial: bytes
) -> None:
    # Sent with a whole request, its first bytes are read (and buffered) with that one's.
    whole = b"GET " + COLLECTION.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    with _connect(short_timeout_url) as sock:
        sock.sendall(whole + partial)
        answer = _read_until_closed(sock)

    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answer) == [b"401", b"408"]


def test_a_connection_that_drips_its_request_is_closed_before_it_ends(
    short_timeout_url: str,
) -> None:
    # Slow loris: each byte comes well within the timeout, the whole request never does.
    request = b"GET /api/v1/performance/learning-records?" + b"x" * 1000 + b" HTTP/1.1\r\n\r\n"
    with _connect(short_timeout_url) as sock:
        sent = 0
        while sent < len(request) and not select.select([sock], [], [], 0.02)[0]:
            sock.sendall(request[sent : sent + 1])
            sent += 1
        answer = _read_until_closed(sock)

    assert sent < len(request)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_many_stalled_connections_are_all_closed(short_timeout_url: str) -> None:
    with contextlib.ExitStack() as stack:
        stalled = [stack.enter_context(_connect(short_timeout_url)) for _ in range(16)]
        for sock in stalled:
            sock.sendall(b"GET / HTTP/1.1\r\n")

        answers = [_read_until_closed(sock) for sock in stalled]

    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers)


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(
    short_timeout_url: str,
) -> None:
    with _connect(short_timeout_url) as sock:
        assert _read_until_closed(sock) == b""


def test_a_kept_alive_connection_left_idle_is_closed_without_an_answer(
    short_timeout_url: str,
) -> None:
    with _connect(short_timeout_url) as sock:
        sock.sendall(b"GET " + COLLECTION.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()

        assert response.status == 401
        assert not response.will_close
        assert sock.recv(65536) == b""


def test_a_slow_answer_is_not_cut_by_the_idle_timeout() -> None:
    # The timeout is the client's to meet: the server taking its time does not count.
    fake = FakeServer()
    fake.inject_fault(delay=2 * SHORT)
    with fake.serve(idle_timeout=SHORT), fake.client(max_retries=0) as client:
        assert list(client.performance.learning_records.list()) == []


def test_serve_closes_idle_connections_after_30_seconds_by_default() -> None:
    parameter = inspect.signature(FakeServer.serve).parameters["idle_timeout"]

    assert parameter.default == 30


@pytest.mark.parametrize(
    ("idle_timeout", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        ("30", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
    ids=repr,
)
def test_serve_refuses_an_idle_timeout_that_is_not_a_positive_number(
    idle_timeout: Any, error: type[Exception]
) -> None:
    with (
        pytest.raises(error, match="idle_timeout must be a"),
        FakeServer().serve(idle_timeout=idle_timeout),
    ):
        pass


@pytest.mark.parametrize("idle_timeout", [86_400.5, 1e10], ids=repr)
def test_serve_refuses_an_idle_timeout_longer_than_a_day(idle_timeout: float) -> None:
    # 1e10 s is past what a socket timeout can hold: such a fake dropped every connection.
    with (
        pytest.raises(ValueError, match=r"idle_timeout must be .* at most 86400"),
        FakeServer().serve(idle_timeout=idle_timeout),
    ):
        pass


def test_a_fake_served_with_an_idle_timeout_of_a_day_answers() -> None:
    server = FakeServer()
    with server.serve(idle_timeout=86_400), raw_http(server) as http:
        assert http.get(COLLECTION).status_code == 200


# -- the control API and web pages (served only) ---------------------------------------------

CONTROL_REQUESTS = [
    ("GET", "/_fake/", None),
    ("POST", "/_fake/reset", None),
    ("GET", "/_fake/records", None),
    ("POST", "/_fake/tokens", {}),
    ("POST", "/_fake/faults", {"status": 503, "times": None}),
    ("DELETE", "/_fake/faults", None),
    ("POST", "/_fake/seed-demo-data", None),
    ("GET", "/_fake/requests", None),
]


@pytest.fixture
def served() -> Iterator[tuple[FakeServer, httpx.Client]]:
    fake = FakeServer()
    with fake.serve() as url, httpx.Client(base_url=url, trust_env=False) as http:
        yield fake, http


def _port(http: httpx.Client) -> int:
    port = http.base_url.port
    assert port is not None
    return port


@pytest.mark.parametrize(("method", "path", "body"), CONTROL_REQUESTS)
def test_a_control_request_for_another_host_name_is_a_403(
    served: tuple[FakeServer, httpx.Client], method: str, path: str, body: object
) -> None:
    # DNS rebinding: a page on rebind.example has its name resolve to 127.0.0.1.
    fake, http = served
    fake.seed_demo_data()
    host = f"rebind.example:{_port(http)}"

    response = http.request(method, path, json=body, headers={"Host": host})

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "rebind.example" in response.json()["detail"]
    assert len(fake.records()) == 8  # not reset
    assert fake.requests == []


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}", "localhost", "localhost:8080"],
)
def test_a_control_request_for_a_loopback_name_is_answered(
    served: tuple[FakeServer, httpx.Client], host: str
) -> None:
    # Any port: behind a port mapping (docker -p 8080:PORT) the client's port differs.
    _, http = served

    response = http.post("/_fake/reset", headers={"Host": host.format(port=_port(http))})

    assert response.status_code == 200


def test_a_control_request_to_the_fake_served_on_ipv6_loopback_is_answered() -> None:
    with FakeServer().serve(host="::1") as url, httpx.Client(trust_env=False) as http:
        response = http.post(url + "/_fake/reset")

    assert url.startswith("http://[::1]:")
    assert response.status_code == 200


def test_a_control_request_to_the_fake_served_on_every_interface_is_answered_by_ip() -> None:
    with FakeServer().serve(host="0.0.0.0") as url, httpx.Client(trust_env=False) as http:
        port = httpx.URL(url).port
        by_ip = http.post(f"http://127.0.0.1:{port}/_fake/reset")
        by_name = http.post(
            f"http://127.0.0.1:{port}/_fake/reset", headers={"Host": f"rebind.example:{port}"}
        )

    assert by_ip.status_code == 200
    assert by_name.status_code == 403


def test_a_control_request_without_a_host_header_is_a_403(
    served: tuple[FakeServer, httpx.Client],
) -> None:
    _, http = served
    url = str(http.base_url)
    with _connect(url) as sock:
        sock.sendall(b"POST /_fake/reset HTTP/1.0\r\n\r\n")
        answer = _read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 403 ")


@pytest.mark.parametrize(
    "origin",
    [
        "https://attacker.example",
        "null",  # a sandboxed frame or a file:// page
        "http://localhost:{port}.attacker.example",
        "http://127.0.0.1:{other}",  # another local site
        "https://127.0.0.1:{port}",  # another scheme
        "127.0.0.1:{port}",
    ],
)
@pytest.mark.parametrize(("method", "path", "body"), CONTROL_REQUESTS)
def test_a_control_request_from_a_page_of_another_origin_is_a_403(
    served: tuple[FakeServer, httpx.Client], origin: str, method: str, path: str, body: object
) -> None:
    # A page's cross-site fetch() needs no DNS trick: it reaches 127.0.0.1 with the right
    # Host, and the browser says where it comes from.
    fake, http = served
    fake.seed_demo_data()
    port = _port(http)
    headers = {"Origin": origin.format(port=port, other=port + 1)}

    response = http.request(method, path, json=body, headers=headers)

    assert response.status_code == 403
    assert "origin" in response.json()["detail"]
    assert len(fake.records()) == 8


def test_a_control_request_from_the_fakes_own_origin_is_answered(
    served: tuple[FakeServer, httpx.Client],
) -> None:
    _, http = served
    origin = str(http.base_url).rstrip("/")

    assert http.post("/_fake/reset", headers={"Origin": origin}).status_code == 200


def test_allowed_hosts_name_more_hosts_the_control_api_answers() -> None:
    # e.g. the service name other containers reach the fake by in docker compose.
    with (
        FakeServer().serve(allowed_hosts=["edm-fake"]) as url,
        httpx.Client(base_url=url, trust_env=False) as http,
    ):
        port = _port(http)
        allowed = http.post("/_fake/reset", headers={"Host": f"EDM-fake:{port}"})
        same_origin = http.post(
            "/_fake/reset",
            headers={"Host": f"edm-fake:{port}", "Origin": f"http://edm-fake:{port}"},
        )
        other = http.post("/_fake/reset", headers={"Host": f"rebind.example:{port}"})

    assert allowed.status_code == same_origin.status_code == 200
    assert other.status_code == 403


@pytest.mark.parametrize("name", ["edm-fake:8080", "*.example", "", "a b"])
def test_allowed_hosts_must_be_host_names(name: str) -> None:
    with pytest.raises(ValueError, match="allowed_hosts"), FakeServer().serve(allowed_hosts=[name]):
        pass


def test_the_api_itself_answers_any_host_name(served: tuple[FakeServer, httpx.Client]) -> None:
    # Its bearer token is what guards it; a page has none.
    fake, http = served
    headers = {"Host": "rebind.example", "Authorization": f"Bearer {fake.issue_token()}"}

    assert http.get(COLLECTION, headers=headers).status_code == 200


def test_the_in_process_control_api_is_not_gated() -> None:
    # In-process requests come from the test itself, never from a browser.
    fake = FakeServer()
    with httpx.Client(transport=fake.transport, base_url=fake.base_url) as http:
        response = http.post("/_fake/reset", headers={"Origin": "https://attacker.example"})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        "Host: 127.0.0.1:{port}\r\nHost: rebind.example:{port}",
        "Host: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\nOrigin: https://a.example",
    ],
    ids=["two-hosts", "two-origins"],
)
def test_a_control_request_with_a_repeated_host_or_origin_is_a_403(
    served: tuple[FakeServer, httpx.Client], headers: str
) -> None:
    _, http = served
    head = f"POST /_fake/reset HTTP/1.1\r\n{headers}\r\nConnection: close\r\n\r\n"
    with _connect(str(http.base_url)) as sock:
        sock.sendall(head.format(port=_port(http)).encode())
        answer = _read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 403 ")
