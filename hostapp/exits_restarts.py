"""What the exit manager (:mod:`hostapp.exits`) does about restarts on a live or serving
host: it writes the trades it manages to ``<data_dir>/exits/trades.json`` whenever they
change, reads them back at start-up, and says which open positions it has no record of.

A mixin of :class:`hostapp.exits.ExitManager`, kept apart from its rules: a replay never
touches any of this (it keeps nothing across runs). The file's layout is
:mod:`hostapp.exits_state`.
"""

from __future__ import annotations

from pathlib import Path

from hookspecs import BrokerError, HostView, Trade
from hookspecs.events import FOR_TERMINAL
from hookspecs.types import RESERVED_COMMENTS

from .exits_state import Managed, read_managed, write_managed

STATE_FILE = "trades.json"


class RestartMemory:
    """The state file of :class:`hostapp.exits.ExitManager`, which sets every attribute
    declared here in its constructor (``_file`` at ``startup``, a live host only)."""

    _trades: dict[int, Managed]
    _file: Path | None
    _save_failed: bool
    _unmanaged_at_start: list[int]
    #: why the state file gave no trade back, when it could not be read (said with them)
    _unreadable: str = ""

    def _save(self, host: HostView) -> None:
        """The managed trades into the state file (a live or serving host only)."""
        if self._file is None:
            return
        try:
            write_managed(self._file, self._trades)
        except OSError as exc:
            if not self._save_failed:  # once until a save works again
                host.log.error("exits: %s not written (%s); a restart forgets R", self._file, exc)
            self._save_failed = True
        else:
            if self._save_failed:  # the end of what was said at ERROR, where it was read
                host.log.warning(
                    "exits: %s written again; a restart resumes R", self._file,
                    extra={FOR_TERMINAL: True},
                )  # fmt: skip
            self._save_failed = False

    def _load(self, host: HostView) -> None:
        assert self._file is not None
        try:
            loaded = read_managed(self._file)
        except FileNotFoundError:
            return
        except OSError as exc:  # not read (permissions, the disk): nothing wrong in it
            host.log.error(
                "exits: %s could not be read (%s): no trade resumed, and the file is left "
                "as it is (not written this run)",
                self._file,
                exc,
                extra={FOR_TERMINAL: True},
            )
            self._unreadable = f"{self._file.name} could not be read"
            self._file = None
            return
        except (ValueError, TypeError, AttributeError) as exc:  # not our layout
            # moved aside before any save could write over it: the R it holds is kept
            aside = _aside(self._file)
            self._unreadable = (
                f"{self._file.name} unreadable, kept as {aside.name}"
                if aside
                else f"{self._file.name} unreadable"
            )
            host.log.error(
                "exits: %s unreadable (%s): no trade resumed; %s",
                self._file,
                exc,
                f"kept as {aside} for a look" if aside else "it will be written over",
                extra={FOR_TERMINAL: True},
            )
            return
        try:  # a trade that closed before the file was saved again (a kill) is no more
            open_now = {t.ticket for t in host.broker.positions()}
        except BrokerError:
            open_now = None  # the loop says a broker that cannot answer; kept as read
        gone = [t for t in loaded if open_now is not None and t not in open_now]
        for ticket in gone:
            del loaded[ticket]
        self._trades.update(loaded)
        if loaded:
            host.log.info(
                "exits: managing again %d trades from before the restart (tickets %s)",
                len(loaded), ", ".join(map(str, sorted(loaded))),
            )  # fmt: skip
        if gone:
            host.log.info(
                "exits: %d trade(s) of its state file closed before the restart (tickets "
                "%s): dropped", len(gone), ", ".join(map(str, sorted(gone))),
            )  # fmt: skip
            self._save(host)

    def _say_unmanaged(self, host: HostView) -> None:
        """Open positions it holds no initial risk of (opened by hand, by another program,
        before a version that kept its state file, or with that file lost) are left to
        their own stops: said once at start-up, never silently."""
        try:
            open_now = host.broker.positions()
        except BrokerError:
            return  # the loop says a broker that cannot answer
        left = sorted(t.ticket for t in open_now if t.ticket not in self._trades and _its_kind(t))
        self._unmanaged_at_start = left
        why = (
            f"its exits/{self._unreadable}"
            if self._unreadable
            else "opened by hand, by another program, or before this state folder had an "
            f"exits/{STATE_FILE}"
        )
        if left:  # on the terminal: a restart after an upgrade from a version that kept
            # no state file leaves the host's own trades so, not only a trader's
            host.log.warning(
                "exits: %d open position(s) with no record of their initial risk are not "
                "managed by the exit rules (%s): tickets %s",
                len(left), why, ", ".join(map(str, left)),
                extra={FOR_TERMINAL: True},
            )  # fmt: skip


def _aside(path: Path) -> Path | None:
    """``path`` renamed to the first free ``<name>.unreadable[.N]`` beside it; None when
    it cannot be."""
    for n in range(100):
        aside = path.with_name(f"{path.name}.unreadable" + (f".{n}" if n else ""))
        if not aside.exists():
            try:
                path.replace(aside)
            except OSError:
                return None
            return aside
    return None


def _its_kind(position: Trade) -> bool:
    """A position the exit rules would manage, had they its initial risk: one with a stop
    (the rules are counted in R from it), and no defending plugin's own (a DTMS hedge or
    re-add, whose comment says so: its manager is that plugin). Any other said unmanaged
    at each restart was noise (a hedge "left to its own stops" it never had)."""
    return position.stop_loss is not None and not position.comment.startswith(RESERVED_COMMENTS)
