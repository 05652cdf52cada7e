"""What both commands, ``hostapp`` and ``dtms``, promise a user alike: help text on every
flag and argument of every subcommand, the same exit code for the same failure (a port in
use is a start-up failure: exit 2, one line), and error lines that name the command once.
``dtms serve`` takes ``hostapp serve``'s flags (the same ``add_arguments``), walked under
``hostapp serve``.
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dtms_plugin.cli import _parser as dtms_parser
from hostapp.cli import build_parser as hostapp_parser


def _walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    """Every action of ``parser`` and of its subcommands, named by command path."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}")
        else:
            yield path, action


def _parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield "hostapp", hostapp_parser()
    yield "dtms", dtms_parser()


@pytest.mark.parametrize(("name", "parser"), list(_parsers()), ids=["hostapp", "dtms"])
def test_every_flag_has_help(name: str, parser: argparse.ArgumentParser) -> None:
    missing = [
        f"{path} {'/'.join(action.option_strings) or action.dest}"
        for path, action in _walk(parser, name)
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert missing == []
    walked = {path for path, _ in _walk(parser, name)}
    assert len(walked) > 3  # the walk reached the subcommands


def _run(program: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    module = {"hostapp": "hostapp.cli", "dtms": "dtms_plugin.cli"}[program]
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def occupied_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


@pytest.mark.parametrize(
    "command",
    [("dtms", "serve"), ("hostapp", "serve"), ("hostapp", "run", "--live", "--serve")],
    ids=["dtms serve", "hostapp serve", "hostapp run --live --serve"],
)
def test_a_port_in_use_is_the_same_failure_everywhere(
    tmp_path: Path, occupied_port: int, command: tuple[str, ...]
) -> None:
    (tmp_path / "plugins.toml").write_text('[host.paper]\naccount_file = "acct.sqlite"\n')
    program, *args = command
    done = _run(program, *args, "--port", str(occupied_port), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{program}: cannot listen on 127.0.0.1:{occupied_port}: "), last
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ("dtms", "serve", "--port", "99999"),
        ("dtms", "serve", "--monitor-seconds", "0"),
        ("dtms", "serve", "--days", "0"),
        ("dtms", "serve", "--config", "missing.toml"),
        ("hostapp", "serve", "--port", "99999"),
        ("hostapp", "run", "--port", "99999"),
        ("hostapp", "run", "--speed", "2"),
        ("hostapp", "replay", "missing.csv"),
        ("dtms", "status", "--url", "http://127.0.0.1:9"),
    ],
    ids=lambda argv: " ".join(argv),
)
def test_error_lines_name_the_command_once(tmp_path: Path, argv: tuple[str, ...]) -> None:
    program, *args = argv
    done = _run(program, *args, cwd=tmp_path)
    assert done.returncode in (1, 2), done.stderr
    last = done.stderr.strip().splitlines()[-1]
    # "dtms: port: …" or "dtms serve: error: …", never "dtms: dtms serve: port: …"
    prefix = re.match(r"^(\w+)( \w+)?: ", last)
    assert prefix is not None and prefix[1] == program, last
    rest = last[prefix.end() :]
    assert not re.match(rf"({program}|hostapp|dtms)\b[\w ]*: ", rest), last
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ("hostapp", "run", "--no-compare", "--days", "3000000"),
        ("hostapp", "run", "--no-compare", "--days", "1000000000"),
        ("hostapp", "run", "--live", "--speed", "100", "--days", "3000000"),
        ("hostapp", "run", "--days", "0"),
        ("hostapp", "serve", "--port", "0", "--days", "3000000"),
        ("hostapp", "serve", "--port", "0", "--days", "1.5"),
        ("hostapp", "serve", "--port", "0", "--days", "0"),
        ("dtms", "serve", "--port", "0", "--days", "inf"),
        ("dtms", "serve", "--port", "0", "--days", "1e400"),
        ("dtms", "serve", "--port", "0", "--days", "36501"),
    ],
    ids=lambda argv: " ".join(argv),
)
def test_days_is_the_same_bounded_whole_number_everywhere(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """Three million days ran past the calendar's end in a traceback, ``inf`` too on
    serve, which also took ``1.5`` where run refused it and said ``got 0.0`` for 0."""
    program, *args = argv
    done = _run(program, *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.endswith(
        f"error: argument --days: expected a whole number of days from 1 to 36,500, "
        f"got {args[-1]!r}"
    ), last


def test_a_monitor_cycle_longer_than_a_day_is_refused(tmp_path: Path) -> None:
    """Bounded like every other duration (hostapp.durations): 1e300 passed "> 0"."""
    done = _run("dtms", "serve", "--port", "0", "--monitor-seconds", "1e300", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "dtms: --monitor-seconds: must be a finite number > 0 and at most 86,400 (a day), got "
        "1e+300"
    )


@pytest.mark.parametrize("argv", [("--bogus",), ("--bogus", "status")], ids=" ".join)
def test_an_unknown_flag_before_the_command_is_named(tmp_path: Path, argv: tuple[str, ...]) -> None:
    """``dtms --bogus`` said "the following arguments are required: command", never
    naming the flag that was wrong."""
    done = _run("dtms", *argv, cwd=tmp_path)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert (
        last == "dtms: error: unrecognized arguments: --bogus (a command comes first: dtms COMMAND)"
    )
    assert _run("dtms", "--version", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("under", [False, True], ids=["a file", "under a file"])
def test_a_state_dir_that_is_a_file_is_said_so(tmp_path: Path, under: bool) -> None:
    """Not "[Errno 17] File exists": the folder the store goes in is a file."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x", encoding="utf-8")
    state = blocker / "dtms" if under else blocker
    shipped = (Path(__file__).resolve().parents[2] / "plugins.toml").read_text(encoding="utf-8")
    config = re.sub(r"(?m)^state_dir = .*$", f'state_dir = "{state}"', shipped, count=1)
    (tmp_path / "plugins.toml").write_text(config, encoding="utf-8")
    done = _run("dtms", "serve", "--port", "0", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    said = f"is under a file ({blocker})" if under else "is a file"
    assert f"cannot open store in {state}: it {said}, not a folder" in line, line
