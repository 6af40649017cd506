"""pump."""
