"""``keep_interrupts``: a Ctrl-C that falls inside a callback Python runs on its own
behalf (here a weak reference's, as the import system's module locks use) is raised
again in the main thread, so the command stops instead of carrying on. Each case runs in
a child process: the hook is process-wide, and the interrupt is real."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

#: The child: a KeyboardInterrupt raised in a weakref callback, then ordinary work for up
#: to five seconds (or, with ``--block``, a read from a pipe written to after five
#: seconds, as a command blocks reading a FIFO); what ends it, and whether at once, is
#: printed.
CHILD = textwrap.dedent(
    """
    import os, signal, sys, threading, time, weakref
    from hookspecs import keep_interrupts
    if "--keep" in sys.argv:
        keep_interrupts()
        keep_interrupts()  # twice is harmless
    if "--term" in sys.argv:  # SIGINT ignored, SIGTERM is the command's Ctrl-C
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    class Thing:
        pass
    def callback(ref):
        raise KeyboardInterrupt
    thing = Thing()
    ref = weakref.ref(thing, callback)
    try:
        give_up = time.monotonic() + 5
        if "--block" in sys.argv:
            reader, writer = os.pipe()
            threading.Timer(5, os.write, (writer, b"x")).start()
            del thing
            os.read(reader, 1)
        else:
            del thing
            while time.monotonic() < give_up:
                time.sleep(0.01)
        print("carried on")
    except KeyboardInterrupt:  # only once the read returned, on a hook that did not wake it
        print("interrupted" if time.monotonic() < give_up - 4 else "interrupted late")
    """
)


def _run(*flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, *flags], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "flags",
    [("--keep",), ("--keep", "--term"), ("--keep", "--block"), ("--keep", "--term", "--block")],
)
def test_an_interrupt_dropped_in_a_callback_is_raised_again(flags: tuple[str, ...]) -> None:
    done = _run(*flags)
    assert done.stdout == "interrupted\n", (done.stdout, done.stderr)
    assert done.stderr == ""  # no "Exception ignored in ..." traceback


def test_without_the_hook_python_drops_it() -> None:
    """What the hook is for: Python's own behaviour, which it must keep seeing."""
    done = _run()
    assert done.stdout == "carried on\n"
    assert "Exception ignored in" in done.stderr and "KeyboardInterrupt" in done.stderr


def test_other_unraisable_exceptions_still_reach_the_previous_hook() -> None:
    code = textwrap.dedent(
        """
        import weakref
        from hookspecs import keep_interrupts
        keep_interrupts()
        class Thing:
            pass
        def callback(ref):
            raise ValueError("a real bug")
        thing = Thing()
        ref = weakref.ref(thing, callback)
        del thing
        print("carried on")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout == "carried on\n"
    assert "ValueError: a real bug" in done.stderr
