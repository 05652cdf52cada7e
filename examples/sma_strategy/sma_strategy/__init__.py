"""sma_strategy: an example hostapp plugin (a moving-average cross). See ``plugin.py``."""
