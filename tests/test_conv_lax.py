"""Depthwise convolutions on the ``lax.conv_general_dilated`` path.

On CPU jnn runs depthwise convolutions (``groups == in_channels``, one input channel per group)
as shifted slices with a custom VJP (``jnn/functional/conv.py``); every other backend runs
``lax.conv_general_dilated``. The registry therefore only ever tests the slice path on CPU CI;
these cases rerun the registry's depthwise convolutions with the private switch
``jnn.functional.conv._DEPTHWISE_SLICES`` off, so the path GPU users run is proven against
torch too.
"""
import jax
import jax.numpy as jnp
import pytest

import jnn.functional as F
from cases import conv as conv_cases
from harness import case_id, run_function_case, run_module_case
from jnn.functional import conv as conv_kernels

_MODULE = [c for c in conv_cases.MODULE_CASES
           if "depthwise" in c.desc and not c.name.startswith(("ConvTranspose", "Lazy"))]
_FUNCTION = [c for c in conv_cases.FUNCTION_CASES
             if "depthwise" in c.desc and "transpose" not in c.name]


@pytest.fixture
def lax_path(monkeypatch):
    monkeypatch.setattr(conv_kernels, "_DEPTHWISE_SLICES", False)


def _uses_lax_conv() -> bool:
    x, w = jnp.ones((1, 4, 6, 6)), jnp.ones((4, 1, 3, 3))
    jaxpr = jax.make_jaxpr(lambda a, b: F.conv2d(a, b, groups=4))(x, w)
    return "conv_general_dilated" in str(jaxpr)


def test_switch_selects_the_path(monkeypatch):
    if jax.default_backend() == "cpu":
        assert not _uses_lax_conv()
    monkeypatch.setattr(conv_kernels, "_DEPTHWISE_SLICES", False)
    assert _uses_lax_conv()


def test_cases_found():
    assert len(_MODULE) >= 4


@pytest.mark.parametrize("case", _MODULE, ids=case_id)
def test_module_parity_lax(case, lax_path):
    run_module_case(case)


@pytest.mark.parametrize("case", _FUNCTION, ids=case_id)
def test_function_parity_lax(case, lax_path):
    run_function_case(case)
