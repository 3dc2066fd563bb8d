"""The served fake's control API under `/_fake/`: drive it from a test in any language.

JSON in, JSON out; errors are problem+json like the API's. No auth (the fake listens on
loopback, and its tokens are worthless anywhere else), but the served fake answers only
requests that a web page cannot have sent (`check_sender`). Documented in
docs/fake-server.md.

    GET    /_fake/                              what is served where
    POST   /_fake/reset                         forget records, keys, requests and faults
    GET    /_fake/records                       every stored record (all resources and
                                                 tenants), oldest first
    GET    /_fake/{resource}                    one resource's records, e.g. /_fake/goals
    POST   /_fake/records/{id}/soft-delete      {"by": person_id?}; also under /_fake/{resource}
    POST   /_fake/seed-demo-data                store the demo records (once)
    POST   /_fake/tokens                        {"tenant_id"?, "person_id"?, "app_id"?,
                                                 "expires_in"?}
    POST   /_fake/faults                        {"status"|"exception"|"delay", "times"?, ...}
    DELETE /_fake/faults                        clear every fault
    GET    /_fake/requests                      every API request received, tokens redacted
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any, TypeVar
from urllib.parse import unquote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edm_client._definition import definitions
from edm_client._rules import FieldError
from edm_client.testing._decoding import load_json
from edm_client.testing._demo import DEMO_PERSON_ID, DEMO_TENANT_ID
from edm_client.testing._faults import MAX_FAULT_DELAY, make_fault
from edm_client.testing._openapi import OPENAPI_PATH
from edm_client.testing._problem import Problem, malformed, require_method, validation_problem
from edm_client.testing._state import FakeState

__all__ = [
    "CONTROL_PREFIX",
    "FAULT_EXCEPTIONS",
    "allowed_host",
    "check_sender",
    "handle_control",
    "is_control",
]

CONTROL_PREFIX = "/_fake/"

FAULT_EXCEPTIONS: dict[str, type[httpx.TransportError]] = {
    "reset": httpx.ReadError,
    "disconnect": httpx.RemoteProtocolError,
    "timeout": httpx.ReadTimeout,
    **{
        cls.__name__: cls
        for cls in (
            httpx.ConnectError,
            httpx.ReadError,
            httpx.WriteError,
            httpx.RemoteProtocolError,
            httpx.ConnectTimeout,
            httpx.ReadTimeout,
            httpx.WriteTimeout,
            httpx.PoolTimeout,
        )
    },
}
"""Names accepted as `exception` by `POST /_fake/faults`: short aliases and httpx's names."""


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


_In = TypeVar("_In", bound=_Input)


class FaultSpec(_Input):
    """`POST /_fake/faults`: the arguments of `FakeServer.inject_fault`, as JSON."""

    status: int | None = Field(default=None, ge=400, le=599)
    """Answer with this error status (problem+json)."""
    exception: str | None = None
    """A network failure: `reset`, `disconnect`, `timeout`, or an httpx error name."""
    delay: float | None = Field(default=None, ge=0, le=MAX_FAULT_DELAY)
    """Answer only after this many seconds."""
    times: int | None = Field(default=1, ge=1)
    """How many matching requests fail; null: until cleared."""
    retry_after: int | float | str | None = None
    """`Retry-After` value sent with `status`."""
    method: str | None = None
    """Only requests of this HTTP method."""
    after_commit: bool = False
    """Handle the request first (a create is stored), then lose the response."""
    probability: float | None = Field(default=None, ge=0, le=1)
    """Fail each matching request with this probability, until cleared."""
    seed: int | None = None
    """Seed for `probability`, so a run repeats."""

    @field_validator("exception")
    @classmethod
    def _known_exception(cls, value: str | None) -> str | None:
        if value is not None and value not in FAULT_EXCEPTIONS:
            raise ValueError(f"must be one of {', '.join(sorted(FAULT_EXCEPTIONS))}")
        return value

    @field_validator("retry_after")
    @classmethod
    def _finite(cls, value: float | str | None) -> float | str | None:
        # It is echoed in the answer, where NaN or Infinity would not be JSON.
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number of seconds, or a string")
        return value


