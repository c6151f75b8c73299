"""Every docstring example (``>>>``) in the jnn package runs and prints what it shows.

One test per module, so a failure names the module. Examples run with the names a reader of the
docs is told to assume (see ``docs/index.md``)::

    import jax, jax.numpy as jnp, numpy as np
    import jnn, jnn as nn, jnn.functional as F
    from jnn import init, optim

on top of the module's own namespace, with ``jnn.manual_seed(0)`` before each docstring, so a
random example prints the same thing whatever runs before it. Examples print shapes, dtypes or
rounded values, never a full float repr (``ELLIPSIS`` and ``NORMALIZE_WHITESPACE`` are on).

Run one module's examples while editing them:

    python -m pytest -q -p no:cacheprovider tests/test_doctests.py -k jnn.modules.linear
"""
import doctest
import importlib
import pkgutil
import warnings
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jnn
import jnn.functional as F
from jnn import init, optim

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
SEED = 0
MIN_EXAMPLES = 300  # the package has more; fewer means the finder stopped finding them

ALIASES = {"jax": jax, "jnp": jnp, "np": np, "jnn": jnn, "nn": jnn, "F": F, "init": init,
           "optim": optim}


def module_names() -> list:
    """Every module of the package, subpackages included (imported on the way)."""
    names = [jnn.__name__]
    for info in pkgutil.walk_packages(jnn.__path__, prefix=jnn.__name__ + ".",
                                      onerror=_raise):
        names.append(info.name)
    return sorted(names)


def _raise(name):
    # walk_packages swallows an ImportError of a subpackage unless told otherwise; a module
    # that fails to import must fail here, not drop its examples silently.
    raise ImportError(f"cannot import {name}")


def find(module_name: str) -> list:
    """The module's docstring tests (only those defined in it: re-exports are not counted twice)."""
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    globs = {**vars(module), **ALIASES}
    return [t for t in finder.find(module, module_name, globs=globs) if t.examples]


MODULES = module_names()


@pytest.fixture
def restore_rng():
    # The examples draw from (and seed) the global stream; the rest of the suite must not see it.
    state = jnn.get_rng_state()
    yield
    jnn.set_rng_state(state)


@pytest.mark.parametrize("module_name", MODULES)
def test_module_examples(module_name, restore_rng):
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    for test in find(module_name):
        jnn.manual_seed(SEED)
        # Some examples show deprecated aliases (F.upsample, utils.stateless), whose warnings
        # are the documented behaviour: recorded here, so a warnings-as-errors configuration
        # does not turn them into failures. Exceptions still fail the example.
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in " \
                               f"{module_name} (the report above names each)"


def test_examples_are_found():
    count = sum(len(t.examples) for name in MODULES for t in find(name))
    assert count > MIN_EXAMPLES, f"found only {count} docstring examples in jnn"


# -- the API reference (docs/gen_api.py) lists every public name ------------------------------

REFERENCED_NAMESPACES = ["jnn", "jnn.functional", "jnn.init", "jnn.optim",
                         "jnn.optim.lr_scheduler", "jnn.utils"]


def _documented_objects():
    """ids of the objects the generated API pages document, read from the pages' text."""
    import re
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
    import gen_api
    pages = gen_api.pages()
    ids = set()
    for text in pages.values():
        for path in re.findall(r"^::: (\S+)$", text, re.M) + \
                re.findall(r"^### `(\S+)`$", text, re.M) + \
                re.findall(r"^\| `(\S+)` \|", text, re.M):
            module_name, _, attr = path.rpartition(".")
            obj = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
            ids.add(_key(obj))
            ids.add(_key(obj, path))
    return pages, ids


def _key(obj, path=None):
    # Some exports are wrappers of the function they document (functional's eager conv
    # entry points): same module and qualified name, another object.
    name = getattr(obj, "__qualname__", None)
    module = getattr(obj, "__module__", None)
    if path is not None or not (name and module) or "<" in name:
        return id(obj)
    return f"{module}.{name}"


def test_api_pages_list_every_public_name():
    pages, ids = _documented_objects()
    missing = []
    for ns in REFERENCED_NAMESPACES:
        module = importlib.import_module(ns)
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type(module)):          # a submodule: its own page
                if f"api/{obj.__name__}.md" not in pages and all(
                        _key(getattr(obj, n)) in ids for n in getattr(obj, "__all__", [])) is False:
                    missing.append(f"{ns}.{name}")
            elif _key(obj) not in ids and id(obj) not in ids:
                missing.append(f"{ns}.{name}")
    assert not missing, f"not in the API pages: {missing}"


def test_site_renders_every_notebook():
    """A notebook added to notebooks/ must also be in mkdocs.yml's nav (rendered on the site)."""
    root = pathlib.Path(__file__).resolve().parents[1]
    nav = (root / "mkdocs.yml").read_text()
    missing = [p.name for p in sorted((root / "notebooks").glob("*.ipynb"))
               if f"notebooks/{p.name}" not in nav]
    assert not missing, f"notebooks missing from mkdocs.yml's nav: {missing}"
