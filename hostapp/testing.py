"""pytest plugin for plugin authors (fixtures land with the loader)."""
