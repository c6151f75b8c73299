"""Every lowering of a convolution against torch, over the registry's convolution cases.

On CPU jnn lowers two kinds of convolution itself (``jnn/functional/conv.py``): depthwise ones as
shifted slices, and those with small output maps as one matmul over gathered patches; everything
else, and every convolution on other backends, runs ``lax.conv_general_dilated``. Which path the
registry's cases take on CPU CI depends on their shapes, so these tests rerun the registry's
convolutions with the private switches set to send them down one path: ``patches`` (the
matmul lowering, at any shape, grouped and depthwise included) for every case, and ``lax`` (what
GPU users run) for the depthwise cases, the only ones of the registry that do not take it by
default on CPU (its output maps have more than 4 positions).
"""
import jax
import jax.numpy as jnp
import pytest

import jnn.functional as F
from cases import conv as conv_cases
from harness import case_id, run_function_case, run_module_case
from jnn.functional import conv as conv_kernels

_MODULE = [c for c in conv_cases.MODULE_CASES if not c.name.startswith(("ConvTranspose", "Lazy"))]
_FUNCTION = [c for c in conv_cases.FUNCTION_CASES if "transpose" not in c.name]

PATHS = {"lax": dict(_DEPTHWISE_SLICES=False, _PATCHES_MAX_OUTPUT=0),
         "patches": dict(_DEPTHWISE_SLICES=False, _PATCHES_MAX_OUTPUT=10 ** 9)}


def _select(monkeypatch, path: str) -> None:
    for name, value in PATHS[path].items():
        monkeypatch.setattr(conv_kernels, name, value)


@pytest.fixture(params=sorted(PATHS))
def path(request, monkeypatch):
    _select(monkeypatch, request.param)
    return request.param


def _primitives(x_shape, w_shape, groups=1) -> str:
    x, w = jnp.ones(x_shape), jnp.ones(w_shape)
    return str(jax.make_jaxpr(lambda a, b: F.conv2d(a, b, padding=1, groups=groups))(x, w))


def test_switches_select_the_path(path):
    uses_lax = "conv_general_dilated" in _primitives((1, 4, 6, 6), (4, 1, 3, 3), groups=4)
    assert uses_lax == (path == "lax")
    uses_lax = "conv_general_dilated" in _primitives((2, 4, 9, 9), (5, 4, 3, 3))
    assert uses_lax == (path == "lax")


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the fast paths are CPU-only")
def test_default_cpu_paths_follow_the_output_size():
    assert "conv_general_dilated" not in _primitives((1, 4, 6, 6), (4, 1, 3, 3), groups=4)
    assert "conv_general_dilated" not in _primitives((8, 16, 2, 2), (8, 16, 3, 3))  # 4 positions
    assert "conv_general_dilated" in _primitives((8, 16, 3, 2), (8, 16, 3, 3))  # 6


def test_cases_found():
    assert len(_MODULE) >= 15 and sum("depthwise" in c.desc for c in _MODULE) >= 4


def _on(path_cases):
    return [pytest.param(path, case, id=f"{path}-{case_id(case)}") for path, cases in path_cases
            for case in cases]


def _depthwise(cases):
    return [c for c in cases if "depthwise" in c.desc]


@pytest.mark.parametrize("path,case", _on([("patches", _MODULE), ("lax", _depthwise(_MODULE))]))
def test_module_parity(path, case, monkeypatch):
    _select(monkeypatch, path)
    run_module_case(case)


@pytest.mark.parametrize("path,case", _on([("patches", _FUNCTION),
                                           ("lax", _depthwise(_FUNCTION))]))
def test_function_parity(path, case, monkeypatch):
    _select(monkeypatch, path)
    run_function_case(case)
