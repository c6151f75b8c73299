"""``nn.jit``: one XLA program per step, exactly as the step runs eagerly.

The contract and the mechanism are in ``docs/design.md`` ("State and nn.jit"); in short:

* **State.** The first call collects the state reachable from the stateful arguments
  (``jnn._state.collector``): slots for every parameter, ``.grad``, buffer, array attribute,
  optimizer state entry, numeric hyper-parameter and random-stream key, plus the *structure
  signature* (every static fact the slot layout depends on). Each call reads the slot values,
  calls one ``jax.jit``-compiled pure function and writes back the values the step changed.
* **Guards.** A compiled *variant* is reused only while everything it depended on still
  holds: the structure signature (re-computed only when the mutation epoch moved, i.e. after
  some structural change anywhere), the plain attributes the trace read (recorded while
  tracing; immutable ones re-checked with the structure, mutable ones such as lists and dicts
  on every call), the zero-ness of hyper-parameters (checked every call with the values). A
  failed guard selects another variant or traces a new one; it never runs a stale program.
* **Side effects.** A trace that changed Python-level state (an attribute, a param group
  option, a registry) did so only while tracing, so its program is used for that call only;
  the next call traces again (and after repeated retraces nn.jit warns, naming what changed).
  Arrays a step assigns to new attributes come out of the program and are written back.
  A traced array left in a Python container raises instead of leaking.
* **Threads.** Every call holds ``jnn._state.context.STATE_LOCK`` from reading the state to
  writing it back, so concurrent calls behave as if made one after another.

``nn.pmap`` builds on this class through its documented extension points
(:meth:`Jit.prepare_entry`, :meth:`Jit.program`, :meth:`Jit.run_traced`).
"""
from __future__ import annotations

import functools
import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from .._placement import put_global
from .._state import collect, context, epoch, is_stateful, tracing
from .._state.collector import StaleStateError, StateCollector
from .._state.static import TooLarge, freeze, is_array, rebuild, split
from .._state.tracking import write_value
from ..amp.autocast_mode import autocast_signature
from ..modules.hooks import global_hooks_signature
from ..modules.module import Module
from ..optim.optimizer import Optimizer
from ..parameter import Parameter
from ..random import default_generator
from .channels_last import run_channels_last

__all__ = ["jit", "Jit", "JitRecompileWarning"]

_DYNAMIC_TYPES = (jax.Array, np.ndarray, np.generic, int, float, complex)
_STATIC_SCALARS = (bool, np.bool_, type(None), str)
# Classes whose instance-attribute reads become guards while a trace records.
_RECORDED_CLASSES = (Module, Optimizer)
_MISSING = object()
_MAX_ENTRIES = 8           # cached state views per function (alternating models stay cached)
_WARN_AFTER_RETRACES = 4   # consecutive single-use traces before nn.jit explains why
_CHANNELS_LAST = True      # private switch (tests, benchmarks): the CPU layout rewrite


class JitRecompileWarning(UserWarning):
    """``nn.jit`` keeps tracing again because the step changes Python state while tracing."""


class _Retry(Exception):
    """Raised inside a trace: a ``.grad`` left out of the inputs was read after all."""


def _classify(value: Any) -> str:
    """``"state"`` objects go through slots, ``"dyn"`` values are traced, ``"static"`` ones
    are part of the compile key, ``"tree"`` containers are classified leaf by leaf."""
    if is_stateful(value):
        return "state"
    if isinstance(value, _STATIC_SCALARS) or callable(value):
        return "static"
    if isinstance(value, _DYNAMIC_TYPES):
        return "dyn"
    if isinstance(value, (tuple, list, dict)):
        return "tree"
    return "static"


def _unbox(tree):
    """Parameters in an output become their arrays (a jitted function returns arrays)."""
    return jax.tree_util.tree_map(lambda x: x._data if isinstance(x, Parameter) else x, tree,
                                  is_leaf=lambda x: isinstance(x, Parameter))


