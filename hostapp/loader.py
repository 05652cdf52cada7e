"""Find plugins, decide which may load, import those, and hand them to a PluginHost.

Order of business, and why:

1. Discover names without importing anything: the entry points of group ``hostapp``
   sorted by name (this distribution's own ``dtms`` and ``exits`` among them, like any
   third party's), after the plugin objects a caller hands in directly (tests). The
   entry-point name is the plugin's identity.
2. Check every name the configuration mentions (``disabled``, ``order``, ``[plugin.NAME]``,
   the two env variables) against what was discovered, so a typo is an error, not a
   silently ignored setting. One exception: ``[plugins] disabled`` naming a plugin not
   installed is a warning (and so is that plugin's table): a plugins.toml shared by
   several machines turns off an optional plugin that some of them lack; but a name a
   letter or two off an installed plugin's (``dtsm``) is the slip it looks like, an error.
3. Block disabled plugins in pluggy *before* importing anything: a disabled plugin's code
   never runs, which is the point of disabling a plugin that breaks at import.
4. Import the rest one by one; a failure is recorded against that plugin and the others
   still load (unless ``on_error = "raise"``).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint

from hookspecs import ConfigError
from hookspecs.markers import ENTRY_POINT_GROUP, OPTIONAL_ENTRY_POINT_GROUP
from hookspecs.settings import HOST_KEYS

from .config import DEFAULT_PATH, DISABLE_ENV, HostConfig
from .errors import PluginError
from .fresh import plugin_for_a_run
from .hookcalls import PluginSource, describe
from .logs import ONCE
from .pluginhost import PluginHost, PluginInfo

LOAD_ENV = "HOSTAPP_LOAD_PLUGINS"
#: Why an optional plugin is off: nobody turned it off, nobody named it in ``enabled``.
OPTIONAL_OFF = "optional (name it in [plugins] enabled)"

log = logging.getLogger("hostapp.plugins")


@dataclass(frozen=True)
class Candidate:
    """A discovered plugin, not yet imported."""

    name: str
    source: PluginSource
    target: object  # "module:attr" / "module", an EntryPoint, or the plugin object itself
    distribution: str | None = None
    version: str | None = None
    optional: bool = False  # runs only when ``[plugins] enabled`` names it

    def describe(self) -> str:
        if isinstance(self.target, EntryPoint):
            dist = f" from {self.distribution} {self.version}" if self.distribution else ""
            return f"entry point {self.target.value!r}{dist}"
        if isinstance(self.target, str):
            return f"builtin {self.target!r}"
        return f"builtin object {self.target!r}"


def discover(
    builtins: Mapping[str, str | object],
    entry_points: Iterable[EntryPoint],
    optional: Iterable[EntryPoint] = (),
) -> list[Candidate]:
    """Builtins sorted by name, then entry points (``optional``: off unless enabled)
    sorted by name; a name may come twice (:func:`_one_per_name` decides)."""
    from hostapp import __version__

    found: list[Candidate] = []
    for name in sorted(builtins):
        target = builtins[name]
        if isinstance(target, str):
            found.append(Candidate(name, "builtin", target, "hostapp", __version__))
        else:
            found.append(Candidate(name, "builtin", target))
    seen: set[tuple[str, str, str | None]] = set()
    flagged = [(ep, False) for ep in entry_points] + [(ep, True) for ep in optional]
    for ep, is_optional in sorted(flagged, key=lambda e: e[0].name):
        dist = getattr(ep, "dist", None)
        dist_name = dist.name if dist is not None else None
        if (ep.name, ep.value, dist_name) in seen:  # one distribution seen twice on sys.path
            continue
        seen.add((ep.name, ep.value, dist_name))
        version = dist.version if dist is not None else None
        found.append(Candidate(ep.name, "entry point", ep, dist_name, version, is_optional))
    return found


def _one_per_name(
    candidates: list[Candidate], disabled: Mapping[str, str], left_off: Callable[[Candidate], bool]
) -> tuple[list[Candidate], dict[str, str]]:
    """Each name once, and the names two plugins claim, with the error naming both: an
    error unless none of them would run: the name is disabled (plugins.toml or the
    environment), or both are optional plugins ``left_off`` (not enabled). Then neither
    loads, and the first stands for both in the listing (else a broken install would stop
    every command, even the one that disables it). An optional plugin left off does not
    excuse the other: an optional one named ``exits`` switched the host's exit manager
    off without a word."""
    by_name: dict[str, Candidate] = {}
    clashes: dict[str, str] = {}
    for c in candidates:
        first = by_name.get(c.name)
        if first is None:
            by_name[c.name] = c
        elif c.name not in disabled and not (left_off(first) and left_off(c)):
            clashes.setdefault(c.name, _same_name(first, c))
    return list(by_name.values()), clashes


def _same_name(first: Candidate, second: Candidate) -> str:
    """Two plugins claim one name: the error says both, and the ways out (the name is the
    plugin's identity, so the host cannot guess which one the user meant)."""
    dists = [c.distribution for c in (first, second) if c.distribution not in (None, "hostapp")]
    out = f"uninstall one of them (pip uninstall {dists[-1]}), or " if dists else ""
    return (
        f"two plugins are named {first.name!r}: {first.describe()} and {second.describe()}; "
        f"{out}switch the name off for both ([plugins] disabled, or "
        f"{DISABLE_ENV}={first.name} for one run)"
    )


def load_plugins(
    config: HostConfig,
    *,
    builtins: Mapping[str, str | object] | None = None,
    entry_points: Iterable[EntryPoint] | None = None,
    env: Mapping[str, str] | None = None,
    on_error: str | None = None,
    listing: bool = False,
) -> PluginHost:
    """Build the PluginHost for ``config``. The keyword arguments exist for tests (and
    ``on_error`` and ``listing`` for ``hostapp plugins``, which must show failures rather
    than stop at one): ``builtins`` are plugins given by name (objects, classes or
    ``module:attr``) beside the installed entry points, which ``entry_points`` replaces.

    Raises ConfigError for configuration mistakes (a name two plugins claim among them,
    but for the ``listing``, where neither loads and the name is listed as failed, with
    why) and, with ``on_error = "raise"``, PluginError for the first plugin that fails to
    load.
    """
    if builtins is None:
        builtins = {}
    optional: Iterable[EntryPoint] = ()
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        optional = importlib.metadata.entry_points(group=OPTIONAL_ENTRY_POINT_GROUP)
    if env is None:
        env = os.environ
    candidates = discover(builtins, entry_points, optional)
    known = [c.name for c in candidates]
    disabled = _disabled(config, env, known)
    problem = _unknown(config.plugins.enabled, known)
    if problem:
        raise ConfigError(f"{config.source} [plugins] key 'enabled': {problem}")
    allowed = _names(env[LOAD_ENV]) if LOAD_ENV in env else []

    def left_off(c: Candidate) -> bool:
        return c.optional and c.name not in config.plugins.enabled and c.name not in allowed

    candidates, clashes = _one_per_name(candidates, disabled, left_off)
    if clashes and not listing:
        raise ConfigError(next(iter(clashes.values())))
    for c in candidates:
        if left_off(c):
            disabled.setdefault(c.name, OPTIONAL_OFF)
    _check_config_names(config, known)
    mode = on_error or config.plugins.on_error
    host = PluginHost(order=config.plugins.order, on_error=mode, tables=config.plugin_tables)
    unused = nothing_to_disable(config, known)
    if unused is not None:
        host.config_warnings.append(unused)
        log.warning("%s", unused, extra={ONCE: True})
    for name in disabled:
        host.pm.set_blocked(name)
    for c in candidates:
        info = PluginInfo(c.name, c.distribution, c.version, c.source)
        if c.name in disabled:
            info.status = "optional" if disabled[c.name] == OPTIONAL_OFF else "disabled"
            host.record(info)
            log.info("plugin %s disabled by %s", c.name, disabled[c.name])
            if disabled[c.name] == OPTIONAL_OFF and c.name in config.plugin_tables:
                host.warn(c.name, _unread_table(config, c.name))
            continue
        if c.name in clashes:  # the listing's: neither loads, and the row says why
            info.status, info.error = "failed", f"rejected: {clashes[c.name]}"
            info.failed_in = "rejected"
            host.record(info)
            continue
        try:
            obj = _load(c)
        except KeyboardInterrupt:
            raise  # the command's Ctrl-C, wherever in the import it landed
        except BaseException as exc:  # a module that calls sys.exit() at import too
            why = _why_not_loaded(exc)
            info.status, info.error, info.failed_in = "failed", f"load: {why}", "load"
            host.record(info)
            # a warning: the command that runs it stops in one line (refuse_unloaded)
            log.warning("plugin %s failed to %s", c.name, info.error)
            if mode == "raise":
                raise PluginError(c.name, f"failed to load: {why}") from exc
            continue
        host.register(c.name, obj, info)
    _warn_unchecked_tables(config, host)
    return host


def refuse_unloaded(config: HostConfig, host: PluginHost) -> None:
    """A ConfigError, in one line, when an enabled plugin failed to load (its import
    raised, its entry point names nothing, its registration was rejected): naming each,
    why, and how to switch it off. A command that trades (or serves) does not start
    without it: a risk guard that cannot load would otherwise let every order through
    for the whole run, said once in the log (docs/architecture.md §4, "Loading").
    ``hostapp plugins`` does not call it: it lists such a plugin as failed, with why."""
    broken = [i for i in host.listing() if i.status == "failed"]
    if not broken:
        return
    names = [i.name for i in broken]
    one = len(broken) == 1
    it = "it" if one else "them"
    listed = ", ".join(f'"{n}"' for n in names)
    optional = [n for n in names if n in config.plugins.enabled]
    if optional:  # switched on by name: off again by taking the name out
        where = f"take {', '.join(optional)} out of [plugins] enabled in {config.source}"
    elif config.defaults_only:
        where = f"[plugins] disabled = [{listed}] in a new {DEFAULT_PATH}"
    else:
        where = f"[plugins] disabled = [{listed}] in {config.source}"
    raise ConfigError(
        f"{'; '.join(cannot_run(i) for i in broken)}; the host does not run without a "
        f"plugin it is told to run: fix {it}, or switch {it} off ({where}, or "
        f"{DISABLE_ENV}={','.join(names)} for one run)"
    )


def cannot_run(info: PluginInfo) -> str:
    """Why plugin ``info`` cannot run, in words: it failed to load, was rejected at
    registration, or its ``configure`` failed."""
    why = (info.error or "").partition(": ")[2]
    if info.failed_in == "load":
        return f"plugin {info.name!r} failed to load: {why}"
    if info.failed_in == "rejected":
        return f"plugin {info.name!r} was rejected: {why}"
    return f"plugin {info.name!r} failed: {info.error or 'unknown'}"


def _unread_table(config: HostConfig, name: str) -> str:
    """The table of an optional plugin not enabled: configured, so most likely meant to
    run, and silently left unread otherwise."""
    return (
        f"{config.source} [plugin.{name}] is not read: {name} is an optional plugin, off "
        f'until [plugins] enabled names it (enabled = ["{name}"] in {config.source})'
    )


def _warn_unchecked_tables(config: HostConfig, host: PluginHost) -> None:
    """A ``[plugin.NAME]`` table of an enabled plugin without a ``configure`` hook: no
    one checks its keys, so a typo would be silently ignored. A warning (one line, and in
    ``hostapp plugins``), not an error: such a plugin may still read its table later,
    through ``host.config_for``. A disabled plugin's table is not read at all: its code
    never runs, so nothing can say which keys it takes."""
    for info in host.listing():
        table = config.plugin_tables.get(info.name)
        if not table or info.status != "enabled" or "configure" in info.hooks:
            continue
        keys = sorted(k for k in table if k not in HOST_KEYS)
        if keys:
            host.warn(
                info.name,
                f"{config.source} [plugin.{info.name}]: key(s) {', '.join(keys)} checked by "
                f"no one: the plugin has no configure hook",
            )


def _why_not_loaded(exc: BaseException) -> str:
    """The exception a plugin's import raised, in words; a ``SystemExit`` with what it
    usually means: a script turned into a plugin, which parses the command line (the
    host's) or exits when imported (argparse's usage line before it is the module's)."""
    why = describe(exc)
    if isinstance(exc, SystemExit):
        why += (
            ": importing it exited (it calls sys.exit(), or parses the command line with "
            "argparse, when imported)"
        )
    return why


def _load(c: Candidate) -> object:
    """Import the plugin for this run (:mod:`hostapp.fresh`: a class is instantiated, an
    object copied as imported, a module executed afresh); an object handed in is used."""
    target = c.target
    if isinstance(target, EntryPoint):
        return plugin_for_a_run(c.name, target.module, target.attr or "")
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        return plugin_for_a_run(c.name, module_name, attr)
    return target() if inspect.isclass(target) else target


def _names(value: str) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()]


