"""The DTMS API server (``dtms serve``): a headless host running the local engine on its
own broker connection and exposing trade states over HTTP (docs/architecture.md §9)."""

from __future__ import annotations

from .app import create_app
from .keys import SERVICE_KEY, SETTINGS_KEY
from .service import DtmsService, Runtime
from .settings import ServerSettings

__all__ = ["SERVICE_KEY", "SETTINGS_KEY", "DtmsService", "Runtime", "ServerSettings", "create_app"]
