"""Modules imported on first use rather than when a web process starts."""

import importlib.util
import sys


def lazy_import(name: str):
    """`name` as a module whose code runs on first attribute access (importlib's LazyLoader).

    For heavy modules that few requests need (spreadsheets, calendars): every web process would
    otherwise hold them in memory from the start."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
