"""RetryPolicy settings not covered by test_retries.py: custom delays, and how `max_retries`,
`retry_policy` and `with_options` combine. Sleeps are recorded, never waited."""

from __future__ import annotations

from typing import Any

import pytest

from _helpers import Api, fake_api, sleeps_fixture
from edm_client import Client, InternalServerError, InvalidRequestError, RetryEvent, RetryPolicy
from edm_client.testing import FakeServer

sleeps = sleeps_fixture()


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_initial_and_max_delay_are_configurable(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    policy = RetryPolicy(max_retries=4, initial_delay=1.0, max_delay=3.0, jitter=0.0)
    api = fake_api(server, mode, retry_policy=policy)
    server.inject_fault(status=502, times=None)
    with pytest.raises(InternalServerError):
        await api.create(title="t")
    await api.close()
    assert sleeps == [1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_on_retry_is_not_called_when_nothing_is_retried(
    server: FakeServer, mode: str
) -> None:
    events: list[RetryEvent] = []
    api = fake_api(server, mode, retry_policy=RetryPolicy(on_retry=events.append))
    await api.create(title="t")
    await api.close()
    assert events == []


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_with_options_max_retries_keeps_the_rest_of_the_policy(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    events: list[RetryEvent] = []
    policy = RetryPolicy(initial_delay=2.0, jitter=0.0, on_retry=events.append)
    api = fake_api(server, mode, retry_policy=policy)
    copy = Api(api.client.with_options(max_retries=4), server)
    assert copy.client.retry_policy == RetryPolicy(max_retries=4, initial_delay=2.0, jitter=0.0)
    server.inject_fault(status=503, times=4)
    await copy.create(title="t")
    await api.close()
    assert [e.attempt for e in events] == [1, 2, 3, 4]
    assert sleeps == [2.0, 4.0, 8.0, 8.0]


def test_max_retries_argument_overrides_the_policy_s_and_keeps_the_rest() -> None:
    policy = RetryPolicy(max_retries=5, max_delay=1.0)
    client = FakeServer().client(retry_policy=policy, max_retries=1)
    assert (client.max_retries, client.retry_policy.max_delay) == (1, 1.0)
    client.close()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("max_retries", 1.5),
        ("max_retries", True),
        ("max_retries", "2"),
        ("initial_delay", -1),
        ("initial_delay", float("nan")),
        ("initial_delay", "0.5"),
        ("max_delay", -0.1),
        ("max_delay", float("inf")),
        ("max_retry_after", -1),
        ("max_retry_after", float("inf")),
        ("jitter", float("nan")),
        ("jitter", "0.25"),
        ("statuses", [503, "504"]),
        ("statuses", 503),
        ("statuses", [42]),
        ("on_retry", "print"),
    ],
)
def test_a_policy_that_cannot_be_followed_is_refused_when_made_naming_the_setting(
    setting: str, value: Any
) -> None:
    # Otherwise it fails only at the first retry, as a raw error from time.sleep.
    with pytest.raises(InvalidRequestError, match=setting) as caught:
        RetryPolicy(**{setting: value})

    assert caught.value.param == setting


def test_a_client_given_a_max_retries_that_is_not_a_whole_number_is_refused() -> None:
    half: Any = 1.5
    with pytest.raises(InvalidRequestError, match="max_retries"):
        Client(api_key="token", base_url="https://edm.test", max_retries=half)
