"""Which keys of its ``[plugin.NAME]`` table a plugin read while it configured, so a key it
never read (a typo: ``limt = 1`` for ``limit``) is said instead of silently ignored.

A plugin whose ``configure`` checks its table (``hookspecs.parse_settings`` refuses an
unknown key) reads every key. One that asks for its keys by name
(``host.config_for(NAME).get("limit", 99)``) never sees a misspelled one: its risk limit
falls back to the default, and the shipped plugins.toml promises "a typo is an error
naming this file and key". So ``host.config_for`` hands out a :class:`ReadTable`, which
notes the keys asked for (iterating the table counts as reading every key), and after
the plugins configured, :func:`warn_unread` says the keys no one read, one WARNING per
plugin (and a warning in ``hostapp plugins``), as for a table of a plugin without a
``configure`` hook (:mod:`hostapp.loader`). A warning, not an error: a plugin may read a
key later, when it starts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hookspecs.settings import HOST_KEYS

if TYPE_CHECKING:
    from .config import HostConfig
    from .pluginhost import PluginHost


class ReadTable(dict[str, Any]):
    """A plugin's table (a copy of its own, as before: a plain dict to the plugin) that
    notes in ``read`` each key the plugin asked for."""

    def __init__(self, table: Mapping[str, Any], read: set[str]) -> None:
        super().__init__(table)
        self.read = read

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)

    def pop(self, key: str, *default: Any) -> Any:
        self.read.add(key)
        return super().pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().setdefault(key, default)

    def __iter__(self) -> Iterator[str]:
        self.read.update(super().keys())
        return super().__iter__()

    def keys(self) -> Any:
        self.read.update(super().keys())
        return super().keys()

    def items(self) -> Any:
        self.read.update(super().keys())
        return super().items()

    def values(self) -> Any:
        self.read.update(super().keys())
        return super().values()

    def copy(self) -> dict[str, Any]:
        self.read.update(super().keys())
        return dict(super().items())

    def __reversed__(self) -> Iterator[str]:
        self.read.update(super().keys())
        return super().__reversed__()

    def popitem(self) -> tuple[str, Any]:
        key, value = super().popitem()
        self.read.add(key)
        return key, value

    def __eq__(self, other: object) -> bool:
        self.read.update(super().keys())
        return super().__eq__(other)

    __hash__ = None  # a dict's: unhashable

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (a plugin's settings sent to a worker) as the plain dict it stands for:
        every key read, and no ``hostapp`` needed to unpickle it."""
        self.read.update(super().keys())
        return (dict, (dict(super().items()),))


def warn_unread(config: HostConfig, plugins: PluginHost, reads: Mapping[str, set[str]]) -> None:
    """One WARNING per enabled plugin with a ``configure`` hook whose table has keys it
    did not read while configuring (the host's own keys, ``timeout_seconds`` and the
    like, are read by the host)."""
    for info in plugins.listing():
        table = config.plugin_tables.get(info.name)
        if not table or info.status != "enabled" or "configure" not in info.hooks:
            continue
        read = reads.get(info.name, set())
        unread = sorted(k for k in table if k not in HOST_KEYS and k not in read)
        if unread:
            plugins.warn(
                info.name,
                f"{config.source} [plugin.{info.name}]: key(s) {', '.join(unread)} read by "
                "no one: the plugin did not ask for them while it configured (a typo?)",
            )
