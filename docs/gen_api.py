"""Generate the API reference pages (``api/*.md``) from the package's public names.

Nothing here is a hand list: every module of ``jnn`` whose dotted path has no ``_`` part is a
namespace, and its public names are its ``__all__`` (or, without one, the classes and functions
it defines). Each object is documented once, on the shallowest namespace that exports it
(``jnn.Linear``, not ``jnn.modules.linear.Linear``); a namespace left with nothing of its own
(``jnn.modules``, ``jnn.transforms``) gets no page. So a new module or a new name in an
``__all__`` appears in the reference without editing this file.

``docs/hooks.py`` calls :func:`pages` while ``mkdocs build`` runs (the pages are not written
into the repository); ``python docs/gen_api.py OUT_DIR`` writes them out to look at.
``tests/test_doctests.py`` checks that every public name is on a page.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import types
import typing
from pathlib import Path

PACKAGE = "jnn"
_SUBMODULES = "<!-- submodules of {ns} -->"


def namespaces() -> list:
    """Public modules of the package, shallowest first (``jnn``, ``jnn.functional``, ...)."""
    root = importlib.import_module(PACKAGE)
    names = [PACKAGE]
    for info in pkgutil.walk_packages(root.__path__, prefix=PACKAGE + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names, key=lambda n: (n.count("."), n))


def public_names(module: types.ModuleType) -> list:
    """``__all__``, or the public classes and functions the module defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [n for n, o in vars(module).items() if not n.startswith("_")
            and (inspect.isclass(o) or inspect.isfunction(o))
            and getattr(o, "__module__", None) == module.__name__]


def _defined_in_package(obj) -> bool:
    mod = getattr(obj, "__module__", None) or ""
    return (inspect.isclass(obj) or inspect.isfunction(obj)) and \
        (mod == PACKAGE or mod.startswith(PACKAGE + "."))


def _title(module: types.ModuleType) -> str:
    doc = inspect.getdoc(module) or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    return first.rstrip(".")


def page_name(namespace: str) -> str:
    return f"api/{namespace}.md"


def pages() -> dict:
    """``{path: markdown}`` for every API page, plus ``api/index.md`` listing them."""
    seen: set = set()
    out: dict = {}
    for ns in namespaces():
        module = importlib.import_module(ns)
        documented, aliases, submodules = [], [], []
        for name in public_names(module):
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType):
                submodules.append((name, obj))
                continue
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            (documented if _defined_in_package(obj) else aliases).append((name, obj))
        if not documented and not aliases:
            continue
        lines = [f"# `{ns}`", ""]
        title = _title(module)
        if title:
            lines += [title, ""]
        if submodules:
            lines += [_SUBMODULES.format(ns=ns), ""]
        # One section per defining module keeps related names together (all the conv layers).
        groups: dict = {}
        for name, obj in documented:
            groups.setdefault(obj.__module__, []).append((name, obj))
        for source, members in groups.items():
            if len(groups) > 1:
                heading = _title(importlib.import_module(source)) or source
                lines += [f"## {heading}", "", f"<small>Defined in `{source}`.</small>", ""]
            for name, obj in members:
                # The defining path, unless the object was made inside a function (a
                # decorator's wrapper): then the name it is exported under.
                path = f"{obj.__module__}.{obj.__qualname__}"
                if "<" in path:
                    # Made inside a function (a decorator's wrapper): griffe cannot resolve
                    # it, so its signature and docstring are written out here.
                    lines += _written_out(f"{ns}.{name}", obj)
                    continue
                lines += [f"::: {path}",
                          "    options:",
                          f"      heading: \"{ns}.{name}\"",
                          f"      toc_label: \"{name}\"",
                          ""]
        if aliases:
            lines += ["## Aliases", "", "| name | is |", "| --- | --- |"]
            for name, obj in aliases:
                # (A union alias's pipes sit inside the code span: not cell borders.)
                lines.append(f"| `{ns}.{name}` | `{_describe(obj)}` |")
            lines.append("")
        out[page_name(ns)] = ("\n".join(lines), [m.__name__ for _, m in submodules])
    # Links to the submodules that have pages of their own.
    for path, (text, subs) in list(out.items()):
        links = ", ".join(f"[`{m}`]({m}.md)" for m in subs if page_name(m) in out)
        out[path] = text.replace(_SUBMODULES.format(ns=path[4:-3]) + "\n",
                                 f"Submodules: {links}.\n" if links else "")
    index = ["# API reference", "",
             "Every public name of jnn, on the page of the shallowest namespace that exports it.",
             ""]
    index += [f"- [`{p[4:-3]}`]({p[4:]})" for p in out]
    out["api/index.md"] = "\n".join(index) + "\n"
    return out


def _written_out(title: str, obj) -> list:
    try:
        sig = str(inspect.signature(obj))
    except (TypeError, ValueError):
        sig = "(...)"
    doc = inspect.getdoc(obj) or ""
    return [f"### `{title}`", "", "```python", f"{title.rsplit('.', 1)[1]}{sig}", "```", "",
            "```text", doc, "```", ""]


def _describe(obj) -> str:
    if typing.get_origin(obj) is not None:  # a type alias (int | tuple[int, int]): as written
        return repr(obj)
    name = getattr(obj, "__name__", None)
    mod = getattr(obj, "__module__", None)
    if name and mod:
        return f"{mod}.{name}"
    return repr(obj)


if __name__ == "__main__":
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "site-api")
    for path, text in pages().items():
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        print(target)
