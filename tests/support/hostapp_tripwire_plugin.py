"""A plugin module that must never be imported when it is disabled: importing it leaves a
trace in sys.modules, which is what the tests look for."""

from hookspecs import hookimpl


@hookimpl
def is_defensive() -> bool:
    return False
