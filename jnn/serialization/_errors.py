"""The checkpoint errors, and how messages name a file and the values read from it."""
from __future__ import annotations

import os
import pickle
import reprlib
from typing import Any


class CheckpointError(RuntimeError):
    """A checkpoint file is corrupt, truncated, or in a format jnn cannot read."""

    __module__ = "jnn.serialization"  # where users import it from (and how it pickles)


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint asks to call or build something outside the weights-only allowlist."""

    __module__ = "jnn.serialization"


def describe_file(f: Any) -> str:
    """How messages name ``f``: its path, a file object's ``name``, or its type."""
    if isinstance(f, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(f).__name__} object>"


# Values from a file can be nested 10^6 deep or be megabytes long: messages show a bounded
# prefix (reprlib stops at a depth and a length) instead of calling repr().
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 3, 60, 60, 40


def short_repr(value: Any) -> str:
    """A repr of a value read from a file, bounded in depth and length."""
    try:
        return _SHORT.repr(value)
    except Exception:  # e.g. an int too long to print
        return f"<{type(value).__name__}>"


def short_message(error: BaseException) -> str:
    """``type: message`` of a foreign exception, at most a few hundred characters."""
    try:
        text = str(error)
    except Exception:
        text = ""
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def naming_file(error: CheckpointError | UnsafeCheckpointError, source: str) -> BaseException:
    """``error`` with the file's name in front of its message (unless it names it already).

    The loader raises its errors without knowing the file; ``load`` adds the name here, once,
    so that every CheckpointError and UnsafeCheckpointError names the file.
    """
    if source in str(error):
        return error
    named = type(error)(f"{source}: {error}")
    named.__cause__ = error.__cause__
    named.__suppress_context__ = True
    return named
