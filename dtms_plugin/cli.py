"""``dtms``: the DTMS command line. ``dtms serve`` runs the DTMS API server.

``dtms serve`` is the host's serve mode (``hostapp serve``: the broker connection, the
monitoring loop and one web app on which DTMS mounts its API) under the name users know,
with the same flags. The host's command is found the way the host finds its plugins, by
name through an entry point (the ``hostapp`` console script), so this package never
imports the host: DTMS stays a plugin like any third party's (docs/architecture.md).

Configuration errors (a bad plugins.toml, a missing account file) print one line on stderr
and exit with code 2, before anything listens; SIGINT or SIGTERM stops the server cleanly
(the monitoring loop, the broker connection and the store are closed) with exit code 0.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from collections.abc import Callable, Sequence

from hookspecs import keep_interrupts, output_unwritable

from .serving import is_loopback as _is_loopback

__all__ = ["_is_loopback", "main"]

EXIT_CONFIG = 2
#: The shell's code for a command ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130
#: What a shell reports for a command killed by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141
#: The exit code when the output could not be written (a full disk under a redirect)
EXIT_OUTPUT_FAILED = 1
#: The console script of the host whose serve mode ``dtms serve`` is.
HOST_COMMAND = "hostapp"


def _parser() -> argparse.ArgumentParser:
    """``serve`` (its flags are the host's serve mode's) and the operator verbs."""
    from .ops import add_verbs, version

    parser = argparse.ArgumentParser(prog="dtms", description="Defensive Trade Management System")
    parser.add_argument("--version", action="version", version=f"dtms {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "serve",
        help="run the DTMS API server (the host's serve mode: hostapp serve)",
        add_help=False,
    )
    add_verbs(sub)  # the operator verbs: status, trades, trade, actions, ...
    return parser


def _host_command() -> Callable[..., int] | None:
    """The host's ``main``, loaded through its console-script entry point."""
    for entry in importlib.metadata.entry_points(group="console_scripts", name=HOST_COMMAND):
        main: Callable[..., int] = entry.load()
        return main
    return None


def main(argv: Sequence[str] | None = None) -> int:
    keep_interrupts()  # a Ctrl-C falling in a callback while the host is imported
    args = list(sys.argv[1:] if argv is None else argv)
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a "–" on an ASCII locale is a "?", never a crash
        reconfigure(errors="replace")
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # a reader gone shows here, not as a traceback at exit
        return code
    except BrokenPipeError:
        # the reader of the output went away (``dtms export | head``): stop quietly, as
        # command-line tools do, with what was left unwritten thrown away
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except SystemExit as exc:  # rich's on_broken_pipe: the same reader gone
        if isinstance(exc.__context__, BrokenPipeError):
            return EXIT_BROKEN_PIPE
        raise
    except OSError as exc:
        if not output_unwritable(exc):
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"dtms: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_OUTPUT_FAILED
    except KeyboardInterrupt:
        # Ctrl-C while the host command is still being imported or started: one line.
        print("dtms: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _dispatch(args: list[str]) -> int:
    parser = _parser()
    if args and args[0].startswith("-") and args[0] not in ("-h", "--help", "--version"):
        # not "the following arguments are required: command", which hid the flag
        parser.error(f"unrecognized arguments: {args[0]} (a command comes first: dtms COMMAND)")
    known, rest = parser.parse_known_args(args)
    if known.command != "serve":
        from .ops import run

        return run(parser.parse_args(args))
    from .serving import refused_before_start

    refused = refused_before_start(rest)
    if refused is not None:  # before the host opens the account file and DTMS's store
        print(f"dtms: cannot start: {refused}", file=sys.stderr)
        return EXIT_CONFIG
    host_main = _host_command()
    if host_main is None:
        print(f"dtms: the host command {HOST_COMMAND!r} is not installed", file=sys.stderr)
        return EXIT_CONFIG
    return host_main([known.command, *rest], prog="dtms")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
