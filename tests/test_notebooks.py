"""The notebooks in notebooks/ execute top to bottom without errors (nbclient, fresh kernel), and
are committed with their outputs (plots visible on the repository page) from such a run.

Re-execute and save them after changing one (about a minute of CPU each):

    python tests/test_notebooks.py --write            # all, or name some: 02_cnn_digits
"""
import os
import sys
from pathlib import Path

import pytest

# The notebook tools come with the `test` extra; a missing one is a failure, not a skip.
import ipykernel  # noqa: F401,E402
import matplotlib  # noqa: F401,E402
import nbclient  # noqa: E402
import nbformat  # noqa: E402
import sklearn  # noqa: F401,E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 600  # seconds per cell; a whole notebook takes ~60 s of CPU on 2 cores
MAX_BYTES = 400_000  # outputs included (PNG figures); keeps the repository small


def execute(path: Path):
    """Run a notebook in a fresh kernel; return it with its outputs (timing metadata dropped,
    so a re-run changes only what the cells print)."""
    nb = nbformat.read(path, as_version=4)
    # The kernel imports this checkout's jnn (not another installed copy).
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError (with the cell and traceback) on any error
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb


def output_kinds(nb) -> list:
    """Per code cell, what it showed: stdout text, figures, values (stderr, where warnings
    and progress bars go, is left out; stream chunks merge)."""
    kinds = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        shown = []
        for out in cell.outputs:
            if out.output_type == "stream":
                kind = ("stream", out.name)
                if out.name == "stderr" or (shown and shown[-1] == kind):
                    continue
            else:
                kind = (out.output_type, tuple(sorted(out.get("data", {}))))
            shown.append(kind)
        kinds.append(shown)
    return kinds


def test_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == ["01_nn_toolbox.ipynb", "02_cnn_digits.ipynb",
                                           "03_lstm.ipynb", "04_pmap.ipynb",
                                           "05_sharded.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_with_the_outputs_of_one_run(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert path.stat().st_size < MAX_BYTES
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), \
        f"{path.name}: run it top to bottom and save (python tests/test_notebooks.py --write)"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for c in code for o in c.outputs) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_and_its_committed_outputs_are_current(path):
    fresh = execute(path)
    assert not [o for c in fresh.cells if c.cell_type == "code" for o in c.outputs
                if o.output_type == "error"]
    committed = nbformat.read(path, as_version=4)
    assert output_kinds(fresh) == output_kinds(committed), \
        f"{path.name}: the committed outputs are stale; python tests/test_notebooks.py --write"
    for cell in fresh.cells:   # nn.summary's table shows once per cell (torchinfo's rule)
        if cell.cell_type == "code":
            text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                           for o in cell.outputs)
            assert text.count("Total params:") <= 1, cell.source


if __name__ == "__main__":
    if sys.argv[1:2] != ["--write"]:
        sys.exit(__doc__)
    names = sys.argv[2:]
    for path in NOTEBOOKS:
        if names and path.stem not in names:
            continue
        nbformat.write(execute(path), path)
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
