"""Injected faults: which requests they hit, and what they make of a request.

What a fault decides is shared by both transports; only how it reaches the client differs
(in-process raises or sleeps, the served fake acts it out on the socket).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import httpx

from edm_client.testing._problem import Problem, new_request_id, problem_response, problem_type

__all__ = [
    "MAX_FAULT_DELAY",
    "Fault",
    "fault_outcome",
    "make_fault",
    "timed_out",
    "wait_before_answer",
]

Answer = Callable[[httpx.Request], httpx.Response]


@dataclass
class Fault:
    status: int | None
    exception: type[Exception] | Exception | None
    delay: float | None
    remaining: int | None
    retry_after: float | str | None
    method: str | None
    after_commit: bool
    probability: float | None
    rng: random.Random | None = field(default=None, repr=False)
    detail: str | None = None
    """The problem's `detail`, when not the injected fault's."""

    def matches(self, request: httpx.Request) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.rng is None or self.probability is None or self.rng.random() < self.probability


# An hour is longer than any test waits, and a socket wait far longer overflows.
MAX_FAULT_DELAY: Final = 3600


def make_fault(
    *,
    status: int | None = None,
    exception: type[Exception] | Exception | None = None,
    delay: float | None = None,
    times: int | None = 1,
    retry_after: float | str | None = None,
    method: str | None = None,
    after_commit: bool = False,
    probability: float | None = None,
    seed: int | None = None,
) -> Fault:
    """A fault as `FakeServer.inject_fault` describes it; ValueError for a senseless one."""
    if status is None and exception is None and delay is None:
        raise ValueError("inject_fault needs a status, an exception or a delay")
    if probability is not None and not 0 <= probability <= 1:
        raise ValueError("probability must be between 0 and 1")
    # Refused here rather than failing later inside the client's call, far from the cause.
    if status is not None and (isinstance(status, bool) or not 400 <= status <= 599):
        raise ValueError(f"status must be an error status, 400-599, not {status!r}")
    if delay is not None and not (math.isfinite(delay) and 0 <= delay <= MAX_FAULT_DELAY):
        raise ValueError(
            f"delay must be a number of seconds from 0 to {MAX_FAULT_DELAY}, not {delay!r}"
        )
    if times is not None and times < 1:
        raise ValueError(f"times must be 1 or more (None: until cleared), not {times!r}")
    return Fault(
        status=status,
        exception=exception,
        delay=delay,
        remaining=None if probability is not None and times == 1 else times,
        retry_after=retry_after,
        method=method.upper() if method else None,
        after_commit=after_commit,
        probability=probability,
        rng=random.Random(seed) if probability is not None else None,
    )


def wait_before_answer(delay: float, request: httpx.Request) -> tuple[float, bool]:
    """How long to wait before answering, and whether the client gives up first."""
    read_timeout = request.extensions.get("timeout", {}).get("read")
    if read_timeout is not None and read_timeout < delay:
        return read_timeout, True
    return delay, False


def timed_out(fault: Fault, request: httpx.Request, answer: Answer) -> httpx.ReadTimeout:
    """The client gave up waiting; with `after_commit` the server still did the work."""
    if fault.after_commit:
        answer(request)
    return httpx.ReadTimeout("the fake server did not answer in time", request=request)


def fault_outcome(
    fault: Fault, request: httpx.Request, answer: Answer
) -> httpx.Response | Exception:
    """What a fault makes of a request: a response, or the network error the client must meet.

    `answer` is the fake's own answer to the request, asked for when the fault lets the
    request through (`after_commit`, or a delay alone).
    """
    response = answer(request) if fault.after_commit else None
    if fault.exception is not None:
        exc = fault.exception
        if isinstance(exc, type):
            return (
                exc("injected fault", request=request)
                if issubclass(exc, httpx.RequestError)
                else exc("injected fault")
            )
        return exc
    if fault.status is not None:
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        title = problem_type(fault.status).title
        problem = Problem(fault.status, fault.detail or f"injected fault: {title.lower()}")
        return problem_response(problem, new_request_id(), headers)
    return response if response is not None else answer(request)
