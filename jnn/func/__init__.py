"""``torch.func``'s transforms over jnn modules, on JAX's own transforms.

torch.func turns a module into a function of its parameters with :func:`functional_call`
and composes ``grad``/``vmap``/``jacrev``... over that function. The same code works here:
the transforms are JAX's (``jax.grad``, ``jax.vmap``, ``jax.jacrev`` ...) with torch.func's
names, argument names and return conventions, and ``functional_call`` swaps traced values
into the module's boxes for the call (``docs/design.md``, "Boxes and modules").

Example (per-sample gradients, torch.func's tutorial)::

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v for k, v in model.named_buffers()}

    def loss(params, buffers, x, y):
        out = func.functional_call(model, (params, buffers), (x[None],))
        return F.cross_entropy(out, y[None])

    per_sample = func.vmap(func.grad(loss), in_dims=(None, None, 0, 0))(params, buffers, x, y)

Differences from PyTorch:
    * Forward-mode transforms (``jvp``, ``jacfwd``, ``hessian``) cannot pass through the
      kernels that define their own backward pass with ``jax.custom_vjp`` (max unpooling,
      ``embedding`` with ``scale_grad_by_freq``, modules with backward hooks): JAX raises for
      them. Every other kernel, max pooling and ``grid_sample`` included, supports them.
    * ``vmap(randomness=...)`` supports only ``"error"``: a draw from jnn's random stream
      inside ``vmap`` raises ``RandomStreamError`` (pass ``key=`` explicitly instead).
    * ``chunk_size`` is accepted and ignored (XLA batches the whole map).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from ..modules.module import Module
from ..parameter import Parameter
from ..transforms.functional_call import functional_call

__all__ = ["functional_call", "vmap", "grad", "grad_and_value", "vjp", "jvp", "jacrev",
           "jacfwd", "hessian", "stack_module_state"]

ArgNums = int | Sequence[int]


def _unbox(tree):
    return jax.tree_util.tree_map(lambda x: x.data if isinstance(x, Parameter) else x, tree,
                                  is_leaf=lambda x: isinstance(x, Parameter))


def _check_argnums(fn: str, argnums) -> int | tuple:
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        return argnums
    if isinstance(argnums, (tuple, list)) and argnums and all(
            isinstance(a, int) and not isinstance(a, bool) for a in argnums):
        return tuple(argnums)
    raise TypeError(f"{fn}: argnums must be an int or a non-empty tuple of ints, got "
                    f"{argnums!r}")


def _pure(func: Callable) -> Callable:
    """``func`` with Parameters in its output read as arrays."""
    @functools.wraps(func)
    def call(*args, **kwargs):
        return _unbox(func(*args, **kwargs))
    return call


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """Vectorise ``func`` over a dimension of its inputs (``torch.func.vmap``).

    Args:
        func: a function of arrays (pytrees of arrays); use :func:`functional_call` to map
            a module over stacked parameters.
        in_dims: per argument, the mapped dimension or ``None`` (a pytree prefix of the
            arguments, as torch).
        out_dims: the dimension of the outputs that holds the mapped one.
        randomness: only ``"error"`` (see the module's differences from PyTorch).
        chunk_size: accepted for compatibility.

    Returns:
        The vectorised function.

    Example:
        >>> from jnn import func
        >>> func.vmap(lambda a, b: a @ b, in_dims=(0, None))(jnp.ones((5, 3)), jnp.ones(3)).shape
        (5,)
    """
    if randomness != "error":
        if randomness in ("different", "same"):
            raise NotImplementedError(
                f"vmap: randomness={randomness!r} is not supported by jnn; draw keys outside "
                "and pass them (mapped or not) to the random functions' key= argument")
        raise ValueError(f"vmap: randomness must be 'error', 'different' or 'same', got "
                         f"{randomness!r}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be None or a positive int, got {chunk_size!r}")
    in_axes = tuple(in_dims) if isinstance(in_dims, list) else in_dims
    return jax.vmap(_pure(func), in_axes=in_axes, out_axes=out_dims)


def grad(func: Callable, argnums: ArgNums = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function with respect to the arguments at ``argnums``
    (``torch.func.grad``); arguments may be dicts of arrays (a module's parameters).

    Returns:
        A function returning the gradient (a tuple for a tuple ``argnums``), or
        ``(gradient, aux)`` with ``has_aux``.

    Example:
        >>> from jnn import func
        >>> func.grad(lambda p: (p["w"] ** 2).sum())({"w": jnp.ones(2)})["w"].tolist()
        [2.0, 2.0]
    """
    return jax.grad(_pure(func), argnums=_check_argnums("grad", argnums), has_aux=has_aux)


def grad_and_value(func: Callable, argnums: ArgNums = 0, has_aux: bool = False) -> Callable:
    """``(gradient, value)`` (``(gradient, (value, aux))`` with ``has_aux``), as
    ``torch.func.grad_and_value``; note the order is the reverse of ``jax.value_and_grad``."""
    vg = jax.value_and_grad(_pure(func), argnums=_check_argnums("grad_and_value", argnums),
                            has_aux=has_aux)

    @functools.wraps(func)
    def call(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return g, value
    return call


def vjp(func: Callable, *primals, has_aux: bool = False):
    """``(output, vjp_fn)`` (``(output, vjp_fn, aux)`` with ``has_aux``), as
    ``torch.func.vjp``: ``vjp_fn(cotangent)`` returns a tuple with one cotangent per primal."""
    # (jax.vjp's overloads take has_aux as a literal; here it is a run-time bool.)
    return jax.vjp(_pure(func), *primals, has_aux=has_aux)  # type: ignore[call-overload]


def jvp(func: Callable, primals: Sequence, tangents: Sequence, *, strict: bool = False,
        has_aux: bool = False):
    """``(output, jvp_out)`` (``(output, jvp_out, aux)`` with ``has_aux``), as
    ``torch.func.jvp``; ``primals`` and ``tangents`` are tuples of the same structure."""
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError("jvp: expected primals and tangents to be tuples, got "
                        f"{type(primals).__name__} and {type(tangents).__name__}")
    return jax.jvp(_pure(func), primals, tangents, has_aux=has_aux)


def jacrev(func: Callable, argnums: ArgNums = 0, *, has_aux: bool = False,
           chunk_size: int | None = None, _preallocate_and_copy: bool = False) -> Callable:
    """The Jacobian by reverse mode (``torch.func.jacrev``): with dict arguments (a module's
    parameters) a dict of Jacobians, each of shape ``output.shape + param.shape``.

    Example:
        >>> from jnn import func
        >>> model, x = nn.Linear(3, 2), jnp.ones((4, 3))
        >>> params = dict(model.named_parameters())
        >>> jac = func.jacrev(lambda p: func.functional_call(model, p, (x,)))(params)
        >>> jac["weight"].shape, jac["bias"].shape
        ((4, 2, 2, 3), (4, 2, 2))
    """
    return jax.jacrev(_pure(func), argnums=_check_argnums("jacrev", argnums), has_aux=has_aux)


def jacfwd(func: Callable, argnums: ArgNums = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """The Jacobian by forward mode (``torch.func.jacfwd``); same layout as :func:`jacrev`."""
    if randomness != "error":
        raise NotImplementedError("jacfwd: only randomness='error' is supported by jnn")
    return jax.jacfwd(_pure(func), argnums=_check_argnums("jacfwd", argnums), has_aux=has_aux)


def hessian(func: Callable, argnums: ArgNums = 0) -> Callable:
    """The Hessian, ``jacfwd(jacrev(func))`` (``torch.func.hessian``); with a dict argument a
    dict of dicts, ``H[a][b]`` of shape ``output.shape + a.shape + b.shape``."""
    return jax.hessian(_pure(func), argnums=_check_argnums("hessian", argnums))


def stack_module_state(models: Sequence[Module]) -> tuple:
    """``(params, buffers)``: each a dict ``name -> array`` stacking that entry of every
    model along a new leading dimension (``torch.func.stack_module_state``), for
    ``vmap``-ing one module over an ensemble.

    Raises:
        ValueError: no models, models of different classes, or different parameter/buffer
            names.

    Example:
        >>> from jnn import func
        >>> models = [nn.Linear(3, 2) for _ in range(5)]
        >>> params, buffers = func.stack_module_state(models)
        >>> base, x = models[0], jnp.ones((4, 3))
        >>> out = func.vmap(lambda p, b, x: func.functional_call(base, (p, b), (x,)),
        ...                 in_dims=(0, 0, None))(params, buffers, x)
        >>> params["weight"].shape, out.shape
        ((5, 2, 3), (5, 4, 2))
    """
    models = list(models)
    if not models:
        raise ValueError("stack_module_state: Expected at least one model, got 0.")
    if not all(isinstance(m, Module) for m in models):
        raise TypeError("stack_module_state: expected a sequence of modules")
    if len({type(m) for m in models}) != 1:
        raise ValueError("stack_module_state: Expected all models to be of the same class.")
    params = [dict(m.named_parameters()) for m in models]
    buffers = [dict(m.named_buffers()) for m in models]
    for what, dicts in (("parameters", params), ("buffers", buffers)):
        if any(list(d) != list(dicts[0]) for d in dicts):
            raise ValueError(f"stack_module_state: Expected all models to have the same "
                             f"{what}.")
    stacked_params = {k: jnp.stack([jnp.asarray(d[k]) for d in params]) for k in params[0]}
    stacked_buffers = {k: jnp.stack([jnp.asarray(d[k]) for d in buffers])
                       for k in buffers[0] if all(d[k] is not None for d in buffers)}
    return stacked_params, stacked_buffers
