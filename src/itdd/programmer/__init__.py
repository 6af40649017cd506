"""programmer."""
