"""What a client hands out but holds only weakly: its namespaces and resources.

They hold the client (they send through it), so if the client held them too, the pair would
be a reference cycle: a `Client` dropped without `close()` would keep its sockets until the
cyclic garbage collector ran. Held weakly, the client is freed by reference counting alone,
and `client.performance` is still the same object for as long as anything holds it.
"""

from __future__ import annotations

import weakref
from typing import Any, TypeVar

__all__ = ["held", "hold"]

T = TypeVar("T")

_REFS = "_held_weakly"


def held(client: object, key: object) -> Any:
    """What `client` handed out under `key` and is still alive, else None."""
    refs = vars(client).get(_REFS)
    ref = refs.get(key) if refs is not None else None
    return ref() if ref is not None else None


def hold(client: object, key: object, value: T) -> T:
    """Remember `value` as handed out by `client` under `key`, weakly; return it."""
    attributes = vars(client)
    refs = attributes.get(_REFS)
    if refs is None:
        refs = attributes[_REFS] = {}
    refs[key] = weakref.ref(value)
    return value
