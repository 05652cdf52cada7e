"""The observability tests' fixtures live in :mod:`observability.obs_rig`."""

from observability.obs_rig import make_rig

__all__ = ["make_rig"]