def _contains_tracer(value) -> bool:
    if isinstance(value, jax.core.Tracer):
        return True
    if isinstance(value, Parameter):
        return isinstance(value._data, jax.core.Tracer)
    if type(value) in (list, tuple, dict):
        return any(isinstance(leaf, jax.core.Tracer) for leaf in split(value)[0])
    return False


def _frozen(value):
    if value is _MISSING:
        return ("missing",)
    try:
        return freeze(value)
    except TooLarge:
        return ("id", id(value)), False


def context_signature() -> tuple:
    """Process-wide facts a trace depends on besides its arguments: global module hooks
    (they run while tracing), whether 64-bit types are enabled and the autocast regions."""
    return (global_hooks_signature(),
            bool(jax.config.jax_enable_x64),  # type: ignore[attr-defined]  # (no stub)
            autocast_signature())


class _Call:
    """One call's arguments, split into state objects, traced values and a layout."""

    __slots__ = ("objects", "dyn", "layout_id", "key")

    def __init__(self, objects, dyn, layout_id):
        self.objects = objects
        self.dyn = dyn
        self.layout_id = layout_id
        self.key = tuple(map(id, objects))


class _Guard:
    """One plain attribute a trace read: ``objects[position].<name>`` must still freeze to
    ``key`` (``position`` is None for an object outside the collected state: held by
    reference)."""

    __slots__ = ("position", "ref", "name", "key", "volatile")

    def __init__(self, position, ref, name, key, volatile):
        self.position = position
        self.ref = ref
        self.name = name
        self.key = key
        self.volatile = volatile

    def current(self, entry: Entry):
        obj = entry.objects[self.position] if self.position is not None else self.ref()
        if obj is None:
            return _MISSING
        return obj.__dict__.get(self.name, _MISSING)

    def holds(self, entry: Entry) -> bool:
        return _frozen(self.current(entry))[0] == self.key

    def describe(self, entry: Entry) -> str:
        obj = entry.objects[self.position] if self.position is not None else self.ref()
        return f"{type(obj).__name__}.{self.name}"


class Variant:
    """One compiled variant of the step: the guards it was traced under and what nn.jit
    learnt while tracing it. ``id`` is the static argument of the ``jax.jit`` program."""

    __slots__ = ("id", "signature", "guards", "volatile_guards", "unread_grads", "single_use",
                 "retired", "extras", "python_writes", "reasons")

    def __init__(self, ident: int, signature):
        self.id = ident
        self.signature = signature
        self.guards: list = []
        self.volatile_guards: list = []
        self.unread_grads: frozenset | None = None  # unknown until traced
        self.single_use = False
        self.retired = False
        self.extras: list = []   # (position, where, name, template) of arrays made in the trace
        self.python_writes: dict = {}  # slot index -> a Python value the trace stored there
        self.reasons: list = []  # what made it single-use, for the warning

    def holds(self, entry: Entry) -> bool:
        return all(g.holds(entry) for g in self.guards) and \
            all(g.holds(entry) for g in self.volatile_guards)


class Entry:
    """The cached view of one set of state objects: slots, kinds and the selected variant.

    Extension interface (``nn.pmap``): ``slots`` (``(container, key)`` pairs), ``kinds``,
    ``writable``, ``collector`` (the :class:`~jnn._state.collector.StateCollector`) and
    ``objects`` (every collected object by position).
    """

    __slots__ = ("collector", "slots", "kinds", "writable", "objects", "epoch", "variant",
                 "hyper", "grad_slots", "volatile", "__weakref__")

    def __init__(self, collector: StateCollector, now: int):
        self.collector = collector
        self.slots = collector.slots()
        self.kinds = collector.kinds
        self.writable = collector.writable
        self.objects = collector.objects
        self.epoch = now
        self.variant: Variant = None  # type: ignore[assignment]  # (set before any call)
        self.hyper = [(i, c[k] == 0) for i, ((c, k), kind) in enumerate(zip(self.slots,
                                                                            self.kinds))
                      if kind == "hyper" and type(c[k]) in (int, float)]
        self.grad_slots = [i for i, kind in enumerate(self.kinds) if kind == "grad"]
        self.volatile = collector.volatile

    def volatile_ok(self) -> bool:
        for snapshot, expected in self.volatile:
            if snapshot() != expected:
                return False
        for guard in self.variant.volatile_guards:
            if not guard.holds(self):
                return False
        return True


