"""Brokers the host can trade through: ``paper`` (simulated, the default) and ``mt5``."""
