"""A plugin module that fails at import, like one with a missing dependency."""

raise ImportError("hostapp_broken_plugin needs a package that is not installed")
