"""mkdocs hooks (``hooks:`` in mkdocs.yml): the generated API pages and README includes.

- ``on_files`` adds the API reference pages that ``docs/gen_api.py`` builds from the package's
  public names; they exist only in the build, never in the repository.
- ``on_page_markdown`` replaces a line ``<!-- readme: Speed -->`` with that ``## Speed``
  section of README.md (to the next ``## `` heading; ``<!-- readme: intro -->`` is the text
  above the first one), so README stays the one source of those figures. Links into
  ``docs/`` are rewritten to the site's pages.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))          # this checkout's jnn, as for the tests
sys.path.insert(0, str(ROOT / "docs"))

import gen_api  # noqa: E402

_INCLUDE = re.compile(r"^<!-- readme: (.+?) -->$", re.M)


_pages: dict = {}


def _use_this_checkout():
    # Document this checkout's jnn even where another copy is installed (an editable install
    # of another worktree) and was imported while mkdocs loaded its plugins.
    if str(ROOT) in sys.path:
        sys.path.remove(str(ROOT))
    sys.path.insert(0, str(ROOT))
    loaded = sys.modules.get("jnn")
    if loaded is not None and Path(loaded.__file__).resolve().parents[1] != ROOT:
        for name in [n for n in sys.modules if n == "jnn" or n.startswith("jnn.")]:
            del sys.modules[name]


def on_config(config):
    # The API pages go under the nav entry "API reference" (after its index page).
    _pages.clear()
    _use_this_checkout()
    _pages.update(gen_api.pages())
    for entry in config["nav"]:
        if isinstance(entry, dict) and "API reference" in entry:
            entry["API reference"] = ["api/index.md"] + [p for p in _pages if p != "api/index.md"]
    return config


def on_files(files, config):
    for path, text in _pages.items():
        files.append(File.generated(config, path, content=text))
    return files


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    parts = re.split(r"^## ", text, flags=re.M)
    if title == "intro":
        body = parts[0].split("\n", 1)[1]          # without the "# jnn" title
    else:
        found = [p for p in parts[1:] if p.split("\n", 1)[0].strip() == title]
        if not found:
            raise ValueError(f"README.md has no '## {title}' section")
        body = found[0].split("\n", 1)[1]
    # README links into docs/ point at files beside this page on the site.
    return re.sub(r"\]\(docs/", "](", body).strip() + "\n"


def on_page_markdown(markdown, page, config, files):
    return _INCLUDE.sub(lambda m: readme_section(m.group(1)), markdown)
