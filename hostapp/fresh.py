"""Each run gets the plugin as it was imported, never as a previous run left it.

One process may run several times: the run of ``hostapp run`` then its A/B, the runs of
a replay's comparison or sweep one after another with ``--jobs 1``, the runs a worker
process takes in turn. A plugin that keeps state (a counter of bars, the tickets it has
open) must start each of them from nothing, or the second run's results depend on the
first and change with ``--jobs``. What "the plugin" is decides how:

* a class is instantiated for each run (as before);
* an object (``module:attr`` naming an instance) is deep-copied from a copy taken when it
  was first imported, before any run could change it; an object that cannot be copied
  (it holds a lock, a socket) is taken anew from its module executed afresh, as a module
  plugin is (below); only one its module does not make itself (imported from elsewhere)
  is shared, with one warning saying its state must be reset in ``configure``;
* a module (``module`` alone) is executed afresh from its source for each run, so its
  globals start as the file sets them. Only that module: the other modules of its
  package are imported once, and what the module does at import runs again each run
  (docs/plugins.md says so to plugin authors; a class entry point avoids both).

Objects handed to the loader directly (tests) are used as they are: the caller owns them.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
import logging
from types import ModuleType

from .logs import ONCE

log = logging.getLogger("hostapp.plugins")

#: ``module:attr`` → the object as first imported (copied before any run used it), or
#: ``None`` for one that cannot be copied (warned about once).
_as_imported: dict[str, object | None] = {}


def plugin_for_a_run(name: str, module_name: str, attr: str) -> object:
    """The plugin ``module_name[:attr]`` for one run (the module docstring says how)."""
    if not attr:
        return module_afresh(module_name)
    obj: object = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if inspect.isclass(obj):
        return obj()
    key = f"{module_name}:{attr}"
    if key not in _as_imported:
        _as_imported[key] = _copied(obj)
    kept = _as_imported[key]
    if kept is not None:
        return copy.deepcopy(kept)
    fresh: object = module_afresh(module_name)
    for part in attr.split("."):
        fresh = getattr(fresh, part)
    if fresh is obj and key not in _shared:  # made elsewhere: the same object again
        _shared.add(key)
        log.warning(
            "plugin %s (%s) cannot be copied for each run, and its module does not make "
            "it: every run shares one object, so it must reset its state in configure()",
            name,
            key,
            extra={ONCE: True},
        )
    return fresh


#: ``module:attr`` of the objects every run shares (warned about once).
_shared: set[str] = set()


def _copied(obj: object) -> object | None:
    """A copy of ``obj``, or ``None`` when it refuses copying (a lock, a socket)."""
    try:
        return copy.deepcopy(obj)
    except Exception:  # a plugin's own object: anything may refuse copying
        return None


def module_afresh(module_name: str) -> ModuleType:
    """A new module object executed from ``module_name``'s source, outside
    ``sys.modules`` (the imported one stays as it is for whoever imported it)."""
    imported = importlib.import_module(module_name)
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.loader is None:  # a module without a loader: nothing to rerun
        return imported
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
