"""What a client hands out but holds only weakly: its namespaces and resources.

They hold the client (they send through it), so if the client held them too, the pair would
be a reference cycle: a `Client` dropped without `close()` would keep its sockets until the
cyclic garbage collector ran. Held weakly, the client is freed by reference counting alone,
and `client.performance` is still the same object for as long as anything holds it.

`client.performance.learning_records` written on every call builds both objects again each
time (nothing else holds them), so this path is kept to two allocations and two weak
references: ~1 us (docs/performance.md).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["handed_out"]

T = TypeVar("T")


def handed_out(owner: Any, key: object, make: Callable[[Any], T]) -> T:
    """What `owner` handed out under `key` if it is still alive, else `make(owner)`, which
    `owner` then remembers weakly."""
    try:
        refs: dict[object, weakref.ref[Any]] = owner._held_weakly
    except AttributeError:
        refs = owner._held_weakly = {}
    ref = refs.get(key)
    found: T | None = None if ref is None else ref()
    if found is None:
        found = make(owner)
        refs[key] = weakref.ref(found)
    return found
