"""Mutation testing of the DTMS engine (``dtms_plugin/engine``) against its unit tests.

Why a script of the project's own: the engine decides when a position is cut, hedged or
closed, and a flipped comparison there costs money silently; line coverage cannot tell
whether a test would notice. This script makes one small change at a time (a comparison
flipped, ``and``/``or`` swapped, a number nudged, ``return x`` made ``return None``, a
condition negated, an operator swapped: ``scripts/engine_mutants.py``) and runs
``tests/dtms_engine`` against it. A mutant the tests do not notice is a behaviour no test
pins.

How it stays fast enough for CI on 2 cores:

* the test modules are imported once, in this process; each mutant runs in a forked
  child that swaps the mutated function's code object in place (every reference to the
  function, e.g. ``from .planning import plan_owed`` elsewhere, sees the mutant), so no
  child pays for imports;
* one traced run of the suite records which tests execute which engine lines; a mutant
  runs only the tests that enter its function, those that execute its own lines first,
  with ``-x`` so the first failure ends the run;
* ``--jobs`` children run at once, each with a timeout (a mutant that loops is killed).

Mutants listed in ``tests/dtms_engine/EQUIVALENT_MUTANTS.md`` (a line ``- `ID` — why``)
are left out of the score: no test can tell them from the original. The score of a file
is killed ÷ (mutants − equivalent). The last line of the output is JSON.

Usage::

    .venv/bin/python scripts/mutate_engine.py                  # the default files
    .venv/bin/python scripts/mutate_engine.py machine.py --survivors
    .venv/bin/python scripts/mutate_engine.py --min-score 90   # exit 1 below 90 %
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine_mutants import ENGINE, Mutant, mutants_of, mutated_tree  # scripts/, beside this
from pluggy import HookimplMarker

hookimpl = HookimplMarker("pytest")

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests" / "dtms_engine"
EQUIVALENT = TESTS / "EQUIVALENT_MUTANTS.md"
DEFAULT_FILES = (
    "machine.py",
    "deadlines.py",
    "evaluation.py",
    "positions.py",
    "planning.py",
    "volumes.py",
    "score.py",
    "rails.py",
    "indicators.py",
    "tolerance.py",
)
PYTEST_ARGS = ["-q", "-p", "no:randomly", "-p", "no:cacheprovider", "--no-header"]
#: a child's exit code when the mutant could not be put in place (a bug of this script)
APPLY_ERROR = 70


# --- putting a mutant in place (in a forked child) ------------------------------------------


def _functions(obj: object) -> Iterator[tuple[str, types.FunctionType]]:
    """The plain functions a class defines (methods, static and class methods, properties)."""
    for name, attr in vars(obj).items():
        if isinstance(attr, staticmethod | classmethod):
            attr = attr.__func__
        if isinstance(attr, property):
            for part, fn in (("fget", attr.fget), ("fset", attr.fset)):
                if isinstance(fn, types.FunctionType):
                    yield f"{name}.{part}", fn
        elif isinstance(attr, types.FunctionType):
            yield name, attr


def _swap(old: types.FunctionType, new: types.FunctionType) -> bool:
    """Give ``old`` the code of ``new``; True when that changed anything."""
    changed = old.__code__ != new.__code__ or old.__defaults__ != new.__defaults__
    changed = changed or old.__kwdefaults__ != new.__kwdefaults__
    if changed:
        old.__code__ = new.__code__
        old.__defaults__ = new.__defaults__
        old.__kwdefaults__ = new.__kwdefaults__
    return changed


def apply(mutant: Mutant) -> int:
    """Swap the mutant into the imported module; the number of objects changed."""
    modname = f"dtms_plugin.engine.{mutant.file.removesuffix('.py')}"
    module = sys.modules[modname]
    filename = str(ENGINE / mutant.file)
    code = compile(mutated_tree(mutant), filename, "exec", dont_inherit=True)
    ns: dict[str, Any] = {
        "__name__": modname,
        "__package__": module.__package__,
        "__file__": filename,
        "__builtins__": builtins,
    }
    exec(code, ns)
    changed = 0
    for name, new in ns.items():
        old = module.__dict__.get(name)
        if isinstance(new, types.FunctionType) and isinstance(old, types.FunctionType):
            if new.__module__ == modname:
                changed += _swap(old, new)
        elif isinstance(new, type) and isinstance(old, type):
            if new.__module__ != modname:
                continue
            olds = dict(_functions(old))
            for attr, fn in _functions(new):
                target = olds.get(attr)
                if target is not None and fn.__code__.co_filename == filename:
                    changed += _swap(target, fn)
        elif mutant.scope == "<module>" and not isinstance(new, types.ModuleType):
            with contextlib.suppress(Exception):
                if old is not new and type(old) is type(new) and old != new:
                    module.__dict__[name] = new
                    changed += 1
    return changed


# --- which tests run which lines --------------------------------------------------------------


class _LineTracer:
    """Records, per test, the engine lines it executes."""

    def __init__(self, files: set[str]) -> None:
        self.files = files
        self.current: set[tuple[str, int]] = set()

    def _local(self, frame: types.FrameType, event: str, arg: object) -> Callable[..., Any]:
        self.current.add((frame.f_code.co_filename, frame.f_lineno))
        return self._local

    def _global(self, frame: types.FrameType, event: str, arg: object) -> Any:
        if frame.f_code.co_filename in self.files:
            return self._local
        return None

    @contextlib.contextmanager
    def tracing(self) -> Iterator[set[tuple[str, int]]]:
        self.current = set()
        sys.settrace(self._global)
        threading.settrace(self._global)
        try:
            yield self.current
        finally:
            sys.settrace(None)
            threading.settrace(None)


def _run_items(items: list[Any], tracer: _LineTracer | None = None) -> tuple[int, list[Any]]:
    """Run ``items`` in order, as ``pytest -x`` would: 1 at the first failure, else 0;
    with a tracer, the lines each test executed."""
    from _pytest.runner import runtestprotocol

    lines: list[Any] = []
    for i, item in enumerate(items):
        nextitem = items[i + 1] if i + 1 < len(items) else None
        if tracer is None:
            reports = runtestprotocol(item, nextitem=nextitem, log=False)
        else:
            with tracer.tracing() as seen:
                reports = runtestprotocol(item, nextitem=nextitem, log=False)
            lines.append(seen)
        if any(r.failed for r in reports):
            return 1, lines
    return 0, lines


def _fork(work: Callable[[], int]) -> int:
    """Start ``work`` in a forked child with its output discarded; the child's pid."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 3
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            code = work()
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    return pid


