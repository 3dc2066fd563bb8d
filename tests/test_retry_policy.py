"""RetryPolicy settings not covered by test_retries.py: custom delays, and how `max_retries`,
`retry_policy` and `with_options` combine. Sleeps are recorded, never waited."""

from __future__ import annotations

import pytest

from _helpers import Api, fake_api, sleeps_fixture
from edm_client import InternalServerError, RetryEvent, RetryPolicy
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
