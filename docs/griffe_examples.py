"""Griffe extension (mkdocs.yml): jnn's docstrings title their doctests ``Example:``; griffe's
Google parser knows only ``Examples:``, so the examples would render as Markdown text."""
import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.M)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
