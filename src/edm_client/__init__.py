"""edm-client: the typed Python SDK for the EDM API.

```python
from edm_client import Client
client = Client()  # EDM_API_KEY and EDM_BASE_URL from the environment
for record in client.performance.learning_records.list(person_id=pid):
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
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    UnprocessableEntityError,
)
from edm_client._pagination import AsyncCursorPage, AsyncPaginator, CursorPage
from edm_client._response import APIResponse
from edm_client._retry import RetryEvent, RetryPolicy
from edm_client._version import __version__

if _typing.TYPE_CHECKING:
    from edm_client._bulk import BulkCreated, BulkCreateResult, BulkFailure

# Loaded on first use: the bulk machinery brings in asyncio, a thread pool and the models, which
# `import edm_client` should not pay for (see docs/performance.md).
_LAZY = frozenset({"BulkCreateResult", "BulkCreated", "BulkFailure"})


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        from edm_client import _bulk

        return getattr(_bulk, name)
    raise AttributeError(f"module 'edm_client' has no attribute {name!r}")


__all__ = [
    "DEFAULT_TIMEOUT",
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncCursorPage",
    "AsyncPaginator",
    "AuthenticationError",
    "BadRequestError",
    "BulkCreateResult",
    "BulkCreated",
    "BulkFailure",
    "Client",
    "ConflictError",
    "CursorPage",
    "EDMError",
    "InsecureTransportWarning",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "RetryEvent",
    "RetryPolicy",
    "UnprocessableEntityError",
    "__version__",
]
