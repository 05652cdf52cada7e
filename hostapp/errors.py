"""Errors the host raises about plugins (configuration errors are hookspecs.ConfigError),
and the exit code of a command refused for its input."""

from __future__ import annotations

#: A command refused for its input (a bad option, file or setting), as argparse exits.
EXIT_USAGE = 2


class PluginError(RuntimeError):
    """A plugin could not be loaded or registered and ``on_error = "raise"`` is set.

    The message names the plugin; the CLI prints it as one line. The original exception
    is chained (``__cause__``) for anyone who wants the traceback.
    """

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r}: {message}")
        self.plugin = plugin
