"""Resource classes, one module per resource, grouped by API namespace."""
