"""Every public signature is annotated: the functional kernels and the layers' ``__init__`` and
``forward`` (torch's ``functional.pyi`` / ``nn.modules`` style, with the aliases of
``jnn.types``).

Only signatures are inspected (no computation). A parameter other than ``self``, ``*args`` and
``**kwargs`` without an annotation, or a missing return annotation, fails the test, naming it.
"""
import inspect
import typing

import jnn
import jnn.functional as F

# "name: reason" for the signatures that cannot be annotated (generated wrappers, say). Empty:
# every public signature is annotated.
ALLOWED_UNANNOTATED: dict = {}


def _public_functions():
    return [(f"F.{name}", getattr(F, name)) for name in sorted(F.__all__)
            if callable(getattr(F, name)) and not inspect.isclass(getattr(F, name))]


def _public_layers():
    names = getattr(jnn, "__all__", None) or dir(jnn)
    return [(name, getattr(jnn, name)) for name in sorted(names)
            if inspect.isclass(getattr(jnn, name)) and issubclass(getattr(jnn, name), jnn.Module)]


def _layer_methods():
    for name, cls in _public_layers():
        for method in ("__init__", "forward"):
            fn = getattr(cls, method)
            if fn is object.__init__:
                continue
            yield f"{name}.{method}", fn


def _signatures():
    yield from _public_functions()
    yield from _layer_methods()


def _missing(name, fn):
    sig = inspect.signature(fn)
    out = []
    for p in sig.parameters.values():
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.annotation is inspect.Parameter.empty:
            out.append(f"{name}({p.name})")
    if sig.return_annotation is inspect.Signature.empty:
        out.append(f"{name} -> (return)")
    return out


def test_the_walk_finds_the_public_api():
    assert len(_public_functions()) > 100
    assert len(_public_layers()) > 100
    assert "F.conv2d" in dict(_public_functions()) and "Conv2d" in dict(_public_layers())


def test_every_public_signature_is_annotated():
    missing = [m for name, fn in _signatures() if name not in ALLOWED_UNANNOTATED
               for m in _missing(name, fn)]
    assert not missing, f"{len(missing)} unannotated parameters or returns: {missing}"


def test_annotations_resolve():
    """The (string) annotations name things their modules define, so the docs site and
    ``typing.get_type_hints`` can evaluate them."""
    broken = []
    for name, fn in _signatures():
        try:
            typing.get_type_hints(inspect.unwrap(fn))
        except Exception as e:  # noqa: BLE001 - any failure names the signature
            broken.append(f"{name}: {type(e).__name__}: {e}")
    assert not broken, broken


def test_allow_list_is_current():
    names = {name for name, _ in _signatures()}
    stale = [n for n in ALLOWED_UNANNOTATED if n not in names]
    assert not stale, f"ALLOWED_UNANNOTATED names signatures that do not exist: {stale}"
    annotated = [n for n, fn in _signatures() if n in ALLOWED_UNANNOTATED and not _missing(n, fn)]
    assert not annotated, f"annotated now, drop from ALLOWED_UNANNOTATED: {annotated}"