class Jit:
    """The callable returned by :func:`jit`.

    Extension points for transforms built on it (``nn.pmap``; ``docs/design.md``):

    * :meth:`prepare_entry` runs after state is (re)collected, before the first dispatch;
    * :meth:`program` returns the pure function ``(values, dyn) -> (out, writes, extras)``
      that ``jax.jit`` compiles for one variant and layout;
    * :meth:`run_traced` is the default program body: it swaps the traced values into the
      slots, runs the user's function, and reports what it wrote;
    * :attr:`layout_rewrite`: whether top-level CPU calls may get the channels-last rewrite
      (``jnn/transforms/channels_last.py``); ``nn.pmap`` turns it off.
    """

    layout_rewrite = True  # (nn.pmap's programs are shard_maps: nothing to rewrite at top level)

    def __init__(self, fn: Callable, static_argnums: Sequence[int] = (),
                 static_argnames: Sequence[str] = (), donate_state: bool = False,
                 compiler_options: dict | None = None) -> None:
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._static_argnums = frozenset(static_argnums)
        self._static_argnames = frozenset(static_argnames)
        self._entries: OrderedDict = OrderedDict()
        self._variants: dict = {}
        self._variant_by_id: list = []
        self._layouts: list = []
        self._layout_ids: dict = {}
        self._plan: tuple | None = None
        self._trace_count = 0
        self._refresh_count = 0
        self._single_use_streak = 0
        self._warned = False
        self._scalar_cache: dict = {}
        self._local = threading.local()
        self._compiled = jax.jit(self._traced, static_argnums=(0, 1, 2),
                                 donate_argnums=(3,) if donate_state else (),
                                 compiler_options=compiler_options)

    # -- per call ----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        with context.STATE_LOCK:
            call = self._bind(args, kwargs)
            entry = self._entries.get(call.key)
            if entry is None or entry.epoch != epoch() or not entry.volatile_ok():
                entry = self._refresh(call)
            for _attempt in range(3):
                try:
                    values = self._read_values(entry)
                except (StaleStateError, KeyError):
                    entry = self._refresh(call)
                    continue
                try:
                    out, writes, extras = self._dispatch(entry, call, values)
                except _Retry:
                    continue
                break
            else:  # pragma: no cover - structure kept changing under us
                raise RuntimeError("nn.jit: the state kept changing while the call was prepared")
            self._write_back(entry, writes, extras)
            if entry.variant.single_use:
                self._retire(entry.variant)
            else:
                self._single_use_streak = 0
            return out

    def _read_values(self, entry: Entry) -> list:
        values = [c[k] for c, k in entry.slots]
        if entry.hyper:
            cache = self._scalar_cache
            for i, was_zero in entry.hyper:
                v = values[i]
                if type(v) in (int, float):
                    if (v == 0) != was_zero:
                        raise StaleStateError("a hyper-parameter changed between zero and "
                                              "non-zero")
                    key = (type(v), v)
                    arr = cache.get(key)
                    if arr is None:
                        if len(cache) > 4096:
                            cache.clear()
                        arr = cache[key] = jnp.asarray(v)
                    values[i] = arr
        unread = entry.variant.unread_grads
        if unread:
            for i in unread:
                values[i] = None
        self._local.substituted = unread or frozenset()
        return values

    def _dispatch(self, entry: Entry, call: _Call, values: list):
        self._local.active = (entry, call)
        try:
            return self._compiled(entry.variant.id, call.layout_id, self._channels_last(),
                                  values, call.dyn)
        except ValueError as error:
            if "incompatible devices" in str(error):
                raise _device_error(entry, values, call.dyn) from error
            raise
        finally:
            self._local.active = None

    def _write_back(self, entry: Entry, writes: dict, extras: list) -> None:
        slots = entry.slots
        for i, v in writes.items():
            c, k = slots[i]
            write_value(c, k, v)
        for i, v in entry.variant.python_writes.items():  # (a single-use variant's)
            c, k = slots[i]
            c[k] = v
        if extras:
            leaves = iter(extras)
            for position, where, name, template in entry.variant.extras:
                value = rebuild(template, leaves)
                obj = entry.objects[position]
                if where == "param":
                    param = obj._parameters.get(name)
                    if param is None:
                        obj.register_parameter(name, Parameter(value))
                    else:
                        param._data = value
                elif where == "buffer":
                    obj._buffers[name] = value
                else:
                    setattr(obj, name, value)

    # -- binding arguments ---------------------------------------------------------------------
    def _bind(self, args: tuple, kwargs: dict) -> _Call:
        plan = self._plan
        if (plan is not None and not kwargs and tuple(map(type, args)) == plan[0]
                and all(args[i] == v for i, v in plan[3])):
            # Fast path: same argument types (and static values) as last time.
            return _Call([args[i] for i in plan[1]], [args[i] for i in plan[2]], plan[4])
        layout_items: list[tuple] = []
        objects: list = []
        dyn: list = []
        cacheable = not kwargs
        for i, a in enumerate(args):
            kind = "static" if i in self._static_argnums else _classify(a)
            cacheable = cacheable and kind != "tree"
            layout_items.append((i, *self._place(kind, a, objects, dyn, i)))
        for name in sorted(kwargs):
            a = kwargs[name]
            kind = "static" if name in self._static_argnames else _classify(a)
            layout_items.append((name, *self._place(kind, a, objects, dyn, name)))
        layout = tuple(layout_items)
        layout_id = self._layout_ids.get(layout)
        if layout_id is None:
            layout_id = self._layout_ids[layout] = len(self._layouts)
            self._layouts.append(layout)
        if cacheable:
            self._plan = (tuple(map(type, args)),
                          tuple(p for p, kind, _ in layout if kind == "state"),
                          tuple(p for p, kind, _ in layout if kind == "dyn"),
                          tuple((p, ref) for p, kind, ref in layout if kind == "static"),
                          layout_id)
        return _Call(objects, dyn, layout_id)

    def _place(self, kind, value, objects, dyn, position):
        if kind == "state":
            objects.append(value)
            return "state", len(objects) - 1
        if kind == "dyn":
            dyn.append(value)
            return "dyn", len(dyn) - 1
        if kind == "tree":
            leaves, treedef = jax.tree_util.tree_flatten(value, is_leaf=is_stateful)
            refs = []
            for leaf in leaves:
                leaf_kind = _classify(leaf)
                if leaf_kind == "tree":  # (only empty containers remain as leaves)
                    leaf_kind = "static"
                refs.append(self._place(leaf_kind, leaf, objects, dyn, position))
            return "tree", (treedef, tuple(refs))
        try:
            hash(value)
        except TypeError:
            raise TypeError(f"nn.jit: argument {position!r} of type {type(value).__name__} is "
                            "neither an array, a jnn module/optimizer nor hashable; pass arrays "
                            "or mark it static with static_argnums") from None
        if isinstance(value, np.bool_):
            value = bool(value)
        return "static", value

    def _rebuild_args(self, layout, call: _Call, dyn):
        """The arguments for one trace: the call's state objects, the traced ``dyn`` values
        and the static values from the layout."""
        args, kwargs = [], {}
        for position, kind, ref in layout:
            value = self._rebuild_value(kind, ref, call.objects, dyn)
            if isinstance(position, int):
                args.append(value)
            else:
                kwargs[position] = value
        return args, kwargs

    def _rebuild_value(self, kind, ref, objects, dyn):
        if kind == "state":
            return objects[ref]
        if kind == "dyn":
            return dyn[ref]
        if kind == "tree":
            treedef, refs = ref
            return jax.tree_util.tree_unflatten(
                treedef, [self._rebuild_value(k, r, objects, dyn) for k, r in refs])
        return ref

    # -- collecting state and choosing a variant ---------------------------------------------
    def _refresh(self, call: _Call) -> Entry:
        self._refresh_count += 1
        collector = collect(call.objects, extra=(default_generator,))
        entry = Entry(collector, epoch())
        signature = (collector.structure(), context_signature())
        entry.variant = self._select_variant(signature, entry)
        self.prepare_entry(entry)
        entries = self._entries
        if entries.pop(call.key, None) is None:
            # Forget the entry when one of its objects dies (its id may then be reused).
            for obj in call.objects:
                try:
                    weakref.finalize(obj, _forget_entry, weakref.ref(self), call.key)
                except TypeError:  # not weak-referenceable: evicted by the size bound only
                    pass
        entries[call.key] = entry
        while len(entries) > _MAX_ENTRIES:
            entries.popitem(last=False)
        return entry

    def _select_variant(self, signature, entry: Entry) -> Variant:
        candidates = self._variants.setdefault(signature, [])
        for variant in candidates:
            if variant.holds(entry):
                return variant
        variant = Variant(len(self._variant_by_id), signature)
        self._variant_by_id.append(variant)
        candidates.append(variant)
        return variant

    def _retire(self, variant: Variant) -> None:
        variant.retired = True
        candidates = self._variants.get(variant.signature, [])
        if variant in candidates:
            candidates.remove(variant)
        for entry in self._entries.values():
            if entry.variant is variant:
                entry.epoch = -1  # choose again on the next call
        self._single_use_streak += 1
        if self._single_use_streak >= _WARN_AFTER_RETRACES and not self._warned:
            self._warned = True
            warnings.warn(
                f"nn.jit({getattr(self._fn, '__name__', 'fn')}): traced again on each of the "
                f"last {self._single_use_streak} calls because the step changes Python state "
                f"while tracing ({'; '.join(variant.reasons[:3])}). Such changes happen only "
                "when tracing, so nn.jit recompiles every call to stay exact. Keep values the "
                "step updates in arrays (a buffer, or an array attribute) to get one program.",
                JitRecompileWarning, stacklevel=3)

    # -- extension points --------------------------------------------------------------------
    def prepare_entry(self, entry: Entry) -> None:
        """Called after the state was (re)collected (``nn.pmap`` places it on its mesh).

        By default: when some state lives on a mesh (``nn.fully_shard``), state arrays not
        yet placed anywhere (the random stream's key, optimizer step counts) are placed
        replicated on that mesh now. The program returns them there, so the first call then
        sees the input shardings of every later one: one trace, not two.
        """
        mesh = None
        for c, k in entry.slots:
            v = c[k]
            if isinstance(v, jax.Array) and isinstance(v.sharding, NamedSharding) and \
                    len(v.sharding.device_set) > 1:
                mesh = v.sharding.mesh
                break
        if mesh is None:
            return
        replicated = NamedSharding(mesh, PartitionSpec())
        for (c, k), kind in zip(entry.slots, entry.kinds):
            v = c[k]
            if kind != "hyper" and isinstance(v, jax.Array) and not v.committed:
                c[k] = put_global(v, replicated)

    def program(self, entry: Entry, layout: tuple, variant: Variant, call: _Call) -> Callable:
        """The pure function ``(values, dyn) -> (out, writes, extras)`` to compile."""
        run = functools.partial(self.run_traced, entry, layout, variant, call)
        # State placed on several devices (nn.fully_shard) must come back as it came in, or
        # the next call would see other input shardings (a new program) and the memory
        # layout would drift; XLA's choice of output sharding is not bound to the input's.
        # This runs while tracing, before run_traced swaps tracers in, so the slots still
        # hold the call's arrays (docs/design.md, "Sharded training").
        placed = {}
        for i, (c, k) in enumerate(entry.slots):
            v = c[k]
            if isinstance(v, jax.Array) and len(v.sharding.device_set) > 1:
                placed[i] = (v.shape, v.sharding)
        if not placed:
            return run

        def keep_shardings(values, dyn):
            out, writes, extras = run(values, dyn)
            for i, v in writes.items():
                shape, sharding = placed.get(i, (None, None))
                if sharding is not None and v is not None and jnp.shape(v) == shape:
                    writes[i] = jax.lax.with_sharding_constraint(v, sharding)
            return out, writes, extras
        return keep_shardings

    # -- inside the trace --------------------------------------------------------------------
    def _channels_last(self) -> bool:
        """Whether this call's program carries convolution activations channels-last
        (``jnn/transforms/channels_last.py``): on CPU, for a call at top level only, as an outer
        transformation would differentiate or batch the program, whose ``custom_jvp`` rules
        the rewrite leaves out. A static argument of the compiled function, so that a program
        traced one way is never reused the other."""
        return (_CHANNELS_LAST and self.layout_rewrite
                and tracing.current_trace_kind() == tracing.EAGER
                and jax.default_backend() == "cpu")

    def _traced(self, variant_id, layout_id, channels_last, values, dyn):
        entry, call = self._local.active
        variant = self._variant_by_id[variant_id]
        self._trace_count += 1
        program = self.program(entry, self._layouts[layout_id], variant, call)
        if channels_last:
            return run_channels_last(program, values, dyn)
        return program(values, dyn)

    def run_traced(self, entry: Entry, layout: tuple, variant: Variant, call: _Call,
                   values, dyn):
        """Swap ``values`` into the slots, run the function, and return its output, the slot
        values it changed (by index) and the arrays it assigned to new places; every slot
        and attribute is restored afterwards."""
        slots, writable = entry.slots, entry.writable
        originals = [c[k] for c, k in slots]
        rec = context.TraceRecorder([*entry.collector.watched, *entry.collector.params])
        call_with_state = self._rebuild_args(layout, call, dyn)
        with context.swapped_state():
            try:
                for (c, k), v in zip(slots, values):
                    c[k] = v
                with context.inside_jit_trace(), context.recording(rec, _RECORDED_CLASSES):
                    out = self._fn(*call_with_state[0], **call_with_state[1])
                writes = {}
                for i, ((c, k), v) in enumerate(zip(slots, values)):
                    current = c[k]
                    if current is not v and writable[i]:
                        if current is None or isinstance(current, (jax.Array, np.ndarray)):
                            writes[i] = current
                        else:  # a Python value (a scheduler setting lr in the step): kept as is
                            variant.python_writes[i] = current
                extras = self._learn(entry, variant, rec, values)
                return _unbox(out), writes, extras
            finally:
                self._undo_trace_writes(rec)
                for (c, k), v in zip(slots, originals):
                    c[k] = v

    def _learn(self, entry: Entry, variant: Variant, rec: context.TraceRecorder,
               values) -> list:
        """Turn what the trace read and wrote into guards, side-effect facts and extra
        outputs (arrays assigned to places that are not slots)."""
        positions = entry.collector.positions
        attr_slots = {(id(c), k) for c, k in entry.slots}
        known = {(g.position, g.name) for g in (*variant.guards, *variant.volatile_guards)}
        for key, (obj, name, value) in rec.reads.items():
            first = rec.copies.get(key, value)  # (a container as it was when first read)
            if is_array(first) or _contains_tracer(first):
                continue  # arrays are slots (or constants of objects made in the trace)
            if obj.__dict__.get("_made_in_trace"):
                continue
            position = positions.get(id(obj))
            if (position, name) in known and position is not None:
                continue
            frozen, volatile = _frozen(value)
            if volatile and key in rec.copies:
                now = obj.__dict__.get(name, _MISSING)
                if now is value and _contains_tracer(now):
                    self._restore_container(value, rec.copies[key])
                    raise RuntimeError(
                        f"nn.jit: the step put a traced array into {type(obj).__name__}.{name} "
                        f"(a {type(value).__name__}); values computed inside a compiled step "
                        "cannot be kept in Python containers. Return them from the step, or "
                        "store them in a buffer or an array attribute.")
                if _frozen(now)[0] != _frozen(rec.copies[key])[0]:
                    variant.single_use = True
                    variant.reasons.append(f"{type(obj).__name__}.{name} was changed in place")
                frozen = _frozen(rec.copies[key])[0]
            ref = None if position is not None else _strong_or_weak(obj)
            guard = _Guard(position, ref, name, frozen, volatile)
            (variant.volatile_guards if volatile else variant.guards).append(guard)
            known.add((position, name))
        extras = []
        for (obj, name, before) in rec.writes.values():
            now, where = _written_value(obj, name)
            if _contains_tracer(now):
                container = _slot_container(obj, where)
                if container is not None and (id(container), name) in attr_slots:
                    continue  # an existing slot: written back through it
                position = positions.get(id(obj))
                if position is None or where not in ("attr", "buffer", "param"):
                    raise RuntimeError(
                        f"nn.jit: the step assigned a traced array to "
                        f"{type(obj).__name__}.{name}, which nn.jit cannot write back; "
                        "return it from the step instead.")
                leaves, template = split(now._data if where == "param" else now)
                variant.extras.append((position, where, name, template))
                extras.extend(leaves)
                variant.single_use = True
                variant.reasons.append(f"{type(obj).__name__}.{name} was assigned an array")
            elif _frozen(now)[0] != _frozen(before)[0]:
                variant.single_use = True
                label = name if isinstance(name, str) else repr(name)
                variant.reasons.append(f"{type(obj).__name__}.{label} changed")
        if rec.side_effects:
            variant.single_use = True
            variant.reasons.extend(rec.side_effects)
        read = {id(entry.slots[i][0]) for i in entry.grad_slots} & rec.grads_read
        read_slots = frozenset(i for i in entry.grad_slots if id(entry.slots[i][0]) in read)
        substituted: frozenset = getattr(self._local, "substituted", frozenset())
        if variant.unread_grads is None:
            # Gradients that came in as None and were not read stay out of the inputs: a
            # later call whose .grad holds an array (left by the previous step) then matches
            # this program instead of compiling another one.
            variant.unread_grads = frozenset(i for i in entry.grad_slots
                                             if values[i] is None) - read_slots
        else:
            variant.unread_grads = variant.unread_grads - read_slots
            if substituted & read_slots:
                raise _Retry
        return extras

    @staticmethod
    def _restore_container(container, copy) -> None:
        if isinstance(container, list):
            container[:] = copy
        elif isinstance(container, (dict, set)):
            container.clear()
            container.update(copy)

    @staticmethod
    def _undo_trace_writes(rec: context.TraceRecorder) -> None:
        """Take tracers the step assigned to new places back out (their values come out of
        the program and are written back after the call)."""
        for (obj, name, before) in rec.writes.values():
            now, where = _written_value(obj, name)
            if not _contains_tracer(now):
                continue
            if where == "param":
                if before is _MISSING:
                    del obj._parameters[name]
                else:
                    obj._parameters[name] = before
            elif where == "buffer":
                if before is _MISSING:
                    del obj._buffers[name]
                else:
                    obj._buffers[name] = before
            elif where == "attr":
                if before is _MISSING:
                    obj.__dict__.pop(name, None)
                else:
                    obj.__dict__[name] = before
            elif isinstance(obj, dict):
                dict.__setitem__(obj, name, before) if before is not _MISSING else \
                    dict.pop(obj, name, None)

    # -- introspection -----------------------------------------------------------------------
    @property
    def trace_count(self) -> int:
        """How many times ``fn`` has been traced (compiled); a test hook for retracing."""
        return self._trace_count

    @property
    def refresh_count(self) -> int:
        """How many times the reachable state was collected again (after a structural change
        somewhere); a test hook for the per-call fast path."""
        return self._refresh_count

    def lower(self, *args: Any, **kwargs: Any) -> Any:
        """Lower for the given arguments (``jax.jit(...).lower``), e.g. to inspect the HLO."""
        with context.STATE_LOCK:
            call = self._bind(args, kwargs)
            entry = self._refresh(call)
            values = self._read_values(entry)
            self._local.active = (entry, call)
            try:
                return self._compiled.lower(entry.variant.id, call.layout_id,
                                            self._channels_last(), values, call.dyn)
            finally:
                self._local.active = None


