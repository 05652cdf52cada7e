"""``hostapp replay FILES --compare [NAME] --sweep NAME.KEY=V1,V2,…``: the A/B of
:mod:`hostapp.ab` for every combination of some plugin settings, as one table.

Each combination is one same-entries run: the baseline's entries opened again with the
settings changed, so that only trade management differs, and its figures are the A/B's
own (:func:`hostapp.compare.build_report`). The baseline runs once for all the
combinations that cannot change it (the plugin under test is off in it); the free run of
the A/B is left out. Runs go through :class:`hostapp.parallel.Runs` (``--jobs``).

The host knows no plugin's settings: a value is checked by building a host with it, so
the plugin's own ``configure`` says what is wrong, before any run starts.

Tuning on the bars one then judges by fits their noise: the table warns so, and
``--split F`` picks the best row on the first part of the bars and replays it, and the
settings as configured, on the rest.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from hookspecs import Bar, ConfigError

from .ab import EXIT_DID_NOTHING, check_plugins, plugin_exists, preflight
from .ab_runs import Replay, RunSpec, execute
from .compare import RunResult, build_report, entry_script, idle_reason
from .compare_notes import notes, warnings
from .driving import EXIT_INTERRUPTED, LOG_NAME
from .parallel import Handle, Runs
from .progress import RunsProgress
from .report_files import write_json
from .sweep_table import (
    FIGURES,
    R_FIGURES,
    Change,
    Row,
    Setting,
    print_sweep,
    rank,
    shown,
    sweep_summary,
    used_settings,
    write_csv,
)

# -- the options ----------------------------------------------------------------------------


def parse_sweeps(texts: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """``NAME.KEY=V1,V2,…`` options as ``(NAME.KEY, values)``; values read as TOML
    (``1``, ``2.5``, ``true``, ``"x"``), else as plain text."""
    out: list[tuple[str, list[Any]]] = []
    for text in texts:
        key, eq, values = text.partition("=")
        key = key.strip()
        name, _, rest = key.partition(".")
        if not eq or not name or not rest or "" in rest.split("."):
            raise ConfigError(f"--sweep {text}: expected NAME.KEY=V1,V2,… (e.g. dtms.KEY=1,2)")
        items = [v.strip() for v in values.split(",")]
        if not all(items):
            raise ConfigError(f"--sweep {text}: an empty value")
        if key in (k for k, _ in out):
            raise ConfigError(f"--sweep {key}: given twice; list its values once")
        values_read: list[Any] = []
        for item, value in zip(items, map(_value, items), strict=True):
            if isinstance(value, float) and not math.isfinite(value):
                # TOML reads inf and nan: no setting is either, and they ran, or broke
                # the sweep (nan equals nothing, inf is no JSON number) with a traceback
                raise ConfigError(f"--sweep {key}={item}: expected a finite number")
            # -2 and -2.0 are one setting, run once
            if not any(_same(value, v) for v in values_read):
                values_read.append(value)
        out.append((key, values_read))
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal as settings: ``-2`` and ``-2.0`` are, ``true`` and ``1`` are not."""
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


def _value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _shown(change: Change) -> str:
    """``KEY=VALUE`` as a message names it: text quoted, the rest as the table shows it."""
    key, value = change
    return f"{key}={json.dumps(value) if isinstance(value, str) else shown(value)}"


