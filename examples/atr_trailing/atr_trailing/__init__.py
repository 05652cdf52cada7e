"""The Chandelier exit as a hostapp plugin (see ``atr_trailing.plugin``)."""
