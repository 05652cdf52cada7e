"""Typed application state (``web.AppKey``), in a module of its own so that routes added
later (the dashboard, ``/metrics``) can reach the service without importing the factory."""

from __future__ import annotations

from aiohttp import web

from .service import DtmsService
from .settings import ServerSettings

SERVICE_KEY = web.AppKey("dtms_service", DtmsService)
SETTINGS_KEY = web.AppKey("dtms_server_settings", ServerSettings)
