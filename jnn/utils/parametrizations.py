"""Ready-made parametrizations (``torch.nn.utils.parametrizations``): ``orthogonal``,
``weight_norm`` and ``spectral_norm``, built on :mod:`jnn.utils.parametrize` with torch's
module structure, so ``state_dict`` keys are torch's and torch checkpoints load unchanged.
"""
from __future__ import annotations

from enum import Enum, auto
from typing import Any

import jax
import jax.numpy as jnp

from ..modules.module import Module
from ..parameter import Parameter, is_array
from ..random import next_key
from . import parametrize
from ._parametrize_common import (
    as_array,
    is_conv_transpose,
    norm_except_dim,
    normalize,
    weight_norm_value,
)

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _mH(x):
    return jnp.conj(jnp.swapaxes(x, -1, -2))


def _eye_like(shape, dtype):
    """``(..., n, k)`` identity-like array."""
    return jnp.broadcast_to(jnp.eye(shape[-2], shape[-1], dtype=dtype), shape)


def _is_orthogonal(Q) -> jax.Array:
    n, k = Q.shape[-2], Q.shape[-1]
    Id = jnp.eye(k, dtype=Q.dtype)
    eps = 10.0 * n * jnp.finfo(Q.dtype).eps
    return jnp.all(jnp.abs(_mH(Q) @ Q - Id) <= eps + 1e-5 * jnp.abs(Id))


def _make_orthogonal(A):
    """The Q of a QR decomposition of ``A`` with the signs fixed so that ``diag(R) >= 0``."""
    Q, R = jnp.linalg.qr(A)
    return Q * jnp.sign(jnp.diagonal(R, axis1=-2, axis2=-1))[..., None, :]


def _householder_product(A, tau):
    """``torch.linalg.householder_product`` (LAPACK ``orgqr``), written with differentiable
    operations: the first ``k`` columns of ``H_1 ... H_k``, ``H_i = I - tau_i v_i v_i^H`` with
    ``v_i`` the ``i``-th column of ``A`` below the diagonal and a 1 on it."""
    n = A.shape[-2]
    Q = _eye_like(A.shape, A.dtype)
    rows = jnp.arange(n)
    for i in reversed(range(tau.shape[-1])):
        v = jnp.where(rows > i, A[..., :, i], jnp.where(rows == i, 1, 0).astype(A.dtype))
        w = jnp.einsum("...n,...nk->...k", jnp.conj(v), Q)
        Q = Q - tau[..., i, None, None] * v[..., :, None] * w[..., None, :]
    return Q


