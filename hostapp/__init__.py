"""hostapp: a plugin-based trading host."""

__version__ = "0.1.0"