def _forget_entry(jit_ref, key) -> None:
    jitted = jit_ref()
    if jitted is not None:
        with context.STATE_LOCK:
            jitted._entries.pop(key, None)


def _written_value(obj, name):
    """The current value of a place the recorder saw written, and where it lives."""
    if isinstance(obj, Module):
        d = obj.__dict__
        if name in d["_parameters"]:
            return d["_parameters"][name], "param"
        if name in d["_buffers"]:
            return d["_buffers"][name], "buffer"
        return d.get(name, _MISSING), "attr"
    if isinstance(obj, dict):
        return obj.get(name, _MISSING), "item"
    if isinstance(obj, Parameter):
        return getattr(obj, name, _MISSING), "param-attr"
    return obj.__dict__.get(name, _MISSING), "object-attr"


def _slot_container(obj, where):
    if where == "attr" or where == "object-attr":
        return obj.__dict__
    if where == "buffer":
        return obj._buffers
    if where == "item":
        return obj
    return None


def _strong_or_weak(obj):
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


def _device_error(entry: Entry, values, dyn) -> ValueError:
    def devices_of(x):
        ds = getattr(x, "devices", None)
        return set(ds()) if callable(ds) else set()

    state_devices, input_devices = set(), set()
    for v in values:
        for leaf in jax.tree_util.tree_leaves(v):
            state_devices |= devices_of(leaf)
    for v in dyn:
        for leaf in jax.tree_util.tree_leaves(v):
            input_devices |= devices_of(leaf)
    found = sorted(map(str, state_devices | input_devices))
    return ValueError(
        "nn.jit: Expected all tensors to be on the same device, but found at least two devices, "
        f"{', '.join(found[:2])} (model/optimizer state on {sorted(map(str, state_devices))}, "
        f"inputs on {sorted(map(str, input_devices))}). Move the model with model.to(device) "
        "or the inputs with jax.device_put(x, device).")


