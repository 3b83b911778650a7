"""Stand-in placeholder; filled in by its issue."""
