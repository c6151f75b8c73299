"""torch's top-level tensor functions (jnn/tensor_functions.py) beyond the registry's value
parity (tests/cases/tensor_functions.py): the dtypes they infer, the gradient-mode contexts,
``nn.detach``, ``nn.Tensor``, ``device=``."""
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jnn as nn
from jnn import optim


def _dtype_name(x) -> str:
    return str(x.dtype).replace("torch.", "")


DTYPE_CALLS = {  # call -> (torch result, jnn result) builders; compared under x64
    "zeros(2)": lambda m: m.zeros(2),
    "full((2,), 1)": lambda m: m.full((2,), 1),
    "full((2,), True)": lambda m: m.full((2,), True),
    "full((2,), 1.5)": lambda m: m.full((2,), 1.5),
    "arange(5)": lambda m: m.arange(5),
    "arange(0, 1, 0.5)": lambda m: m.arange(0, 1, 0.5),
    "arange(5, dtype=float64)": lambda m: m.arange(5, dtype=m.float64),
    "linspace(0, 1, 3)": lambda m: m.linspace(0, 1, 3),
    "eye(2, dtype=long)": lambda m: m.eye(2, dtype=m.long),
    "tensor([1, 2])": lambda m: m.tensor([1, 2]),
    "tensor([1, 2.0])": lambda m: m.tensor([1, 2.0]),
    "tensor(True)": lambda m: m.tensor(True),
    "tensor(np float64)": lambda m: m.tensor(np.ones(2)),
    "tensor(np int32)": lambda m: m.tensor(np.ones(2, np.int32)),
    "tensor(np.float32 scalar)": lambda m: m.tensor(np.float32(2)),
    "as_tensor(np int16)": lambda m: m.as_tensor(np.ones(2, np.int16)),
    "from_numpy(np float64)": lambda m: m.from_numpy(np.ones(2)),
    "zeros_like(int)": lambda m: m.zeros_like(m.tensor([1, 2])),
    "argmax": lambda m: m.argmax(m.tensor([1.0, 3.0])),
    "max(dim).indices": lambda m: m.max(m.tensor([[1.0, 3.0]]), 1).indices,
    "sum(bool)": lambda m: m.sum(m.tensor([True, False])),
    "cat(int, float)": lambda m: m.cat([m.tensor([1]), m.tensor([2.0])]),
    "tensor(x, dtype=half)": lambda m: m.tensor([1.0], dtype=m.half),
    "zeros(bfloat16)": lambda m: m.zeros(1, dtype=m.bfloat16),
    "tensor(dtype=bool)": lambda m: m.tensor([0, 2], dtype=m.bool),
}


@pytest.mark.parametrize("call", sorted(DTYPE_CALLS))
def test_dtypes_match_torch_under_x64(call):
    with jax.enable_x64(True):
        got = DTYPE_CALLS[call](nn)
    want = DTYPE_CALLS[call](torch)
    assert _dtype_name(got) == _dtype_name(want), f"{call}: {got.dtype} != torch's {want.dtype}"


def test_without_x64_64_bit_types_narrow_and_overflow_raises():
    assert nn.tensor([1, 2]).dtype == jnp.int32 and nn.arange(3).dtype == jnp.int32
    assert nn.tensor(np.ones(2)).dtype == jnp.float32
    assert nn.zeros(2, dtype=nn.long).dtype == jnp.int32   # no JAX truncation warning either
    with pytest.raises(ValueError, match="do not fit in int32"):
        nn.from_numpy(np.array([2 ** 40]))                 # jnp.asarray would wrap to 0


def test_dtype_names_are_numpy_dtypes():
    assert nn.float is nn.float32 and nn.double is nn.float64 and nn.long is nn.int64
    assert nn.int is nn.int32 and nn.half is nn.float16 and nn.short is nn.int16
    assert nn.ones(2).astype(nn.bool).dtype == np.bool_
    assert jnp.ones(2).dtype == nn.float32 == jnp.float32
    assert str(nn.bfloat16) == "bfloat16" and nn.cfloat == np.complex64


