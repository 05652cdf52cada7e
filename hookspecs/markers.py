"""The pluggy markers of the ``hostapp`` project.

A plugin marks its hook functions with :data:`hookimpl`; the host registers the
specifications marked with :data:`hookspec`. Both are bound to the project name
``hostapp``, which is also the entry-point group plugins are installed under.
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "hostapp"
ENTRY_POINT_GROUP = "hostapp"
#: Plugins installed here run only when ``[plugins] enabled`` names them (baselines,
#: alternatives to compare): installing one never changes what a host does by itself.
OPTIONAL_ENTRY_POINT_GROUP = "hostapp.optional"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