class TokenSpec(_Input):
    """`POST /_fake/tokens`: the claims of a new token (defaults: the demo tenant's user)."""

    tenant_id: str | None = Field(default=None, min_length=1)
    person_id: str | None = Field(default=None, min_length=1)
    app_id: str | None = Field(default=None, min_length=1)
    expires_in: float = Field(default=3600, allow_inf_nan=False)


class SoftDeleteSpec(_Input):
    """`POST /_fake/{resource}/{id}/soft-delete`: who deletes (default: the demo user)."""

    by: str | None = Field(default=None, min_length=1)


def is_control(path: str) -> bool:
    """Whether a request path is the control API's."""
    return path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX[:-1]


def check_sender(scheme: str, host: str, origin: str | None, names: frozenset[str]) -> None:
    """Refuse (403) a request to the served control API that a web page could have made the
    user's browser send.

    DNS rebinding points a page's own name at this machine, so its requests arrive naming
    that page in `Host` (`host`: the header as sent, "" if it was not): the host must be an
    IP address or one of `names` (lower case: `localhost`, the name served on, the
    `allowed_hosts`); its port is not checked, so a port mapping (docker) still works. A
    page's cross-site `fetch` carries the page's `Origin`: when one is sent, it must be the
    server's own, `scheme://Host`.
    """
    if not _is_own_host(host, names):
        raise Problem(
            403,
            f"the control API answers only requests addressed to the fake by an IP address "
            f"or one of {', '.join(sorted(names))}, not {host[:100]!r} (serve's "
            f"allowed_hosts, or edm fake serve --allow-host, adds names)",
        )
    if origin is not None and origin.lower() != f"{scheme}://{host.lower()}":
        raise Problem(
            403,
            f"the control API refuses requests from web pages of another origin ({origin[:100]!r})",
        )


def allowed_host(name: str) -> str:
    """`name` as an entry of `allowed_hosts` (lower case); ValueError unless it is a host
    name without a port."""
    if not isinstance(name, str) or not _HOST_NAME.fullmatch(name):
        raise ValueError(f"allowed_hosts holds host names without a port, not {name!r}")
    return name.lower()


_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_HOST = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[^:\[\]]+))(?::[0-9]{1,5})?")


def _is_own_host(host: str, names: frozenset[str]) -> bool:
    match = _HOST.fullmatch(host)
    if match is None:
        return False
    address = match["ipv6"] or match["name"]
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return match["name"] is not None and address.lower() in names
    return True


def handle_control(state: FakeState, request: httpx.Request) -> tuple[int, Any]:
    """Answer one request to the control API: its status and JSON body; raises `Problem`."""
    path = request.url.path.rstrip("/")
    segments = [unquote(s) for s in path.split("/")[2:]]
    method = request.method
    if not segments:
        require_method(method, "GET")
        return 200, _index(state, request)
    resources = {d.command: d for d in definitions()}
    match segments:
        case ["reset"]:
            require_method(method, "POST")
            state.reset()
            return 200, {"reset": True}
        case ["records"]:
            require_method(method, "GET")
            return 200, {"data": state.stored()}
        case [name] if name in resources:
            require_method(method, "GET")
            return 200, {"data": [dict(r) for r in state.collection(resources[name]).stored()]}
        case [name, record_id, "soft-delete"] if name == "records" or name in resources:
            require_method(method, "POST")
            return 200, _soft_delete(state, record_id, _parse(SoftDeleteSpec, request))
        case ["seed-demo-data"]:
            require_method(method, "POST")
            seeded = state.seed_demo()
            return 200, {"data": [record for records in seeded.values() for record in records]}
        case ["tokens"]:
            require_method(method, "POST")
            return 201, _token(state, _parse(TokenSpec, request))
        case ["faults"]:
            require_method(method, "POST, DELETE")
            if method == "DELETE":
                state.clear_faults()
                return 200, {"cleared": True}
            return 201, {"fault": _inject(state, _parse(FaultSpec, request))}
        case ["requests"]:
            require_method(method, "GET")
            return 200, {"data": [_describe(r) for r in state.requests()]}
    raise Problem(404, f"no control route {request.url.path}; see GET /_fake/")


