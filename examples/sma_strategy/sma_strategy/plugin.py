"""Example strategy hooks."""
