"""A Ctrl-C that Python had to drop is raised again: :func:`keep_interrupts`.

Why: on SIGINT (and on SIGTERM where a command maps it to Ctrl-C) Python raises
``KeyboardInterrupt`` wherever the main thread happens to be. When that is inside a
callback Python runs on its own behalf (a weak reference's callback, such as those of the
import system's module locks, or an object's ``__del__``), the exception has nowhere to go:
Python prints "Exception ignored in ..." with a traceback and carries on, and a command
still starting up (importing, opening its store, binding its port) went on to serve as if
no one had pressed Ctrl-C. Why in the contract: every package with a command line (the
host's, a plugin's own such as ``dtms``) installs the same hook, first thing in its
``main``.
"""

from __future__ import annotations

import _thread
import errno
import signal
import sys
import threading
from typing import Any

#: How long after the dropped interrupt it is raised again: the callback it fell in has long
#: returned by then (raised at once, it would fall in the hook itself and be dropped again).
REDELIVER_AFTER_SECONDS = 0.05

#: The attribute that marks the hook as this module's, so installing it twice is harmless.
_MARK = "_keeps_interrupts"


def keep_interrupts() -> None:
    """Install a ``sys.unraisablehook`` that raises a dropped ``KeyboardInterrupt`` again
    in the main thread, silently, a moment later; every other unraisable exception goes to
    the hook that was there. Call it from the main thread of a command, before its imports
    of substance."""
    if getattr(sys.unraisablehook, _MARK, False):
        return
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        exc_type = unraisable.exc_type
        if isinstance(exc_type, type) and issubclass(exc_type, KeyboardInterrupt):
            timer = threading.Timer(REDELIVER_AFTER_SECONDS, _interrupt_main)
            timer.daemon = True  # never keeps a finishing command alive
            timer.start()
            return
        previous(unraisable)

    setattr(hook, _MARK, True)
    sys.unraisablehook = hook


def _interrupt_main() -> None:
    """Act in the main thread as the signal would: through SIGINT's handler when Python
    handles SIGINT, else through SIGTERM's (a command started in the background of a
    non-interactive shell ignores SIGINT; its interrupt came from SIGTERM). The signal is
    sent to the main thread itself, a real one: a main thread blocked in a system call (a
    read from a pipe or a FIFO no one writes) is woken by it, where ``interrupt_main``
    only sets a flag that thread would not look at until the call returns."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) not in (signal.SIG_IGN, signal.SIG_DFL, None):
            break
    else:
        return  # neither is Python's to handle any more: the command is past caring
    main = threading.main_thread().ident
    if hasattr(signal, "pthread_kill") and main is not None:
        signal.pthread_kill(main, signum)
    else:  # Windows: no signals to a thread; a blocked call there waits as before
        _thread.interrupt_main(signum)


#: The errors of a write that no retry mends: a full disk or quota, a file too large, an
#: I/O error of the device
UNWRITABLE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def output_unwritable(exc: OSError) -> bool:
    """Is ``exc`` the command's own output failing (``> /dev/full``, a full disk under a
    redirect), not a file's? Python's error of a full disk names no file, so every file a
    command writes names itself when it fails (hostapp's report files do): what is left is
    the output. A command says it in one line instead of a traceback."""
    return exc.filename is None and exc.errno in UNWRITABLE