def jit(fn: Callable | None = None, *, static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (), donate_state: bool = False,
        compiler_options: dict | None = None) -> Any:
    """Compile ``fn`` into one XLA program, with torch's in-place state semantics.

    Args:
        fn: a function whose arguments may include modules, optimizers, parameters and
            generators (directly, or inside lists/tuples/dicts), arrays and static values.
        static_argnums, static_argnames: arguments to treat as compile-time constants (bools,
            strings, ``None`` and callables always are).
        donate_state: let XLA reuse the state buffers for the new state (saves memory; arrays
            previously read from ``.data`` become invalid).
        compiler_options: XLA compiler options, as for ``jax.jit`` (e.g.
            ``{"xla_backend_optimization_level": 0}`` to compile faster).

    Returns:
        A callable with ``fn``'s signature. After each call, every parameter, buffer, array
        attribute, optimizer state, ``.grad`` and random-stream key that ``fn`` changed holds
        its new value, exactly as if ``fn`` had run eagerly.

    Guarantees (``docs/design.md``, "The nn.jit contract"): a change between calls to any
    static fact the step depends on (``requires_grad``, training mode, hooks, param-group
    options or membership, optimizer state, module attributes the step read, shapes, dtypes)
    is seen, and the step is traced again; arrays held in attributes are program inputs.
    Python values the step reads from globals or closures are compile-time constants, as
    under ``jax.jit``.

    Example:
        >>> @nn.jit
        ... def train_step(model, opt, x, y):
        ...     loss, grads = nn.value_and_grad(lambda m: criterion(m(x), y))(model)
        ...     opt.step(grads)
        ...     return loss
    """
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    if isinstance(static_argnames, str):
        static_argnames = (static_argnames,)
    if fn is None:
        return functools.partial(jit, static_argnums=static_argnums,
                                 static_argnames=static_argnames, donate_state=donate_state,
                                 compiler_options=compiler_options)
    return Jit(fn, static_argnums, static_argnames, donate_state, compiler_options)