def coverage_map(items: list[Any], files: list[str], out: Path) -> dict[tuple[str, int], list[str]]:
    """Run the suite once, traced, in a child (tracing leaves state behind; the parent's
    items must stay unrun): per line of the traced files, the tests that executed it, in
    suite order."""
    import pickle

    tracer = _LineTracer({str(ENGINE / f) for f in files})

    def work() -> int:
        rc, lines = _run_items(items, tracer)
        out.write_bytes(pickle.dumps(lines))
        return rc

    _, status = os.waitpid(_fork(work), 0)
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise SystemExit(f"the engine's tests fail without any mutant (exit {rc})")
    lines = pickle.loads(out.read_bytes())
    out.unlink()
    by_line: dict[tuple[str, int], list[str]] = {}
    for item, seen in zip(items, lines, strict=True):
        for key in seen:
            by_line.setdefault(key, []).append(item.nodeid)
    return by_line


def tests_for(
    mutant: Mutant, order: list[str], by_line: dict[tuple[str, int], list[str]]
) -> list[str] | None:
    """The tests that can notice ``mutant``: those entering its function, the ones that
    execute its own lines first. ``None``: every test (a module-level mutant takes effect
    at import). An empty list: no test runs that code."""
    if mutant.scope == "<module>":
        return None
    path = str(ENGINE / mutant.file)
    own: dict[str, None] = {}
    for line in range(mutant.line, mutant.end_line + 1):
        own.update(dict.fromkeys(by_line.get((path, line), ())))
    scope: set[str] = set()
    first, last = mutant.scope_lines
    for line in range(first, last + 1):
        scope.update(by_line.get((path, line), ()))
    rest = [t for t in order if t in scope and t not in own]
    return [*own, *rest]


# --- running -------------------------------------------------------------------------------


@dataclass
class FileScore:
    killed: int = 0
    survived: int = 0
    timeout: int = 0
    equivalent: int = 0
    errors: int = 0
    survivors: list[str] = field(default_factory=list)

    @property
    def scored(self) -> int:
        return self.killed + self.timeout + self.survived

    @property
    def score(self) -> float:
        return 100.0 * (self.killed + self.timeout) / self.scored if self.scored else 100.0