def check_settings(
    plugin: str, against: str | None, replay: Replay, sweeps: Sequence[tuple[str, list[Any]]]
) -> tuple[list[Setting], list[tuple[Setting, str]]]:
    """The combinations to run, and those the plugins refuse with why (their own
    ``configure`` decides): a grid of ``fast`` and ``slow`` may hold pairs a strategy
    cannot take while the others are fine, and those are left out (README.md, Sweeps).

    A ConfigError for a key of a plugin that does not run in the comparison; for a value
    that is bad in itself, refused alone (every other setting as configured) *and* in
    every combination it is in; and when no combination is left, with each one's reason.
    A value refused in its combinations but taken alone is a bad pairing, not a bad
    value: ``to_l1=-3`` beside a swept ``to_l2=-2.5`` stops nothing while ``to_l1=-1``
    with it runs. The messages are the combinations' own, so they name the values swept;
    the check alone, which sets the other swept keys to their configured values, is
    never shown (it would name a value that was not in play)."""
    for key, _ in sweeps:
        name = key.partition(".")[0]
        if not plugin_exists(replay.config, name):
            raise ConfigError(f"--sweep {key}: no plugin named {name!r} (see `hostapp plugins`)")
    good: list[Setting] = []
    refused: list[tuple[Setting, str]] = []
    for setting in combinations(sweeps):
        try:
            _check(plugin, against, replay, setting)
        except ConfigError as exc:
            refused.append((setting, str(exc)))
        else:
            good.append(setting)
    for key, values in sweeps:
        for value in values:
            if any(_holds(setting, key, value) for setting in good):
                continue
            try:
                _check(plugin, against, replay, ((key, value),))
            except ConfigError:
                theirs = [(s, why) for s, why in refused if _holds(s, key, value)]
                raise ConfigError(_refused_outright((key, value), theirs)) from None
    if not good:
        raise ConfigError(_all_refused(refused))
    return good, refused


def _refused_outright(change: Change, theirs: Sequence[tuple[Setting, str]]) -> str:
    """A value refused alone and in every combination it is in, named first, then in the
    words of one of its combinations (those of the value alone, when one key is swept)."""
    (setting, why), n = theirs[0], len(theirs)
    if setting == (change,):
        return why
    where = "its one combination:" if n == 1 else f"all {n} combinations it is in, e.g."
    return f"--sweep {_shown(change)}: refused alone and in {where} {why}"


#: How many refused combinations an error lists before counting the rest.
SHOWN_REFUSED = 5


def _all_refused(refused: Sequence[tuple[Setting, str]]) -> str:
    """No combination left though no value is bad in itself: each pairing's reason, on
    one line (an error is one line), the first :data:`SHOWN_REFUSED` then a count."""
    every = "the only combination" if len(refused) == 1 else f"all {len(refused)} combinations"
    reasons = [why for _, why in refused[:SHOWN_REFUSED]]
    if len(refused) > SHOWN_REFUSED:
        reasons.append(f"and {len(refused) - SHOWN_REFUSED:,} more")
    return f"--sweep: the plugins refuse {every}, so none runs: {'; '.join(reasons)}"


def _holds(setting: Setting, key: str, value: Any) -> bool:
    """Whether ``setting`` sets ``key`` to ``value`` (:func:`_same`: ``1`` is not
    ``true``, which ``in`` would take it for, leaving a value refused everywhere unsaid)."""
    return any(k == key and _same(v, value) for k, v in setting)


def _check(plugin: str, against: str | None, replay: Replay, setting: Setting) -> None:
    shown = " ".join(_shown(c) for c in setting)
    try:
        running = preflight(plugin, against, replay, setting)
    except ConfigError as exc:
        # the value came from --sweep, not the file the plugin's message names
        why = str(exc).removeprefix(f"{replay.config.source} ")
        raise ConfigError(f"--sweep {shown}: {why}") from None
    idle = sorted({key.partition(".")[0] for key, _ in setting} - set(running))
    if idle:
        raise ConfigError(
            f"--sweep {shown}: plugin {idle[0]!r} does not run in the A/B of {plugin}"
        )


def combinations(sweeps: Sequence[tuple[str, list[Any]]]) -> list[Setting]:
    keys = [k for k, _ in sweeps]
    return [tuple(zip(keys, vs, strict=True)) for vs in itertools.product(*(v for _, v in sweeps))]


# -- the runs -------------------------------------------------------------------------------


def _baseline_part(plugin: str, setting: Setting) -> Setting:
    """The changes that reach the baseline: not those of ``plugin``, which is off there."""
    return tuple(c for c in setting if c[0].partition(".")[0] != plugin)


_Started = tuple[Setting, RunResult, Handle[RunResult]]


