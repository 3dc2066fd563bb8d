"""edm-client: the typed Python SDK for the EDM API.

```python
from edm_client import Client
client = Client()  # EDM_API_KEY and EDM_BASE_URL from the environment
for record in client.performance.learning_records.list(person_id=pid):
    print(record.title, record.expires_at)
```
"""

from edm_client._base_client import DEFAULT_TIMEOUT, InsecureTransportWarning
from edm_client._bulk import BulkCreated, BulkCreateResult, BulkFailure
from edm_client._client import AsyncClient, Client
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
    UnprocessableEntityError,
)
from edm_client._pagination import AsyncCursorPage, AsyncPaginator, CursorPage
from edm_client._response import APIResponse
from edm_client._retry import RetryEvent, RetryPolicy
from edm_client._version import __version__

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
    "RetryEvent",
    "RetryPolicy",
    "UnprocessableEntityError",
    "__version__",
]
