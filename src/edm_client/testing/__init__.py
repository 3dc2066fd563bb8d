"""Test your code against an in-memory EDM API: `from edm_client.testing import FakeServer`.

```python
server = FakeServer()
client = server.client()
record = client.performance.learning_records.create(person_id=pid, title="Kubernetes")
assert server.records() == [record]
```
"""

from edm_client.testing._fake_server import FakeCollection, FakeServer, FakeTransport
from edm_client.testing._rate_limit import TokenBucket

__all__ = ["FakeCollection", "FakeServer", "FakeTransport", "TokenBucket"]
