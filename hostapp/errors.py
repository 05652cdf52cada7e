"""Errors the host raises about plugins (configuration errors are hookspecs.ConfigError)."""

from __future__ import annotations


class PluginError(RuntimeError):
    """A plugin could not be loaded or registered and ``on_error = "raise"`` is set.

    The message names the plugin; the CLI prints it as one line. The original exception
    is chained (``__cause__``) for anyone who wants the traceback.
    """

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r}: {message}")
        self.plugin = plugin
