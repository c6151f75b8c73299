"""The porting guide (docs/porting.md) checked on real programs: three ordinary PyTorch programs
in tests/ported/ and their jnn ports. Both versions run a few steps at tiny sizes, and the number
of lines the port changed (difflib) must stay within the budget the guide states."""
import difflib
import importlib.util
import math
from pathlib import Path

import jax
import numpy as np
import pytest
import torch

import jnn as nn

PORTED = Path(__file__).resolve().parent / "ported"
# Changed lines per program (replaced or inserted, whichever is more, plus deleted), as
# stated in docs/porting.md. A port that needs more lines than this is a regression.
BUDGET = {"cnn": 9, "lstm": 10, "transformer": 11}
BACKWARD_LINES = {"optimizer.zero_grad()", "loss = criterion(model(x), y)", "loss.backward()",
                  "optimizer.step()"}


def _code(name: str) -> list:
    """The program's lines after its module docstring (which says what the file is)."""
    lines = (PORTED / f"{name}.py").read_text().splitlines()
    end = next(i for i, line in enumerate(lines) if line.rstrip().endswith('"""') and
               (i > 0 or line.count('"""') == 2))
    return lines[end + 1:]


def changes(program: str):
    """(changed-line count, torch lines that changed) between ``<program>_torch.py`` and
    ``<program>_jnn.py``."""
    before, after = _code(f"{program}_torch"), _code(f"{program}_jnn")
    count, removed = 0, []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after,
                                                       autojunk=False).get_opcodes():
        if tag != "equal":
            count += max(i2 - i1, j2 - j1)
            removed += [line.strip() for line in before[i1:i2]]
    return count, removed


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"ported_{name}", PORTED / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("program", sorted(BUDGET))
def test_port_stays_within_its_changed_line_budget(program):
    count, _ = changes(program)
    assert count <= BUDGET[program], f"{program}: the port changes {count} lines, budget " \
        f"{BUDGET[program]}; update docs/porting.md if this is intended"


def test_the_cnn_port_changes_only_imports_and_backward_lines():
    _, removed = changes("cnn")
    others = [line for line in removed if not line.startswith(("import ", "from "))
              and line not in BACKWARD_LINES]
    assert not others, f"the CNN port changed more than imports and backward lines: {others}"


def _finite(losses):
    return len(losses) > 0 and all(math.isfinite(v) for v in losses)


def test_cnn_runs_in_both_and_the_checkpoints_cross_over(tmp_path):
    t_losses, _ = _load("cnn_torch").main(tmp_path / "torch.pt", steps_per_epoch=2)
    jnn_program = _load("cnn_jnn")
    j_losses, _ = jnn_program.main(tmp_path / "jnn.pt", steps_per_epoch=2)
    assert len(j_losses) == len(t_losses) == 4 and _finite(t_losses) and _finite(j_losses)
    torch_program = _load("cnn_torch")
    saved = torch.load(tmp_path / "jnn.pt", weights_only=True)      # jnn's file, read by torch
    torch_program.Net().load_state_dict(saved["model"])
    assert saved["scheduler"]["last_epoch"] == 2
    jnn_program.Net().load_state_dict(nn.load(tmp_path / "torch.pt")["model"])  # and back


@pytest.mark.parametrize("program", ["lstm", "transformer"])
def test_rnn_and_transformer_run_in_both(program):
    # Two steps: the ports run eagerly (op by op, as written); docs/porting.md shows nn.jit.
    t_losses, t_out = _load(f"{program}_torch").main(steps=2)
    j_losses, j_out = _load(f"{program}_jnn").main(steps=2)
    assert len(j_losses) == len(t_losses) and _finite(t_losses) and _finite(j_losses)
    if program == "transformer":
        assert tuple(j_out) == tuple(t_out)


def test_num_batches_tracked_dtype_matches_torch_under_x64():
    with jax.enable_x64(True):
        bn = nn.BatchNorm2d(3)
        bn(nn.randn(2, 3, 4, 4))
        assert str(bn.num_batches_tracked.dtype) == "int64"
        assert str(torch.nn.BatchNorm2d(3).num_batches_tracked.dtype) == "torch.int64"
    bn32 = nn.BatchNorm2d(3)
    assert bn32.num_batches_tracked.dtype == np.int32   # without x64, documented in batchnorm.py
    state = torch.nn.BatchNorm2d(3).state_dict()
    bn32.load_state_dict(state)                       # torch's int64 loads (range-checked)
