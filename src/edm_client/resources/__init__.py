"""Resource classes, one module per resource, grouped by API namespace."""

RESOURCE_MODULES = ("edm_client.resources.performance.learning_records",)
"""The SDK's own resources: each module defines and registers one (see `_definition.py`)."""