class _Sweep:
    """The runs of a sweep on some part of the bars (``data``), sharing baselines."""

    def __init__(self, runs: Runs[RunResult], plugin: str, against: str | None, data: str):
        self.runs, self.plugin, self.against, self.data = runs, plugin, against, data
        self.rival = (against,) if against else ()
        self._baselines: dict[Setting, Handle[RunResult]] = {}

    def baseline(self, setting: Setting) -> Handle[RunResult]:
        part = _baseline_part(self.plugin, setting)
        if part not in self._baselines:
            n = len(self._baselines)
            spec = RunSpec(
                "without", (self.plugin,), self.rival, settings=part,
                folder=f"sweep/{self.data}-baseline{n}", keep_state=False,
            )  # fmt: skip
            self._baselines[part] = self.runs.submit(f"{self.data} baseline", spec, self.data)
        return self._baselines[part]

    def start(self, i: int, setting: Setting) -> _Started | None:
        """Submit the same-entries run of ``setting`` once its baseline is done; ``None``
        when the runs were stopped first."""
        base = self.baseline(setting)
        without = self.runs.result(base)
        if without is None or without.interrupted:
            return None
        spec = RunSpec(
            "same_entries", self.rival, (self.plugin,), entry_script(without),
            settings=setting, folder=f"sweep/{self.data}-{i}", keep_state=False,
        )  # fmt: skip
        return setting, without, self.runs.submit(f"{self.data} #{i}", spec, self.data)

    def row(self, started: _Started) -> Row | None:
        """The figures of a started run, the A/B's own; ``None`` when it was dropped or
        stopped before the end of the bars (its figures cover only part of them, and
        would rank beside rows that saw all)."""
        setting, without, handle = started
        same = self.runs.result(handle, keep=False)
        if same is None or same.interrupted:
            return None
        report = build_report(self.plugin, without, same, None, self.against)
        paired = report["same_entries"]
        figures = {col: paired[part].get(key) for col, (part, key), _ in FIGURES}
        if not figures["pairs"]:  # no trade to judge the setting by: no R, not +0.00R
            figures.update(dict.fromkeys(R_FIGURES))
        idle = idle_reason(self.plugin, (same,), without)
        in_force = used_settings(same.summary)
        would_veto = dict(same.summary.get("entries_veto_overridden_by", {}))
        return Row(setting, figures, notes(report), warnings(report), idle, in_force, would_veto)

    def rows(self, settings: Sequence[Setting], into: list[Row]) -> list[Row]:
        """Every setting's row, into ``into`` as each comes (a second Ctrl-C, which does
        not wait for the runs, leaves those done there), its runs all submitted before the
        first is waited for."""
        started = [st for i, s in enumerate(settings, 1) if (st := self.start(i, s)) is not None]
        into.extend(row for st in started if (row := self.row(st)) is not None)
        return into


def split_series(series: Mapping[str, Sequence[Bar]], fraction: float) -> tuple[dict, dict]:
    """The bars before and from the time that leaves ``fraction`` of all bars before it."""
    times = sorted(b.time for bars in series.values() for b in bars)
    cut = times[min(len(times) - 1, int(len(times) * fraction))]
    first = {s: [b for b in bars if b.time < cut] for s, bars in series.items()}
    rest = {s: [b for b in bars if b.time >= cut] for s, bars in series.items()}
    first, rest = ({s: b for s, b in part.items() if b} for part in (first, rest))
    if not first or not rest:
        empty = "first" if not first else "last"
        raise ConfigError(
            f"--split {fraction}: the {empty} part would have no bars (of {len(times):,}); "
            f"leave bars on both sides, e.g. --split 0.7"
        )
    return first, rest


def _first_bar(series: Mapping[str, Sequence[Bar]]) -> datetime:
    """Where the held-out part begins, as a trader finds it in the file: the open time of
    its first bar (UTC)."""
    return min(bars[0].time for bars in series.values() if bars)


def _bars(series: Mapping[str, Sequence[Bar]]) -> int:
    return sum(len(bars) for bars in series.values())


# -- the command -----------------------------------------------------------------------------