def _parse(model: type[_In], request: httpx.Request) -> _In:
    content = request.content.strip() or b"{}"
    try:
        data = load_json(content)
    except ValueError as error:
        raise malformed(f"the body {error}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(
            [
                FieldError(".".join(map(str, e["loc"])) or "body", e["type"], e["msg"])
                for e in exc.errors(include_url=False)
            ]
        ) from None


def _index(state: FakeState, request: httpx.Request) -> dict[str, Any]:
    base_url = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
    return {
        "service": "edm-sdk fake EDM API",
        "base_url": base_url,
        "openapi": base_url + OPENAPI_PATH,
        "demo_tenant_id": DEMO_TENANT_ID,
        "demo_person_id": DEMO_PERSON_ID,
        "control": {
            "reset": "POST /_fake/reset",
            "records": "GET /_fake/records",
            "soft_delete": "POST /_fake/records/{id}/soft-delete",
            "seed_demo_data": "POST /_fake/seed-demo-data",
            "tokens": "POST /_fake/tokens",
            "inject_fault": "POST /_fake/faults",
            "clear_faults": "DELETE /_fake/faults",
            "requests": "GET /_fake/requests",
        },
        "resources": {d.command: f"GET /_fake/{d.command}" for d in definitions()},
        "fault_exceptions": sorted(FAULT_EXCEPTIONS),
        "rate_limit": state.rate_limiter and state.rate_limiter.spec.as_json(),
    }


def _soft_delete(state: FakeState, record_id: str, spec: SoftDeleteSpec) -> dict[str, Any]:
    with state.lock:
        found = state.find(record_id)
        if found is None:
            raise Problem(404, f"no record {record_id!r}")
        return dict(found.soft_delete(record_id, by=spec.by or DEMO_PERSON_ID))


def _token(state: FakeState, spec: TokenSpec) -> dict[str, Any]:
    tenant_id = spec.tenant_id or DEMO_TENANT_ID
    person_id = spec.person_id or DEMO_PERSON_ID
    token = state.issue_token(
        tenant_id=tenant_id,
        person_id=person_id,
        app_id=spec.app_id,
        expires_in=spec.expires_in,
    )
    return {
        "token": token,
        "tenant_id": tenant_id,
        "person_id": person_id,
        "app_id": spec.app_id,
        "expires_in": spec.expires_in,
    }


def _inject(state: FakeState, spec: FaultSpec) -> dict[str, Any]:
    given = spec.model_dump(exclude_unset=True)
    arguments = dict(given)
    if spec.exception is not None:
        arguments["exception"] = FAULT_EXCEPTIONS[spec.exception]
    try:
        state.add_fault(make_fault(**arguments))
    except ValueError as exc:
        raise validation_problem([FieldError("body", "invalid_fault", str(exc))]) from None
    return given


def _describe(request: httpx.Request) -> dict[str, Any]:
    headers = {
        name: "Bearer [redacted]" if name.lower() == "authorization" else value
        for name, value in request.headers.items()
    }
    return {
        "method": request.method,
        # As received, percent-encoding kept: `/records/..%2Fx` must not read as `/records/../x`.
        "path": request.url.raw_path.partition(b"?")[0].decode("ascii", "replace"),
        "query": request.url.query.decode("ascii", "replace"),
        "headers": headers,
        "body": request.content.decode("utf-8", "replace"),
    }
