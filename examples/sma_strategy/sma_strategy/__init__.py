"""Example strategy (filled in by the loader work)."""
