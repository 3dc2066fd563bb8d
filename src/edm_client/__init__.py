"""edm-sdk: the typed Python SDK for the EDM API.

```python
from edm_client import Client
client = Client()  # EDM_API_KEY and EDM_BASE_URL from the environment
for record in client.performance.learning_records.list(passed=True):
    print(record.title, record.expires_at)
```
"""

import typing as _typing

from edm_client._base_client import DEFAULT_TIMEOUT
from edm_client._client import AsyncClient, Client
from edm_client._config import InsecureTransportWarning
from edm_client._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    EDMError,
    HookError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    UnprocessableEntityError,
)
from edm_client._hooks import AttemptEvent, Hooks, OutcomeEvent, ResponseEvent
from edm_client._pagination import AsyncCursorPage, AsyncPaginator, CursorPage
from edm_client._ratelimit import RateLimit
from edm_client._response import APIResponse
from edm_client._retry import RetryEvent, RetryPolicy
from edm_client._version import __version__

if _typing.TYPE_CHECKING:
    from edm_client._bulk import (
        AdaptiveConcurrency,
        BulkCreated,
        BulkCreateResult,
        BulkFailure,
        BulkProgress,
    )
    from edm_client.types import LearningRecord, SourceType

# Loaded on first use: the bulk machinery brings in asyncio, a thread pool and the models, and
# the models pydantic's model machinery, which `import edm_client` should not pay for (see
# docs/performance.md).
_LAZY = {
    "AdaptiveConcurrency": "edm_client._bulk",
    "BulkCreateResult": "edm_client._bulk",
    "BulkCreated": "edm_client._bulk",
    "BulkFailure": "edm_client._bulk",
    "BulkProgress": "edm_client._bulk",
    "LearningRecord": "edm_client.types",
    "SourceType": "edm_client.types",
}


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edm_client' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY.keys())


__all__ = [
    "DEFAULT_TIMEOUT",
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AdaptiveConcurrency",
    "AsyncClient",
    "AsyncCursorPage",
    "AsyncPaginator",
    "AttemptEvent",
    "AuthenticationError",
    "BadRequestError",
    "BulkCreateResult",
    "BulkCreated",
    "BulkFailure",
    "BulkProgress",
    "Client",
    "ConflictError",
    "CursorPage",
    "EDMError",
    "HookError",
    "Hooks",
    "InsecureTransportWarning",
    "InternalServerError",
    "InvalidRequestError",
    "LearningRecord",
    "NotFoundError",
    "OutcomeEvent",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "ResponseEvent",
    "ResponseTooLargeError",
    "RetryEvent",
    "RetryPolicy",
    "SourceType",
    "UnprocessableEntityError",
    "__version__",
]

# As httpx does: tracebacks, warnings and the reference show the public path of an error,
# `edm_client.NotFoundError` rather than `edm_client._exceptions.NotFoundError`; pickle finds
# it there too. Other classes keep their module, where typing and pydantic resolve the
# string annotations of their fields.
for _name in __all__:
    _public = globals().get(_name)
    if isinstance(_public, type) and issubclass(_public, Exception):
        _public.__module__ = __name__
del _name, _public
