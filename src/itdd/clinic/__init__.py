"""clinic."""
