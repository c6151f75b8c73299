"""Who holds the state right now: the state lock, trace ownership and the trace recorder.

While ``nn.jit`` traces, or ``nn.value_and_grad`` / ``nn.functional_call`` run, tracers or
substituted values sit in shared boxes (a Parameter's array, a module's buffer dict). Three
things keep that safe (``docs/design.md``, "Threads"):

* :data:`STATE_LOCK`, a re-entrant lock held for the whole time values are swapped in, and
  for every ``nn.jit`` call (read the state, dispatch, write back), so concurrent calls from
  several threads behave as if run one after another;
* the swap owner: a reader on another thread that finds a tracer in a box waits for the
  owner to finish (:func:`wait_if_foreign`) instead of picking the tracer up;
* per-thread trace facts (:func:`jit_depth`, :func:`recorder`): which ``nn.jit`` traces this
  thread is inside and what the innermost one has read and written so far.

The :class:`TraceRecorder` is how ``nn.jit`` learns which plain attributes a trace depended on
(its guards) and which Python-side changes it made: while it records, reading an instance
attribute of a module or an optimizer goes through :func:`_recording_getattribute`, installed
on those classes only for the duration of a trace.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["STATE_LOCK", "swapped_state", "wait_if_foreign", "jit_depth", "recorder",
           "TraceRecorder", "recording", "note_side_effect", "UNTRACKED_NAMES"]

STATE_LOCK = threading.RLock()
_swap = {"owner": None, "depth": 0}


class _Local(threading.local):
    jit_depth = 0
    recorder: TraceRecorder | None = None


_local = _Local()


@contextlib.contextmanager
def swapped_state():
    """Hold :data:`STATE_LOCK` and mark this thread as the one whose values sit in the boxes."""
    with STATE_LOCK:
        me = threading.get_ident()
        previous = _swap["owner"]
        _swap["owner"] = me
        try:
            yield
        finally:
            _swap["owner"] = previous


def wait_if_foreign() -> bool:
    """Called by a reader that found a tracer in a box: if another thread is tracing, wait
    until it has restored the values and return True (the caller reads again)."""
    owner = _swap["owner"]
    if owner is None or owner == threading.get_ident():
        return False
    with STATE_LOCK:
        return True


def jit_depth() -> int:
    """How many ``nn.jit`` traces this thread is inside."""
    return _local.jit_depth


@contextlib.contextmanager
def inside_jit_trace():
    _local.jit_depth += 1
    try:
        yield
    finally:
        _local.jit_depth -= 1


def note_side_effect(what: str) -> None:
    """Report that a jnn object outside the collected state changed its own Python state
    while a trace runs (an LR scheduler stepping inside the step): the trace's program is
    then used for one call only, so the change happens on every call."""
    rec = _local.recorder
    if rec is not None:
        rec.side_effects.append(what)


def recorder() -> TraceRecorder | None:
    """The recorder of the innermost ``nn.jit`` trace on this thread, or ``None``."""
    return _local.recorder


# Attributes whose contents are structure that the state collector reads itself (and
# guards through the epoch), so a read of them is not a guard.
UNTRACKED_NAMES = frozenset({
    "__dict__", "__class__", "_parameters", "_buffers", "_modules",
    "_non_persistent_buffers_set", "training", "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs", "_forward_hooks", "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called", "_backward_pre_hooks", "_backward_hooks",
    "_state_dict_hooks", "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
    "_load_state_dict_post_hooks", "param_groups", "state", "_optimizer_step_pre_hooks",
    "_optimizer_step_post_hooks", "_jnn_static_views",
})


class TraceRecorder:
    """What one trace read and wrote on jnn objects (filled while it records).

    ``reads``: ``{(id(obj), name): (obj, name, value)}``, the value at the first read;
    ``writes``: ``{(id(obj), name): (obj, name, value_before)}`` for writes to objects in
    ``watched`` (the reachable state); ``copies``: shallow copies of mutable containers taken
    at their first read, to restore them if the trace left tracers inside; ``grads_read``:
    ids of the gradient-slot containers (``param.__dict__``) whose incoming ``.grad`` the trace
    read before writing it (the others' incoming gradients are not inputs of the program).
    """

    __slots__ = ("watched", "reads", "writes", "copies", "grads_read", "grads_written",
                 "side_effects")

    def __init__(self, watched: Iterable[Any]):
        self.watched = {id(o) for o in watched}
        self.reads: dict = {}
        self.writes: dict = {}
        self.copies: dict = {}
        self.grads_read: set = set()
        self.grads_written: set = set()
        self.side_effects: list = []

    def note_grad(self, param, read: bool) -> None:
        ident = id(param.__dict__)  # the container of the Parameter's gradient slot
        if not read:
            self.grads_written.add(ident)
        elif ident not in self.grads_written:
            self.grads_read.add(ident)

    def note_read(self, obj, name: str, value) -> None:
        key = (id(obj), name)
        if key in self.reads or key in self.writes:
            return  # a value written first and read back is the trace's own
        self.reads[key] = (obj, name, value)
        if isinstance(value, (list, dict, set)):
            self.copies[key] = value.copy()

    def note_write(self, obj, name: str, before) -> None:
        if id(obj) in self.watched:
            self.writes.setdefault((id(obj), name), (obj, name, before))


def _recording_getattribute(self, name):
    value = object.__getattribute__(self, name)
    rec = _local.recorder
    if rec is not None and name not in UNTRACKED_NAMES:
        d = object.__getattribute__(self, "__dict__")
        if name in d:
            rec.note_read(self, name, value)
    return value


_installed: dict[str, Any] = {"count": 0, "classes": ()}


@contextlib.contextmanager
def recording(rec: TraceRecorder, classes: tuple):
    """Record reads of instance attributes of ``classes`` (and writes reported by them)
    on this thread while the block runs."""
    with STATE_LOCK:
        if _installed["count"] == 0:
            for cls in classes:
                # Assigning __getattribute__ on the base class re-points the attribute slot
                # of every subclass; deleting it afterwards restores object's own.
                cls.__getattribute__ = _recording_getattribute
            _installed["classes"] = classes
        _installed["count"] += 1
        outer = _local.recorder
        _local.recorder = rec
        try:
            yield rec
        finally:
            _local.recorder = outer
            _installed["count"] -= 1
            if _installed["count"] == 0:
                for cls in _installed["classes"]:
                    del cls.__getattribute__
                _installed["classes"] = ()
