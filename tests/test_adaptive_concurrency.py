"""`AdaptiveConcurrency`'s decisions, on a clock the test moves: no sleeping, no timing."""

from __future__ import annotations

import pytest

from edm_client import AdaptiveConcurrency, InvalidRequestError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def pacer(clock: Clock, maximum: int = 8) -> AdaptiveConcurrency:
    return AdaptiveConcurrency(maximum, clock=clock)


def test_it_starts_at_the_maximum_and_unpaused(clock):
    pace = pacer(clock)

    assert (pace.limit, pace.paused_for(), pace.epoch) == (8, 0.0, 0)


def test_a_429_halves_the_limit_and_pauses_for_the_time_asked(clock):
    pace = pacer(clock)

    assert pace.throttled(0, 2.0, patience=60)

    assert pace.limit == 4
    assert pace.paused_for() == 2.0
    clock.now += 1.5
    assert pace.paused_for() == 0.5
    clock.now += 0.5
    assert pace.paused_for() == 0.0


def test_429s_to_requests_sent_before_the_cut_neither_cut_again_nor_move_the_pause(clock):
    pace = pacer(clock)
    pace.throttled(0, 1.0, patience=60)

    clock.now += 0.05
    for _ in range(7):  # the rest of the window, answered the same way
        pace.throttled(0, 1.0, patience=60)

    assert pace.limit == 4
    assert pace.paused_for() == pytest.approx(0.95)


def test_an_older_429_asking_a_second_longer_extends_the_pause(clock):
    pace = pacer(clock)
    pace.throttled(0, 1.0, patience=60)

    clock.now += 0.5
    pace.throttled(0, 5.0, patience=60)

    assert pace.limit == 4
    assert pace.paused_for() == 5.0


def test_an_older_429_arriving_after_the_pause_is_old_news(clock):
    pace = pacer(clock)
    pace.throttled(0, 1.0, patience=60)
    clock.now += 1.5

    pace.throttled(0, 1.0, patience=60)

    assert (pace.limit, pace.paused_for()) == (4, 0.0)


def test_each_new_episode_halves_again_down_to_one(clock):
    pace = pacer(clock)
    limits = []
    for _ in range(5):
        pace.throttled(pace.epoch, 0.0, patience=60)
        limits.append(pace.limit)

    assert limits == [4, 2, 1, 1, 1]


def test_successes_grow_the_limit_by_one_per_window_up_to_the_maximum(clock):
    pace = pacer(clock)
    pace.throttled(0, 0.0, patience=60)
    seen = []
    for _ in range(40):
        pace.succeeded()
        seen.append(pace.limit)

    assert seen[:4] == [4, 4, 4, 5]  # four successes at a window of 4: one more
    assert seen[3:9] == [5] * 5 + [6]  # then five at 5
    assert seen[-1] == 8
    assert max(seen) == 8


def test_successes_during_a_pause_do_not_grow_the_limit(clock):
    pace = pacer(clock)
    pace.throttled(0, 1.0, patience=60)

    for _ in range(20):
        pace.succeeded()  # answers to requests sent before the pause

    assert pace.limit == 4


def test_it_gives_up_when_nothing_succeeds_for_longer_than_its_patience(clock):
    pace = pacer(clock)

    assert pace.throttled(pace.epoch, 1.0, patience=2.5)
    clock.now += 1.0
    assert pace.throttled(pace.epoch, 1.0, patience=2.5)
    clock.now += 1.0
    assert pace.throttled(pace.epoch, 1.0, patience=2.5)
    clock.now += 1.0
    resume_at = pace.paused_for()

    assert not pace.throttled(pace.epoch, 1.0, patience=2.5)
    assert pace.paused_for() == resume_at  # giving up starts no new pause


def test_a_success_restarts_its_patience(clock):
    pace = pacer(clock)
    pace.throttled(pace.epoch, 1.0, patience=2.5)
    clock.now += 2.0
    pace.succeeded()
    clock.now += 2.0

    assert pace.throttled(pace.epoch, 1.0, patience=2.5)
    assert pace.pauses_in_a_row == 1


def test_pauses_in_a_row_count_episodes_until_a_success(clock):
    pace = pacer(clock)
    for _ in range(3):
        pace.throttled(pace.epoch, 0.0, patience=60)
    counted = pace.pauses_in_a_row
    pace.succeeded()

    assert (counted, pace.pauses_in_a_row) == (3, 0)


@pytest.mark.parametrize("maximum", [0, -1, 1.5, True, "8"])
def test_a_bad_maximum_is_refused(maximum):
    with pytest.raises(InvalidRequestError) as caught:
        AdaptiveConcurrency(maximum)
    assert caught.value.param == "concurrency"


def test_repr_shows_the_maximum_and_the_current_limit(clock):
    pace = pacer(clock, 6)
    pace.throttled(0, 0.0, patience=60)

    assert repr(pace) == "AdaptiveConcurrency(maximum=6, limit=3)"
