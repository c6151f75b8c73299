"""The parity registry: every ``tests/cases/<family>.py`` contributes its cases.

A family module may define ``MODULE_CASES``, ``FUNCTION_CASES``, ``ERROR_CASES`` (lists) and
``EXEMPT`` (a dict from public name to the reason it has no parity case here, e.g. "tested in
tests/test_containers.py"). Collection is automatic: a new family file needs no registration.
"""
from __future__ import annotations

import importlib
import pkgutil

MODULE_CASES: list = []
FUNCTION_CASES: list = []
ERROR_CASES: list = []
EXEMPT: dict = {}

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    _family = importlib.import_module(f"{__name__}.{_info.name}")
    MODULE_CASES += getattr(_family, "MODULE_CASES", [])
    FUNCTION_CASES += getattr(_family, "FUNCTION_CASES", [])
    ERROR_CASES += getattr(_family, "ERROR_CASES", [])
    EXEMPT.update(getattr(_family, "EXEMPT", {}))
