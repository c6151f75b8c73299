"""The notebooks in notebooks/ execute top to bottom without errors (nbclient, fresh kernel).

They are stored without outputs (small files, no stale results); this test runs every cell.
"""
from pathlib import Path

import pytest

# The notebook tools come with the `test` extra; a missing one is a failure, not a skip.
import ipykernel  # noqa: F401,E402
import matplotlib  # noqa: F401,E402
import nbclient  # noqa: E402
import nbformat  # noqa: E402
import sklearn  # noqa: F401,E402

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 600  # seconds per cell; a whole notebook takes ~60 s of CPU on 2 cores


def test_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == ["01_nn_toolbox.ipynb", "02_cnn_digits.ipynb",
                                           "03_lstm.ipynb", "04_pmap.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_small_and_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert path.stat().st_size < 100_000
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, \
                f"{path.name}: clear the outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError (with the cell and traceback) on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.outputs)
    assert images >= 1  # the figures (images, curves) were drawn
