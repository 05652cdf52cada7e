"""Test doubles and helpers shared by the suite."""
