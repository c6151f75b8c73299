"""The parity registry's case types and the machinery that checks them against PyTorch.

A family file in ``tests/cases/`` declares data only:

    MODULE_CASES = [ModuleCase("Conv2d", (3, 8, 3), dict(stride=2), input_shapes=[(2, 3, 9, 9)])]
    FUNCTION_CASES = [FunctionCase("relu", lambda rng: ((rng.standard_normal((3, 4)),), {}))]
    ERROR_CASES = [ErrorCase("Linear", lambda: nn.Linear(3, 4)(jnp.ones((2, 5))), ValueError,
                             r"expected .*3.*got.*5")]
    EXEMPT = {"Module": "the base class; tested in test_module.py"}

``tests/test_parity.py`` runs every case; ``tests/test_coverage.py`` fails when a public name
of ``jnn.modules``/``jnn.functional`` has neither a case nor an exemption with a reason.

Inputs are made with numpy from a seeded ``np.random.Generator`` and handed to both libraries,
so both see identical numbers; jnn's module receives torch's initial ``state_dict``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import torch

import jnn
import jnn.functional as F

__all__ = ["ModuleCase", "FunctionCase", "ErrorCase", "run_module_case", "run_function_case",
           "run_error_case", "to_numpy", "randn", "case_id", "gradient",
           "TEST_COMPILER_OPTIONS"]


# The programs the harness compiles itself (the ``nn.jit``/``jax.jit`` forward and the compiled
# gradient) run once, on tiny shapes: XLA's backend optimisation costs more time than it saves
# there. The level changes how the operations are turned into machine code, not which operations
# run; results are still compared at each case's tolerance. Eager calls keep the options users get.
TEST_COMPILER_OPTIONS = {"xla_backend_optimization_level": 0}


def randn(*shape, dtype=np.float32):
    """An input factory: ``inputs=randn((2, 3))`` gives one standard-normal float input."""
    def make(rng):
        return tuple(rng.standard_normal(s).astype(dtype) for s in shape)
    return make


@dataclass
class ModuleCase:
    """One configuration of a layer, compared against ``torch.nn.<torch_name>``.

    Attributes:
        name: the jnn class name (``jnn.<name>``).
        args, kwargs: constructor arguments, given to both libraries.
        input_shapes: float32 standard-normal inputs of these shapes; or
        inputs: ``rng -> tuple`` of numpy arrays / Python values (ints, masks, ...).
        forward_kwargs: keyword arguments for the call (numpy arrays are converted).
        dtype: "float32" or "float64" (module and float inputs are cast to it).
        grad: compare gradients with respect to float inputs and every parameter.
        training: the mode both modules run in.
        outputs: maps the (numpy-converted) output to the arrays compared; default: all.
        random: the output is random; only shapes and dtypes are compared.
        torch_args/torch_kwargs: constructor arguments for torch when they differ.
        check_jit: ``nn.jit`` of the call must equal the eager call.
    """
    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    input_shapes: Sequence[tuple] = ()
    inputs: Optional[Callable[[np.random.Generator], tuple]] = None
    forward_kwargs: dict = field(default_factory=dict)
    desc: str = ""
    dtype: str = "float32"
    rtol: float = 1e-4
    atol: float = 1e-5
    grad: bool = True
    training: bool = True
    check_jit: bool = True
    check_repr: bool = True
    check_state_dict: bool = True
    random: bool = False
    torch_name: Optional[str] = None
    torch_args: Optional[tuple] = None
    torch_kwargs: Optional[dict] = None
    outputs: Optional[Callable[[Any], Sequence[np.ndarray]]] = None
    setup: Optional[Callable[[Any, Any], None]] = None  # (torch_module, jnn_module) -> None

    def make_inputs(self, rng):
        if self.inputs is not None:
            made = self.inputs(rng)
        else:
            made = tuple(rng.standard_normal(s).astype(np.float32) for s in self.input_shapes)
        return tuple(_cast_float(a, self.dtype) for a in made)


@dataclass
class FunctionCase:
    """One call of ``jnn.functional.<name>`` compared against ``torch.nn.functional.<name>``.

    Attributes:
        inputs: ``rng -> (args, kwargs)``; numpy arrays anywhere in them are converted to each
            library's arrays, everything else is passed as is.
        grad: compare gradients with respect to every floating array argument (except those
            named in ``nondiff``: positions in args or names in kwargs).
        torch_fn / jnn_fn: override the callables (default: same name in both ``functional``s).
        outputs: maps the numpy-converted output to the arrays compared.
    """
    name: str
    inputs: Callable[[np.random.Generator], tuple]
    desc: str = ""
    grad: bool = True
    nondiff: tuple = ()
    rtol: float = 1e-4
    atol: float = 1e-5
    check_jit: bool = True
    random: bool = False
    torch_fn: Optional[Callable] = None
    jnn_fn: Optional[Callable] = None
    outputs: Optional[Callable[[Any], Sequence[np.ndarray]]] = None
    x64: bool = False  # run the jnn side with 64-bit types enabled


@dataclass
class ErrorCase:
    """Bad input: ``fn()`` must raise ``exc`` with a message matching the regex ``match``.

    ``torch_fn``, when given, is the same call in torch, which must raise too: the case then
    proves jnn refuses exactly what torch refuses (a dtype mismatch, an invalid index), not
    merely that jnn raises.
    """
    name: str
    fn: Callable[[], Any]
    exc: Any = ValueError
    match: str = ""
    desc: str = ""
    torch_fn: Optional[Callable[[], Any]] = None


def case_id(case) -> str:
    return f"{case.name}-{case.desc}" if case.desc else case.name


# -- conversion helpers -----------------------------------------------------------------------

def _cast_float(a, dtype):
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return a.astype(dtype)
    return a


def _is_float_array(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def to_numpy(out) -> list:
    """Flatten a (nested) output of either library into a list of numpy arrays."""
    if isinstance(out, torch.Tensor):
        return [out.detach().cpu().numpy()]
    if isinstance(out, (jax.Array, jnn.Parameter, np.ndarray, np.generic)):
        return [np.asarray(out)]
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in to_numpy(o)]
    if isinstance(out, dict):
        return [a for k in out for a in to_numpy(out[k])]
    if out is None:
        return []
    if hasattr(out, "_fields"):  # named tuples
        return [a for o in out for a in to_numpy(o)]
    if isinstance(out, (int, float, bool)):
        return [np.asarray(out)]
    raise TypeError(f"cannot convert output of type {type(out).__name__}")


def _leaves(tree):
    return jax.tree_util.tree_flatten(tree, is_leaf=lambda x: isinstance(x, np.ndarray) or x is None)


def _to_torch(a, requires_grad=False):
    if isinstance(a, np.ndarray):
        t = torch.from_numpy(np.array(a))
        if requires_grad:
            t.requires_grad_(True)
        return t
    return a


def _to_jax(a):
    return jnp.asarray(a) if isinstance(a, np.ndarray) else a


def _assert_like(got, want, what):
    """Random outputs: the same shapes and dtypes as torch's (the values are not compared).

    The dtype rule is ``_assert_close``'s: float widths equal, integer and bool kinds equal.
    """
    got, want = list(got), list(want)
    assert len(got) == len(want), f"{what}: jnn gave {len(got)} arrays, torch {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{what}[{i}]: shape {g.shape} != torch's {w.shape}"
        if w.dtype.kind == "f":
            ok = g.dtype.kind == "f" and g.dtype.itemsize == w.dtype.itemsize
        elif w.dtype.kind == "b":
            ok = g.dtype.kind == "b"
        else:
            ok = g.dtype.kind in "iu"
        assert ok, f"{what}[{i}]: dtype {g.dtype} != torch's {w.dtype}"


def _assert_close(got, want, rtol, atol, what):
    got, want = list(got), list(want)
    assert len(got) == len(want), f"{what}: jnn gave {len(got)} arrays, torch {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{what}[{i}]: shape {g.shape} != torch's {w.shape}"
        if w.dtype.kind == "f":
            assert g.dtype.kind == "f" and g.dtype.itemsize == w.dtype.itemsize, \
                f"{what}[{i}]: dtype {g.dtype} != torch's {w.dtype}"
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{what}[{i}]")
        elif w.dtype.kind == "b":
            np.testing.assert_array_equal(g, w, err_msg=f"{what}[{i}]")
        else:
            assert g.dtype.kind in "iu", f"{what}[{i}]: dtype {g.dtype}, torch has {w.dtype}"
            np.testing.assert_array_equal(g, w, err_msg=f"{what}[{i}]")


def _random_cotangents(outs, rng):
    return [rng.standard_normal(o.shape).astype(o.dtype) if o.dtype.kind == "f" else None
            for o in outs]


def _x64(dtype: str):
    return jax.enable_x64(dtype == "float64")


# -- module cases -----------------------------------------------------------------------------

def _build_pair(case: ModuleCase):
    torch.manual_seed(0)
    t_args = case.args if case.torch_args is None else case.torch_args
    t_kwargs = case.kwargs if case.torch_kwargs is None else case.torch_kwargs
    tmod = getattr(torch.nn, case.torch_name or case.name)(*t_args, **t_kwargs)
    jmod = getattr(jnn, case.name)(*case.args, **case.kwargs)
    if case.dtype == "float64":
        tmod.double()
        jmod.double()
    return tmod, jmod


def run_module_case(case: ModuleCase) -> None:
    with _x64(case.dtype):
        _run_module_case(case)


def _run_module_case(case: ModuleCase) -> None:
    rng = np.random.default_rng(0)
    tmod, jmod = _build_pair(case)
    if case.check_repr:
        assert repr(jmod) == repr(tmod), f"repr differs:\njnn:   {jmod!r}\ntorch: {tmod!r}"
    if case.check_state_dict:
        t_sd = {k: tuple(v.shape) for k, v in tmod.state_dict().items()}
        j_sd = {k: tuple(np.shape(v)) for k, v in jmod.state_dict().items()}
        assert list(j_sd) == list(t_sd), f"state_dict keys {list(j_sd)} != torch's {list(t_sd)}"
        assert j_sd == t_sd, f"state_dict shapes {j_sd} != torch's {t_sd}"
    # Same weights on both sides: torch's initial state goes into jnn.
    jmod.load_state_dict({k: v.detach().cpu().numpy() for k, v in tmod.state_dict().items()})
    if case.setup is not None:
        case.setup(tmod, jmod)
    tmod.train(case.training)
    jmod.train(case.training)

    inputs = case.make_inputs(rng)
    fkw = dict(case.forward_kwargs)
    t_inputs = [_to_torch(a, requires_grad=case.grad and _is_float_array(a)) for a in inputs]
    t_fkw = {k: _to_torch(v) for k, v in fkw.items()}
    j_fkw = {k: _to_jax(v) for k, v in fkw.items()}
    j_inputs = [_to_jax(a) for a in inputs]

    # Leaves get the gradients; the module sees clones so torch's in-place variants
    # (inplace=True) are allowed.
    t_out = tmod(*[t.clone() if isinstance(t, torch.Tensor) and t.requires_grad else t
                   for t in t_inputs], **t_fkw)
    jmod_jit = copy.deepcopy(jmod) if case.check_jit else None
    j_out = jmod(*j_inputs, **j_fkw)
    select = case.outputs or (lambda o: o)
    t_np = select(to_numpy(t_out))
    j_np = select(to_numpy(j_out))
    if case.random:
        _assert_like(j_np, t_np, f"{case_id(case)} forward")
    else:
        _assert_close(j_np, t_np, case.rtol, case.atol, f"{case_id(case)} forward")
        # Buffers a forward pass updates (BatchNorm statistics, ...) must match too.
        t_bufs = {k: v.detach().numpy() for k, v in tmod.named_buffers()}
        j_bufs = {k: np.asarray(v) for k, v in jmod.named_buffers()}
        assert list(j_bufs) == list(t_bufs), f"buffers {list(j_bufs)} != torch's {list(t_bufs)}"
        _assert_close(list(j_bufs.values()), list(t_bufs.values()), case.rtol, case.atol,
                      f"{case_id(case)} buffers")

    if case.check_jit:
        jitted = jnn.jit(lambda m, *xs: m(*xs, **j_fkw), compiler_options=TEST_COMPILER_OPTIONS)
        out_jit = jitted(jmod_jit, *j_inputs)
        if case.random:
            _assert_like(select(to_numpy(out_jit)), j_np, f"{case_id(case)} jit vs eager")
        else:
            _assert_close(select(to_numpy(out_jit)), j_np, case.rtol, case.atol,
                          f"{case_id(case)} jit vs eager")
            _assert_close([np.asarray(v) for v in jmod_jit.state_dict().values()],
                          [np.asarray(v) for v in jmod.state_dict().values()], case.rtol,
                          case.atol, f"{case_id(case)} jit state vs eager state")

    if case.grad and not case.random:
        _check_module_grads(case, tmod, jmod, inputs, t_inputs, t_out, j_fkw, rng)


def _check_module_grads(case, tmod, jmod, inputs, t_inputs, t_out, j_fkw, rng):
    t_outs = to_numpy(t_out)
    cts = _random_cotangents(t_outs, rng)
    t_flat = _flatten_torch(t_out)
    loss = sum((o * torch.from_numpy(ct)).sum() for o, ct in zip(t_flat, cts)
               if ct is not None and o.requires_grad)
    if not isinstance(loss, torch.Tensor):
        return  # nothing differentiable
    loss.backward()

    diff_idx = [i for i, a in enumerate(inputs) if _is_float_array(a)]
    params = {n: p.data for n, p in jmod.named_parameters() if p.requires_grad}

    def j_loss(params, diff_inputs):
        xs = [_to_jax(a) for a in inputs]
        for i, x in zip(diff_idx, diff_inputs):
            xs[i] = x
        out = jnn.functional_call(jmod, params, tuple(xs), j_fkw)
        leaves = _flatten_jax(out)
        return sum(jnp.sum(o * ct) for o, ct in zip(leaves, cts) if ct is not None)

    g_params, g_inputs = gradient(j_loss, case.check_jit, argnums=(0, 1))(
        params, [jnp.asarray(inputs[i]) for i in diff_idx])
    t_named = dict(tmod.named_parameters())
    for n, g in g_params.items():
        tg = t_named[n].grad
        want = np.zeros(g.shape, np.asarray(g).dtype) if tg is None else tg.numpy()
        _assert_close([g], [want], case.rtol * 10, case.atol * 10, f"{case_id(case)} d/d{n}")
    for i, g in zip(diff_idx, g_inputs):
        tg = t_inputs[i].grad
        want = np.zeros(g.shape, np.asarray(g).dtype) if tg is None else tg.numpy()
        _assert_close([g], [want], case.rtol * 10, case.atol * 10,
                      f"{case_id(case)} d/dinput{i}")


def gradient(loss, traceable: bool, **grad_kwargs):
    """``jax.grad(loss, **grad_kwargs)``, compiled as one program when ``traceable``.

    Differentiating eagerly compiles every primitive of the forward and of its transpose as a
    program of its own, which made the gradient check the costliest part of a parity case;
    compiled, it is one compilation (with ``TEST_COMPILER_OPTIONS``). It is the same gradient:
    under ``jax.grad`` jnn's kernels see tracers whether or not the call is also compiled, so
    they take the same code paths either way. ``traceable=False`` (a case with
    ``check_jit=False``, whose forward may not trace under ``jit``) differentiates eagerly.
    """
    grad = jax.grad(loss, **grad_kwargs)
    return jax.jit(grad, compiler_options=TEST_COMPILER_OPTIONS) if traceable else grad


def _flatten_torch(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flatten_torch(o)]
    if isinstance(out, dict):
        return [a for k in out for a in _flatten_torch(out[k])]
    return []


def _flatten_jax(out):
    if isinstance(out, (jax.Array, jnn.Parameter)) or hasattr(out, "aval"):
        return [jnp.asarray(out)]
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flatten_jax(o)]
    if isinstance(out, dict):
        return [a for k in out for a in _flatten_jax(out[k])]
    return []


# -- function cases ---------------------------------------------------------------------------

def run_function_case(case: FunctionCase) -> None:
    with jax.enable_x64(case.x64 or _uses_float64(case)):
        _run_function_case(case)


def _uses_float64(case) -> bool:
    args, kwargs = case.inputs(np.random.default_rng(0))
    leaves, _ = _leaves((args, kwargs))
    return any(isinstance(a, np.ndarray) and a.dtype in (np.float64, np.int64) for a in leaves)


def _run_function_case(case: FunctionCase) -> None:
    rng = np.random.default_rng(0)
    args, kwargs = case.inputs(rng)
    leaves, treedef = _leaves((args, kwargs))
    torch_fn = case.torch_fn or getattr(torch.nn.functional, case.name)
    jnn_fn = case.jnn_fn or getattr(F, case.name)

    excluded = set()
    for pos in case.nondiff:
        marker = args[pos] if isinstance(pos, int) else kwargs[pos]
        excluded |= {i for i, a in enumerate(leaves) if a is marker}
    diff = [i for i, a in enumerate(leaves) if _is_float_array(a) and i not in excluded] \
        if case.grad else []

    t_leaves = [_to_torch(a, requires_grad=i in diff) for i, a in enumerate(leaves)]
    t_args, t_kwargs = jax.tree_util.tree_unflatten(treedef, [
        t.clone() if isinstance(t, torch.Tensor) and t.requires_grad else t for t in t_leaves])
    t_out = torch_fn(*t_args, **t_kwargs)
    j_leaves = [_to_jax(a) for a in leaves]
    j_args, j_kwargs = jax.tree_util.tree_unflatten(treedef, j_leaves)
    j_out = jnn_fn(*j_args, **j_kwargs)

    select = case.outputs or (lambda o: o)
    t_np, j_np = select(to_numpy(t_out)), select(to_numpy(j_out))
    if case.random:
        _assert_like(j_np, t_np, f"{case_id(case)} forward")
        return
    _assert_close(j_np, t_np, case.rtol, case.atol, f"{case_id(case)} forward")

    if case.check_jit:
        array_idx = [i for i, a in enumerate(leaves) if isinstance(a, np.ndarray)]

        def call(*arrays):
            ls = list(j_leaves)
            for i, a in zip(array_idx, arrays):
                ls[i] = a
            a_, k_ = jax.tree_util.tree_unflatten(treedef, ls)
            return jnn_fn(*a_, **k_)
        out_jit = jax.jit(call, compiler_options=TEST_COMPILER_OPTIONS)(
            *[j_leaves[i] for i in array_idx])
        _assert_close(select(to_numpy(out_jit)), j_np, case.rtol, case.atol,
                      f"{case_id(case)} jit vs eager")

    if diff:
        t_flat = _flatten_torch(t_out)
        cts = _random_cotangents([t.detach().numpy() for t in t_flat], rng)
        pairs = [(o, ct) for o, ct in zip(t_flat, cts) if ct is not None and o.requires_grad]
        if not pairs:
            return
        sum((o * torch.from_numpy(ct)).sum() for o, ct in pairs).backward()

        def j_loss(diff_values):
            ls = list(j_leaves)
            for i, v in zip(diff, diff_values):
                ls[i] = v
            a_, k_ = jax.tree_util.tree_unflatten(treedef, ls)
            outs = _flatten_jax(jnn_fn(*a_, **k_))
            return sum(jnp.sum(o * ct) for o, ct in zip(outs, cts) if ct is not None)

        grads = gradient(j_loss, case.check_jit)([j_leaves[i] for i in diff])
        for i, g in zip(diff, grads):
            tg = t_leaves[i].grad
            want = np.zeros(g.shape, np.asarray(g).dtype) if tg is None else tg.numpy()
            _assert_close([g], [want], case.rtol * 10, case.atol * 10,
                          f"{case_id(case)} d/darg{i}")


def run_error_case(case: ErrorCase) -> None:
    import pytest
    if case.torch_fn is not None:
        with pytest.raises(Exception):  # torch's RuntimeError/NotImplementedError/TypeError
            case.torch_fn()
    with pytest.raises(case.exc, match=case.match):
        case.fn()
