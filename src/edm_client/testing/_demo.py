"""The demo tenant and its human user: the default caller of `FakeServer` tokens and clients.

The demo records themselves belong to each resource (`ResourceDefinition.demo_items`).
"""

from __future__ import annotations

DEMO_TENANT_ID = "ten_demo"
"""The tenant of every demo record and default token."""
DEMO_PERSON_ID = "00000000-0000-4000-8000-000000000001"
"""The demo tenant's human user: the default caller of `FakeServer` tokens and clients."""