def equivalents() -> dict[str, str]:
    """The mutants EQUIVALENT_MUTANTS.md declares equivalent, with the reason given."""
    out: dict[str, str] = {}
    if not EQUIVALENT.exists():
        return out
    for line in EQUIVALENT.read_text().splitlines():
        m = re.match(r"^- `(.+?)`\s*[—-]+\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


class _Campaign:
    """A pytest plugin: once the engine's tests are collected, it runs every mutant
    against them instead of running them once."""

    def __init__(self, args: argparse.Namespace, files: list[str]) -> None:
        self.args = args
        self.files = files
        self.scores = {f: FileScore() for f in files}
        self.declared = equivalents()
        self.seen_equivalent: set[str] = set()
        self.ran = False

    @hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: Any) -> bool:
        import hypothesis

        # deterministic property tests, and no example database written by mutants
        hypothesis.settings.register_profile("mutation", database=None, derandomize=True)
        hypothesis.settings.load_profile("mutation")
        items = list(session.items)
        by_id = {item.nodeid: item for item in items}
        order = [item.nodeid for item in items]
        by_line = coverage_map(items, self.files, ROOT / f".mutate-{os.getpid()}.pickle")
        todo: list[tuple[Mutant, list[Any]]] = []
        for f in self.files:
            for mutant in mutants_of(f):
                if mutant.ident in self.declared:
                    self.seen_equivalent.add(mutant.ident)
                    self.scores[f].equivalent += 1
                    continue
                tests = tests_for(mutant, order, by_line)
                if tests is not None and not tests:
                    self.scores[f].survived += 1
                    self.scores[f].survivors.append(f"{mutant.ident}  (no test runs it)")
                    continue
                todo.append((mutant, items if tests is None else [by_id[t] for t in tests]))
        if self.args.limit:
            todo = todo[: self.args.limit]
        self._run(todo)
        self.ran = True
        return True

    def _run(self, todo: list[tuple[Mutant, list[Any]]]) -> None:
        def child(mutant: Mutant, tests: list[Any]) -> Callable[[], int]:
            def work() -> int:
                try:
                    if not apply(mutant):
                        return APPLY_ERROR
                except Exception:
                    return APPLY_ERROR
                return _run_items(tests)[0]

            return work

        running: dict[int, tuple[Mutant, float]] = {}
        pending = list(reversed(todo))
        done = 0
        while pending or running:
            while pending and len(running) < self.args.jobs:
                mutant, tests = pending.pop()
                running[_fork(child(mutant, tests))] = (mutant, time.monotonic())
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                now = time.monotonic()
                for p, (mutant, t0) in list(running.items()):
                    if now - t0 > self.args.timeout:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(p, signal.SIGKILL)
                        os.waitpid(p, 0)
                        del running[p]
                        self.scores[mutant.file].timeout += 1
                        done += 1
                time.sleep(0.002)
                continue
            mutant, _ = running.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            done += 1
            sc = self.scores[mutant.file]
            if code == 0:
                sc.survived += 1
                sc.survivors.append(mutant.ident)
            elif code == 1:
                sc.killed += 1
            else:
                sc.errors += 1
                print(f"error (exit {code}): {mutant.ident}", file=sys.stderr)
            if self.args.progress and done % 100 == 0:
                print(f"{done}/{len(todo)} mutants", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    os.chdir(ROOT)
    import pytest

    started = time.monotonic()
    files = [f if f.endswith(".py") else f"{f}.py" for f in (args.files or DEFAULT_FILES)]
    for f in files:
        if not (ENGINE / f).is_file():
            raise SystemExit(f"no engine file {f}")
    campaign = _Campaign(args, files)
    with (
        open(os.devnull, "w") as null,
        contextlib.redirect_stdout(sys.stderr if args.progress else null),
    ):
        rc = pytest.main([*PYTEST_ARGS, str(TESTS)], plugins=[campaign])
    if not campaign.ran:
        raise SystemExit(f"the engine's tests could not be collected (pytest exit {rc})")
    scores = campaign.scores
    elapsed = time.monotonic() - started
    stale = sorted(
        i for i in set(campaign.declared) - campaign.seen_equivalent if i.split(":")[0] in files
    )
    failing = [f for f in files if args.min_score and scores[f].score < args.min_score]
    for f in files:
        sc = scores[f]
        print(
            f"{f:16} score {sc.score:5.1f}%  killed {sc.killed + sc.timeout:4} "
            f"(timeouts {sc.timeout})  survived {sc.survived:3}  equivalent {sc.equivalent:3}"
            f"  errors {sc.errors}"
        )
        if args.survivors:
            for s in sorted(sc.survivors, key=_line_of):
                print(f"    survived: {s}")
    for ident in stale:
        print(f"stale entry in {EQUIVALENT.name} (no such mutant): {ident}")
    errors = sum(sc.errors for sc in scores.values())
    ok = not failing and not errors and not (stale and args.min_score)
    summary = {
        "files": {
            f: {
                "score": round(sc.score, 1),
                "killed": sc.killed + sc.timeout,
                "survived": sc.survived,
                "equivalent": sc.equivalent,
                "timeouts": sc.timeout,
                "errors": sc.errors,
            }
            for f, sc in scores.items()
        },
        "min_score": args.min_score,
        "below_min": failing,
        "stale_equivalents": stale,
        "seconds": round(elapsed, 1),
        "ok": ok,
    }
    print(json.dumps(summary))
    return 0 if ok else 1


def _line_of(ident: str) -> int:
    m = re.match(r"^[^:]+:(\d+)", ident)
    return int(m.group(1)) if m else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("files", nargs="*", help=f"engine files (default: {DEFAULT_FILES})")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per mutant")
    parser.add_argument("--min-score", type=float, default=0.0, help="exit 1 below this")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument("--progress", action="store_true", help="pytest and a count on stderr")
    parser.add_argument("--limit", type=int, default=0, help="run only the first N mutants")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
