"""A plugin object this module does not make: it names another module's, which cannot be
copied (it holds a lock), so executing this module afresh gives the same object."""

from support.hostapp_stateful_plugin import locked

__all__ = ["locked"]