def switched_off_by_env(name: str, env: Mapping[str, str]) -> str | None:
    """Which environment variable keeps plugin ``name`` from loading, in words (the rule
    :func:`_disabled` applies); None when neither does."""
    if name in _names(env.get(DISABLE_ENV, "")):
        return f"{DISABLE_ENV} lists it"
    if LOAD_ENV in env and name not in _names(env[LOAD_ENV]):
        return f"{LOAD_ENV} does not list it"
    return None


def _unknown(names: Iterable[str], known: list[str]) -> str | None:
    missing = [n for n in names if n not in known]
    if not missing:
        return None
    return (
        f"no plugin named {', '.join(map(repr, missing))} "
        f"(known: {', '.join(sorted(known)) or 'none'})"
    )


def _disabled(config: HostConfig, env: Mapping[str, str], known: list[str]) -> dict[str, str]:
    """Disabled name → what disabled it: plugins.toml, then the env deny- and allow-list."""
    where = config.source
    for name in config.plugins.disabled:  # a slip would leave the plugin meant running
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        if name not in known and near:
            raise ConfigError(
                f"{where} [plugins] key 'disabled': no plugin named {name!r}: did you mean "
                f"{near[0]!r}? (a name no plugin here has is ignored, which would leave "
                f"{near[0]!r} running)"
            )
    disabled = {n: f"{where} [plugins] disabled" for n in config.plugins.disabled if n in known}
    if DISABLE_ENV in env:
        names = _names(env[DISABLE_ENV])
        problem = _unknown(names, known)
        if problem:
            raise ConfigError(f"{DISABLE_ENV}: {problem}")
        for n in names:
            disabled.setdefault(n, DISABLE_ENV)
    if LOAD_ENV in env:
        allowed = _names(env[LOAD_ENV])
        problem = _unknown(allowed, known)
        if problem:
            raise ConfigError(f"{LOAD_ENV}: {problem}")
        for n in known:
            if n not in allowed:
                disabled.setdefault(n, f"{LOAD_ENV} (not listed)")
    return disabled


def nothing_to_disable(config: HostConfig, known: list[str]) -> str | None:
    """``[plugins] disabled`` naming plugins not installed here, in words; None when it
    names none. Not an error (the module docstring): a warning, which ``hostapp run``
    logs and ``hostapp plugins`` shows, both from here."""
    problem = _unknown(config.plugins.disabled, known)
    if problem is None:
        return None
    named = problem.replace("no plugin named", "no plugin installed is named", 1)
    return f"{config.source} [plugins] disabled: {named}; nothing to switch off, so ignored"


def _check_config_names(config: HostConfig, known: list[str]) -> None:
    where = config.source
    problem = _unknown(config.plugins.order, known)
    if problem:
        raise ConfigError(f"{where} [plugins] key 'order': {problem}")
    for name in config.plugin_tables:
        problem = _unknown([name], known)
        if problem and name not in config.plugins.disabled:  # a disabled one's is unread
            raise ConfigError(f"{where} [plugin.{name}]: {problem}")