def test_tensor_alias_and_max_result_fields():
    x = nn.tensor([[1.0, 5.0], [7.0, 2.0]])
    assert isinstance(x, nn.Tensor)
    out = nn.max(x, dim=1)
    np.testing.assert_array_equal(out.values, [5.0, 7.0])
    np.testing.assert_array_equal(out.indices, [1, 0])
    values, indices = nn.min(x, 0, keepdim=True)
    assert values.shape == indices.shape == (1, 2)


def test_detach_stops_the_gradient():
    g = jax.grad(lambda x: (nn.detach(x) * x).sum())(jnp.array([2.0, 3.0]))
    np.testing.assert_allclose(g, [2.0, 3.0])  # d/dx of c * x with c = x held constant


def test_device_keyword_places_the_array():
    cpu1 = jax.devices("cpu")[1]
    assert nn.zeros(2, device="cpu:1").devices() == {cpu1}
    assert nn.tensor([1, 2], device=cpu1).devices() == {cpu1}


def test_no_grad_is_a_context_and_a_decorator():
    assert nn.is_grad_enabled()
    with nn.no_grad():
        assert not nn.is_grad_enabled()
        with nn.enable_grad():
            assert nn.is_grad_enabled()
        assert not nn.is_grad_enabled()
    assert nn.is_grad_enabled()

    @nn.no_grad()
    def called(x):
        return nn.is_grad_enabled(), x * 2

    @nn.no_grad
    def bare(x):
        return nn.is_grad_enabled()

    @nn.inference_mode()
    def inference():
        return nn.is_grad_enabled()

    assert called(1) == (False, 2) and bare(1) is False and inference() is False
    assert nn.is_grad_enabled()
    with nn.inference_mode(False):
        assert nn.is_grad_enabled()


def test_set_grad_enabled_as_call_context_and_decorator():
    try:
        nn.set_grad_enabled(False)                # torch: takes effect immediately
        assert not nn.is_grad_enabled()
    finally:
        nn.set_grad_enabled(True)
    with nn.set_grad_enabled(False):
        assert not nn.is_grad_enabled()
    assert nn.is_grad_enabled()

    @nn.set_grad_enabled(False)
    def f():
        return nn.is_grad_enabled()
    assert nn.is_grad_enabled()                   # decorating does not switch the mode
    assert f() is False and nn.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with nn.no_grad():
        t = threading.Thread(target=lambda: seen.append(nn.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_no_grad_around_evaluation_and_training_steps_computes_what_torch_computes():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = nn.randn(5, 3)
    plain = model(x)
    with nn.no_grad():
        np.testing.assert_array_equal(model(x), plain)
        evaluate = nn.jit(lambda m, x: m(x).sum())
        assert np.isfinite(float(evaluate(model, x)))   # nn.jit without grad: allowed

    @nn.jit
    def step(model, opt, x):
        loss, grads = nn.value_and_grad(lambda m: (m(x) ** 2).mean())(model)
        opt.step(grads)
        with nn.no_grad():                  # outside the differentiated function: allowed
            norm = sum((p ** 2).sum() for p in model.parameters())
        return loss, norm

    loss, norm = step(model, opt, x)
    assert np.isfinite(float(loss)) and np.isfinite(float(norm))


def test_no_grad_inside_a_differentiated_function_raises_instead_of_leaking_gradients():
    nn.manual_seed(0)
    model = nn.Linear(3, 1)
    x = nn.randn(4, 3)

    def loss_fn(m):
        with nn.no_grad():                  # torch would detach `target`
            target = m(x)
        return ((m(x) - target) ** 2).mean()

    with pytest.raises(RuntimeError, match="nn.detach"):
        nn.value_and_grad(loss_fn)(model)
    with pytest.raises(RuntimeError, match="nn.detach"):
        nn.jit(lambda m: nn.grad(loss_fn)(m))(model)
    with pytest.raises(RuntimeError, match="set_grad_enabled inside"):
        jax.grad(lambda v: (nn.set_grad_enabled(False), v)[1])(1.0)
    assert nn.is_grad_enabled()

    def fixed(m):
        target = nn.detach(m(x))            # the port: stop the gradient explicitly
        return ((m(x) - target) ** 2).mean()
    grads = nn.grad(fixed)(model)
    assert all(float(jnp.abs(g).max()) == 0.0 for g in grads.values())
