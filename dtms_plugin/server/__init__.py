"""The DTMS API server: the application DTMS mounts on a serving host (``hostapp serve``,
``dtms serve``), running the local engine on the host's broker connection and exposing
trade states over HTTP (docs/dtms.md)."""

from __future__ import annotations

from .app import create_app
from .keys import SERVICE_KEY, SETTINGS_KEY
from .service import DtmsService
from .settings import ServerSettings

__all__ = ["SERVICE_KEY", "SETTINGS_KEY", "DtmsService", "ServerSettings", "create_app"]
