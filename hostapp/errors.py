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


#: A live run that stopped because its broker's terminal was logged in to another account
#: than the one the run started on (docs/mt5.md, "Another account mid-run"): nothing was
#: done on that account; the host is to be started again on it, as a fresh start-up.
EXIT_ACCOUNT_CHANGED = 4


class AccountChanged(Exception):
    """The live broker is on another account than the one the run started on: trading
    stops at once, since every figure, order and position from then on would be that
    account's (its balance read as this run's P&L, its positions as ours). Not a
    :class:`hookspecs.BrokerError`: that one skips a cycle and tries again."""

    def __init__(self, started: str, now: str) -> None:
        super().__init__(
            f"the MetaTrader 5 terminal is now on account {now}, not on {started}, the "
            f"account this run started on: trading stopped, nothing was done on {now}; "
            f"to trade {now}, start the host again on it (a fresh start-up, with its own "
            f"recovery of the positions open there)"
        )
        self.started = started
        self.now = now
