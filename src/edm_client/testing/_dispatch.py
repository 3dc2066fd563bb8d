"""`Dispatcher`: the fake's one way in. Every request, from every transport, passes here.

The in-process transport and the served fake's HTTP server each read a request, then ask:

1. `arrive(request)`: is there a fault for it? This is where every API request is logged,
   and the place for any per-request gate (a rate limiter, a `Host` check);
2. `answer(request)`: the fake's response, routed to the control API (`/_fake/`), the OpenAPI
   document, or a resource's collection;
3. `outcome(fault, request)`: what an injected fault makes of it.

Only how a fault reaches the client (sleeping, or acting it out on a socket) is the
transport's own business.
"""

from __future__ import annotations

import json

import httpx

from edm_client.testing._api import handle_api, path_segments
from edm_client.testing._control import handle_control, is_control
from edm_client.testing._faults import Fault, fault_outcome
from edm_client.testing._openapi import OPENAPI_PATH, openapi_json
from edm_client.testing._problem import Problem, new_request_id, problem_response, require_method
from edm_client.testing._state import FakeState

__all__ = ["Dispatcher"]

_OPENAPI_SEGMENTS = path_segments(OPENAPI_PATH)


class Dispatcher:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    def arrive(self, request: httpx.Request) -> Fault | None:
        """Log an API request and return the fault it meets, if any (control requests are
        neither logged nor faulted)."""
        if is_control(request.url.path):
            return None
        return self.state.arrive(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        """The fake's response to `request`, errors included (as problem+json)."""
        request_id = new_request_id()
        try:
            status, body, headers = self._route(request)
        except Problem as problem:
            return self._limits(request, problem_response(problem, request_id, problem.headers))
        headers = {**headers, "X-Request-ID": request_id, "Content-Type": "application/json"}
        return self._limits(request, httpx.Response(status, headers=headers, content=body))

    def outcome(self, fault: Fault, request: httpx.Request) -> httpx.Response | Exception:
        """What `fault` makes of `request`: a response, or the network error to meet."""
        outcome = fault_outcome(fault, request, self.answer)
        return self._limits(request, outcome) if isinstance(outcome, httpx.Response) else outcome

    def _limits(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """`response` with the rate limiter's headers, when the fake has one."""
        if self.state.rate_limiter is not None:
            response.headers.update(self.state.rate_limiter.headers(request))
        return response

    def _route(self, request: httpx.Request) -> tuple[int, bytes, dict[str, str]]:
        if is_control(request.url.path):
            status, value = handle_control(self.state, request)
            return status, json.dumps(value).encode(), {}
        segments = path_segments(request.url.raw_path.split(b"?")[0].decode())
        if segments == _OPENAPI_SEGMENTS:
            require_method(request.method, "GET")
            server_url = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
            return 200, openapi_json(server_url), {}
        answer = handle_api(self.state, request, segments)
        return answer.status, answer.body, answer.headers