def sweep_command(
    plugin: str,
    replay: Replay,
    texts: Sequence[str],
    *,
    against: str | None = None,
    split: float | None = None,
    jobs: int = 1,
    json_out: bool = False,
) -> int:
    """The sweep: checks, runs, the table, ``sweep.csv`` and ``sweep.json``; exit 130
    when interrupted (the rows done so far are reported), 3 when the plugin under test
    did nothing in any setting's run (a void A/B's code)."""
    sweeps = parse_sweeps(texts)
    check_plugins(replay.config, plugin, against)
    scratch = replay.report / "sweep"  # the runs' state folders, each gone after its run
    shutil.rmtree(scratch, ignore_errors=True)
    settings, refused = check_settings(plugin, against, replay, sweeps)
    for _, why in refused[:3]:
        print(f"hostapp: {why}; left out, the other combinations run", file=sys.stderr)
    if len(refused) > 3:
        print(f"hostapp: left out {len(refused) - 3} more (sweep.json has each)", file=sys.stderr)
    parts: dict[str, Replay] = {"all": replay}
    rest: Mapping[str, Sequence[Bar]] = {}
    if split is not None:
        first, rest = split_series(replay.series, split)
        # the held-out runs trade the rest only, their plugins warmed up on the first part
        # (the history a live run would have had), not cold at the cut
        held_out = replace(replay, trade_from=_first_bar(rest))
        parts = {"tune": replace(replay, series=first), "test": held_out}
    tune = "tune" if split is not None else "all"
    baselines = len({_baseline_part(plugin, s) for s in settings})
    display = RunsProgress(len(settings) + baselines + (3 if split else 0), "sweep")
    rows: list[Row] = []
    tested: list[tuple[str, Row]] = []
    aborted = False
    runs = Runs(execute, parts, jobs=min(jobs, display.expected), display=display)
    try:
        with runs:
            tuning = _Sweep(runs, plugin, against, tune)
            testing = _Sweep(runs, plugin, against, "test") if split is not None else None
            for setting in settings:
                tuning.baseline(setting)
            if testing is not None:
                testing.baseline(())  # beside the tuning: it does not depend on it
            ranked = rank(tuning.rows(settings, rows))
            if testing is not None and ranked and not runs.interrupted:
                labels = ("chosen", "as configured")
                got = testing.rows([ranked[0].setting, ()], [])
                tested = list(zip(labels, got, strict=False)) if len(got) == 2 else []
    except KeyboardInterrupt:  # a second Ctrl-C: the runs done are still reported
        aborted = True
    ranked = rank(rows)
    shutil.rmtree(scratch, ignore_errors=True)
    interrupted = aborted or runs.interrupted or len(rows) < len(settings)
    report = sweep_summary(plugin, against, sweeps, ranked, tested, split, replay, interrupted)
    report["refused"] = [{"settings": dict(s), "why": why} for s, why in refused]
    if split is not None:
        report["split"]["bars"] = {"tune": _bars(parts["tune"].series), "test": _bars(rest)}
        report["split"]["from"] = _first_bar(rest).isoformat()  # as every time in the JSON
    write_csv(replay.report / "sweep.csv", [k for k, _ in sweeps], ranked, tested, tune)
    write_json(replay.report / "sweep.json", report)
    print_sweep(replay.config, report, ranked, tested, [k for k, _ in sweeps], json_out)
    out = sys.stderr if json_out else sys.stdout
    print(f"\nsweep: {replay.report / 'sweep.csv'} and sweep.json", file=out)
    print(f"log: {replay.report / LOG_NAME}", file=out)
    if interrupted:
        print(
            f"hostapp: interrupted; the table has the {len(rows)} of {len(settings)} "
            "settings whose runs went through all the bars",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if ranked and all(row.idle for row in ranked):  # as a void A/B: nothing to tune
        void = f"{plugin} did nothing in any setting's run, so the sweep shows nothing"
        print(f"hostapp: {void}: {ranked[0].idle}", file=sys.stderr)
        return EXIT_DID_NOTHING
    return 0
