"""Every public layer and functional kernel must have a parity case (or a stated exemption)."""
import inspect

import jnn
import jnn.functional as F
import jnn.modules
import jnn.tensor_functions
from cases import EXEMPT, FUNCTION_CASES, MODULE_CASES


def _public_layers():
    return sorted(name for name in jnn.modules.__all__
                  if inspect.isclass(getattr(jnn.modules, name))
                  and issubclass(getattr(jnn.modules, name), jnn.Module))


def _public_functions():
    return sorted(name for name in F.__all__ if callable(getattr(F, name)))


def _public_top_level():
    """torch's top-level functions (``nn.zeros``, ``nn.cat`` ...), named ``nn.<name>`` in the
    registry; dtype names (``nn.float32``) are data, not functions."""
    return sorted(f"nn.{name}" for name in jnn.tensor_functions.__all__
                  if callable(getattr(jnn.tensor_functions, name)))


def test_every_layer_has_a_case():
    covered = {c.name for c in MODULE_CASES} | set(EXEMPT)
    missing = [n for n in _public_layers() if n not in covered]
    assert not missing, f"layers without a parity case in tests/cases: {missing}"


def test_every_function_has_a_case():
    covered = {c.name for c in FUNCTION_CASES} | set(EXEMPT)
    missing = [n for n in _public_functions() if n not in covered]
    assert not missing, f"functional kernels without a parity case in tests/cases: {missing}"


def test_every_top_level_function_has_a_case():
    covered = {c.name for c in FUNCTION_CASES} | set(EXEMPT)
    missing = [n for n in _public_top_level() if n not in covered]
    assert not missing, f"top-level functions without a parity case in tests/cases: {missing}"


def test_exemptions_have_reasons_and_exist():
    public = set(_public_layers()) | set(_public_functions()) | set(_public_top_level())
    for name, reason in EXEMPT.items():
        assert name in public, f"EXEMPT names {name!r}, which is not a public layer/function"
        assert isinstance(reason, str) and len(reason) > 10, f"EXEMPT[{name!r}] needs a reason"


def test_cases_name_real_things():
    for c in MODULE_CASES:
        assert hasattr(jnn, c.name), f"ModuleCase for unknown layer {c.name!r}"
    for c in FUNCTION_CASES:
        assert c.jnn_fn is not None or hasattr(F, c.name), f"FunctionCase for unknown {c.name!r}"
        if c.name.startswith("nn."):
            assert hasattr(jnn, c.name[3:]), f"FunctionCase for unknown {c.name!r}"
