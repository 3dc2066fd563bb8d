"""`AdaptiveConcurrency`: how many creates a bulk batch keeps in flight, learned from 429s.

Additive increase, multiplicative decrease (as TCP finds a network's capacity): a window's worth
of successes grows the window by one; the first 429 of an episode halves it and pauses the
whole batch for the answer's `Retry-After`. I/O-free: the clock is
injected, so the decisions are unit-tested on a fake one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from edm_client._exceptions import InvalidRequestError

__all__ = ["AdaptiveConcurrency"]

_GRANULARITY = 1.0
"""`Retry-After` counts whole seconds: two answers asking to resume less than this apart say
the same thing, rounded, and the later one does not extend the pause."""


class AdaptiveConcurrency:
    """How many creates `create_many` keeps in flight, adapted to the server's rate limit.

    The batch starts at `maximum`. The first 429 of an episode halves the limit (answers to
    requests sent before that cut do not cut again) and pauses the whole batch for the
    answer's `Retry-After`; it resumes at the lower limit, and every `limit` successes add
    one more request in flight, up to `maximum`.

    `concurrency=8` on `create_many` is a new `AdaptiveConcurrency(8)`. Pass one instance to
    successive `create_many` calls (say, over chunks of a large file) to carry what it learned
    from one call to the next. Not for batches running at the same time.
    """

    def __init__(self, maximum: int = 8, *, clock: Callable[[], float] = time.monotonic) -> None:
        if isinstance(maximum, bool) or not isinstance(maximum, int) or maximum < 1:
            raise InvalidRequestError(
                f"concurrency must be an int of at least 1, not {maximum!r}", param="concurrency"
            )
        self.maximum = maximum
        """The most requests in flight, and where the batch starts."""
        self.clock = clock
        """Seconds, monotonic; replaced in tests."""
        self.epoch = 0
        """How many cuts so far: a 429 to a request sent in an older epoch is old news."""
        self._window = maximum
        self._successes = 0
        """Successes since the window last grew."""
        self._resume_at = -math.inf
        self._stalled_since: float | None = None
        self._pauses_in_a_row = 0

    @property
    def limit(self) -> int:
        """How many requests may be in flight now (1 to `maximum`)."""
        return self._window

    @property
    def pauses_in_a_row(self) -> int:
        """Pauses since the last success (0 once a create succeeds)."""
        return self._pauses_in_a_row

    def paused_for(self) -> float:
        """Seconds before the batch may send again (0.0 when it may send now)."""
        return max(0.0, self._resume_at - self.clock())

    def succeeded(self) -> None:
        """A create succeeded: a window's worth of them (outside a pause) adds one."""
        self._stalled_since = None
        self._pauses_in_a_row = 0
        if self.paused_for() == 0.0 and self._window < self.maximum:
            self._successes += 1
            if self._successes >= self._window:
                self._window += 1
                self._successes = 0

    def throttled(self, sent_in_epoch: int, pause: float, *, patience: float) -> bool:
        """A create sent in `sent_in_epoch` was answered 429, asking for `pause` seconds.

        The first 429 of an episode halves the window and pauses the batch for `pause`. A 429
        to a request sent before that cut is the same news: it neither cuts again nor moves
        the pause, unless it asks to wait at least a second longer (then the pause is
        extended to honour it). Returns False, without pausing, when nothing
        has succeeded for more than `patience` seconds since the first of these 429s: the
        server keeps refusing, and the batch should give up.
        """
        now = self.clock()
        if self._stalled_since is None:
            self._stalled_since = now
        elif now - self._stalled_since > patience:
            return False
        if sent_in_epoch == self.epoch:
            self.epoch += 1
            self._window = max(1, self._window // 2)
            self._successes = 0
            self._pauses_in_a_row += 1
            self._resume_at = max(self._resume_at, now + pause)
        elif now < self._resume_at and now + pause >= self._resume_at + _GRANULARITY:
            self._resume_at = now + pause
        return True

    def __repr__(self) -> str:
        return f"AdaptiveConcurrency(maximum={self.maximum}, limit={self.limit})"