def _geqrf(A):
    geqrf: Any = getattr(jax.lax.linalg, "geqrf", None)
    if geqrf is None:
        from jax._src.lax.linalg import geqrf
    return geqrf(A)


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    """The orthogonal parametrization module registered by :func:`orthogonal`."""

    def __init__(self, weight, orthogonal_map: _OrthMaps, *, use_trivialization=True) -> None:
        super().__init__()
        weight = as_array(weight)
        if jnp.iscomplexobj(weight) and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex "
                             "tensors.")
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        X = as_array(X)
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = jnp.swapaxes(X, -1, -2)
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = jnp.tril(X)
            if n != k:
                X = jnp.concatenate([X, jnp.zeros((*X.shape[:-2], n, n - k), X.dtype)], axis=-1)
            A = X - _mH(X)
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = jax.scipy.linalg.expm(A)
            else:
                Id = jnp.eye(n, dtype=A.dtype)
                Q = jnp.linalg.solve(Id - 0.5 * A, Id + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = jnp.tril(X, -1)
            tau = 2.0 / (1.0 + jnp.sum(A * A, axis=-2))
            Q = _householder_product(A, tau)
            signs = jax.lax.stop_gradient(jnp.trunc(jnp.diagonal(X, axis1=-2, axis2=-1)))
            Q = Q * signs[..., None, :]
        if "base" in self._buffers:
            Q = self.base @ Q
        if transposed:
            Q = jnp.swapaxes(Q, -1, -2)
        return Q

    def right_inverse(self, Q):
        Q = jax.lax.stop_gradient(as_array(Q))
        if tuple(Q.shape) != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {tuple(Q.shape)}.")
        Q_init = Q
        n, k = Q.shape[-2], Q.shape[-1]
        transpose = n < k
        if transpose:
            Q = jnp.swapaxes(Q, -1, -2)
            n, k = k, n
        if "base" not in self._buffers:
            if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                raise NotImplementedError(
                    "It is not possible to assign to the matrix exponential or the Cayley "
                    "parametrizations when use_trivialization=False.")
            A, tau = _geqrf(Q)
            diag = jnp.sign(jnp.diagonal(A, axis1=-2, axis2=-1))
            diag = jnp.where(tau == 0.0, -diag, diag)
            idx = jnp.arange(min(n, k))
            A = A.at[..., idx, idx].set(diag)
            return jnp.swapaxes(A, -1, -2) if transpose else A
        if n == k:
            Q = jnp.where(_is_orthogonal(Q), Q, _make_orthogonal(Q))
        else:
            N = jax.random.normal(next_key(), (*Q.shape[:-2], n, n - k), Q.dtype)
            Q = _make_orthogonal(jnp.concatenate([Q, N], axis=-1))
        self.base = Q
        idx = jnp.arange(min(Q_init.shape[-2], Q_init.shape[-1]))
        return jnp.zeros_like(Q_init).at[..., idx, idx].set(-1.0)


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain a matrix (or batch of matrices) to be orthogonal
    (``torch.nn.utils.parametrizations.orthogonal``).

    ``module.<name>`` becomes ``Q = base @ f(X)`` where ``X`` is the unconstrained original and
    ``f`` maps it onto the orthogonal group: ``"matrix_exp"`` (exponential of the
    skew-symmetric part), ``"cayley"`` (``(I - A/2)^{-1}(I + A/2)``) or ``"householder"``
    (a product of Householder reflections). Non-square matrices give orthonormal rows or
    columns, whichever is smaller.

    Args:
        module: the module.
        name: the tensor to parametrize (at least 2-D).
        orthogonal_map: ``"matrix_exp"``, ``"cayley"`` or ``"householder"``; default
            ``"matrix_exp"`` for square (or complex) matrices, else ``"householder"``.
        use_trivialization: keep the ``base`` buffer (dynamic trivialization), so that assigning
            ``module.<name> = Q`` is possible for every map.

    Returns:
        ``module``; the state_dict holds ``parametrizations.<name>.original`` and
        ``parametrizations.<name>.0.base``.

    Example:
        >>> m = nn.utils.parametrizations.orthogonal(nn.Linear(20, 40))
        >>> Q = m.weight
        >>> Q.shape, bool(jnp.allclose(Q.T @ Q, jnp.eye(20), atol=1e-5))
        ((40, 20), True)
    """
    weight = getattr(module, name, None)
    if not (isinstance(weight, Parameter) or is_array(weight)):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    weight = as_array(weight)
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = ("matrix_exp" if weight.shape[-2] == weight.shape[-1]
                          or jnp.iscomplexobj(weight) else "householder")
    orth_enum = getattr(_OrthMaps, orthogonal_map, None) if isinstance(orthogonal_map, str) \
        else None
    if orth_enum is None:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


class _WeightNorm(Module):
    """``w = g * v / ||v||`` as a parametrization with two originals (g, v)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        if dim is None:
            dim = -1
        self.dim = dim

    def forward(self, weight_g, weight_v):
        return weight_norm_value(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        weight = as_array(weight)
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight normalisation as a parametrization
    (``torch.nn.utils.parametrizations.weight_norm``).

    ``module.<name> = g * v / ||v||`` with the magnitude ``g`` stored as
    ``parametrizations.<name>.original0`` and the direction ``v`` as ``original1``; the
    weight is recomputed on every access (use :func:`~jnn.utils.parametrize.cached` to
    compute it once per block). State dicts of the legacy :func:`jnn.utils.weight_norm`
    (``<name>_g``/``<name>_v``) load too.

    Args:
        module: the module.
        name: the parameter to normalise.
        dim: the dimension kept by the norm (``None``: the norm of the whole tensor).

    Returns:
        ``module``.

    Example:
        >>> m = nn.utils.parametrizations.weight_norm(nn.Linear(20, 40))
        >>> m.parametrizations.weight.original0.shape
        (40, 1)
    """
    _wn = _WeightNorm(dim)
    parametrize.register_parametrization(module, name, _wn, unsafe=True)

    def _weight_norm_compat_hook(module_, state_dict, prefix, local_metadata, strict,
                                 missing_keys, unexpected_keys, error_msgs) -> None:
        g_key = f"{prefix}{name}_g"
        v_key = f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            original0 = state_dict.pop(g_key)
            original1 = state_dict.pop(v_key)
            state_dict[f"{prefix}parametrizations.{name}.original0"] = original0
            state_dict[f"{prefix}parametrizations.{name}.original1"] = original1

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


class _SpectralNorm(Module):
    """Spectral normalisation as a parametrization, with power-iteration buffers ``_u``/``_v``
    (torch's ``_SpectralNorm``)."""

    _u: jax.Array  # (buffers, registered in __init__)
    _v: jax.Array

    def __init__(self, weight, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        weight = as_array(weight)
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.shape
            u = jax.random.normal(next_key(), (h,), weight_mat.dtype)
            v = jax.random.normal(next_key(), (w,), weight_mat.dtype)
            self.register_buffer("_u", normalize(u, self.eps))
            self.register_buffer("_v", normalize(v, self.eps))
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        weight = as_array(weight)
        if weight.ndim <= 1:
            raise AssertionError(f"Expected weight to have more than 1 dimension, got "
                                 f"{weight.ndim}")
        if self.dim != 0:
            weight = jnp.transpose(weight, (self.dim, *(d for d in range(weight.ndim)
                                                        if d != self.dim)))
        return weight.reshape(weight.shape[0], -1)

    def _power_method(self, weight_mat, n_power_iterations: int) -> None:
        weight_mat = jax.lax.stop_gradient(weight_mat)
        u, v = self._u, self._v
        for _ in range(n_power_iterations):
            u = normalize(weight_mat @ v, self.eps)
            v = normalize(_mH(weight_mat) @ u, self.eps)
        self._u = u
        self._v = v

    def forward(self, weight):
        weight = as_array(weight)
        if weight.ndim == 1:
            return normalize(weight, self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u = jax.lax.stop_gradient(self._u)
        v = jax.lax.stop_gradient(self._v)
        sigma = jnp.vdot(u, weight_mat @ v)
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Spectral normalisation as a parametrization
    (``torch.nn.utils.parametrizations.spectral_norm``).

    ``module.<name> = W / sigma(W)``, ``sigma`` estimated by power iteration: 15 steps at
    registration, then ``n_power_iterations`` per access in training mode (the vectors are
    buffers ``parametrizations.<name>.0._u`` / ``_v``, written back under ``nn.jit``). In eval
    mode the stored vectors are used as they are.

    Args:
        module: the module.
        name: the parameter.
        n_power_iterations: power-iteration steps per access in training mode.
        eps: epsilon of the vector normalisations.
        dim: the output dimension (default 0; 1 for ``ConvTranspose*d``).

    Returns:
        ``module``.

    Example:
        >>> m = nn.utils.parametrizations.spectral_norm(nn.Linear(20, 40))
        >>> sorted(m.state_dict())
        ['bias', 'parametrizations.weight.0._u', 'parametrizations.weight.0._v',
         'parametrizations.weight.original']

    Differences from PyTorch:
        The initial ``u``/``v`` are drawn from jnn's random stream (numbers differ from torch's
        for the same seed); load torch's state_dict to reproduce torch's values.
    """
    weight = getattr(module, name, None)
    if not (isinstance(weight, Parameter) or is_array(weight)):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if is_conv_transpose(module) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
