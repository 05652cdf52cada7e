"""Deciding DTMS's two timeframes for a host (docs/dtms.md §1): ``timeframes = "auto"``
follows the host's own timeframe, and either way both must be buildable from the
market's finest bars.

Apart from :mod:`dtms_plugin.settings`, which only holds and checks the values a table
gives: this needs the host's timeframe and its data, known only at start-up (the plugin's
``configure``, ``dtms serve``), and its refusals name the data and the ways out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from hookspecs import ConfigError, Timeframe

from .settings import DtmsSettings


def for_host(
    settings: DtmsSettings,
    host_timeframe: str | None,
    base_timeframe: str,
    where: str,
    sources: Sequence[str] = (),
) -> DtmsSettings:
    """``settings`` with both timeframes decided for a host trading ``host_timeframe`` on
    a market whose finest bars are ``base_timeframe``. A market that cannot serve them is
    a ConfigError naming the setting at start-up, never an engine that logs an error
    every cycle and defends nothing; ``sources``, the data files whose own bars are
    ``base_timeframe`` (``hookspecs.BarSources``), are named in it: with several files of
    several spacings, the one too coarse."""
    base = Timeframe.parse(base_timeframe, "the market's base timeframe")
    resolved = _resolve(settings, host_timeframe, base, where)
    chosen = {"fast": settings.fast_timeframe, "signal": settings.signal_timeframe}
    for role, tf in (("fast", resolved.fast), ("signal", resolved.signal)):
        if not tf.can_build_from(base):
            key = f"{role}_timeframe" if chosen[role] else 'timeframes = "auto"'
            raise ConfigError(
                f"{where} {key}: DTMS needs {tf.value} bars (its {role} timeframe; the "
                f"host trades {host_timeframe}) but {_the_data(sources)} {base.value} bars, "
                f"from which {tf.value} bars cannot be built"
            )
    return resolved


def _the_data(sources: Sequence[str]) -> str:
    """Who has the too coarse bars: the data, or the files named (``EURUSD.csv has``)."""
    if not sources:
        return "the data has"
    return f"{', '.join(sources)} {'has' if len(sources) == 1 else 'have'}"


def _resolve(
    settings: DtmsSettings, host_timeframe: str | None, base: Timeframe, where: str
) -> DtmsSettings:
    fast = settings.fast_timeframe
    if not fast:
        if host_timeframe is None:
            raise ConfigError(
                f'{where} timeframes = "auto": this host does not say its timeframe; '
                "set fast_timeframe and signal_timeframe"
            )
        host_tf = Timeframe.parse(host_timeframe, "the host's timeframe")
        if host_tf.signal is None and not settings.signal_timeframe:
            raise ConfigError(_no_auto_signal(host_tf, base, where))
        fast = host_tf.value
    table = {f.name: getattr(settings, f.name) for f in fields(settings)}
    table["fast_timeframe"] = fast
    try:
        resolved = DtmsSettings(**table)
        table["signal_timeframe"] = resolved.signal.value
        return DtmsSettings(**table)
    except ValueError as exc:
        raise ConfigError(f"{where} {exc} (host timeframe {host_timeframe})") from None


def _no_auto_signal(host_tf: Timeframe, base: Timeframe, where: str) -> str:
    """Why "auto" gives a host trading on W1 or MN1 no signal timeframe, and the ways
    out that work on the data's ``base`` bars: the host's timeframe (``[host]
    timeframe``, ``replay --timeframe``) when the bars are finer (daily bars traded
    weekly), a monthly signal when months can be built from them; with neither (a file
    of weekly bars: weeks do not make months, nor days), only running without DTMS."""
    coarser = [tf for tf in Timeframe if tf.seconds > host_tf.seconds]
    ways = []
    cannot = f"; the data's {base.value} bars make no finer bars"
    if coarser:  # W1 watches, MN1 signals: months are built from the same bars
        nearest = min(coarser, key=lambda tf: tf.seconds)
        cannot += f" and no {nearest.value} bars"
        if nearest.can_build_from(base):
            ways.append(f'set signal_timeframe = "{nearest.value}" in [plugin.dtms]')
    if Timeframe.D1.can_build_from(base):
        ways.append("trade on D1 or a finer timeframe ([host] timeframe, or replay --timeframe)")
    # the host adds the environment variable when there is no plugins.toml to write it in
    ways.append('run without DTMS ([plugins] disabled = ["dtms"])')
    data = "" if ways[1:] else cannot
    return (
        f'{where} timeframes = "auto": DTMS watches trades on the host\'s {host_tf.value} '
        f'bars and reads its signals from a coarser timeframe, which "auto" chooses only '
        f"for D1 and finer (D1 with W1){data}: {', or '.join(ways)}"
    )
