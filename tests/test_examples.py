"""The scripts in examples/ run end to end (their ``--smoke`` mode: a few steps, tiny inputs).

Each runs in a fresh interpreter, as a user would run it. The full runs (e.g. lenet_digits.py
reaching >= 97% test accuracy) are done by hand; their results are recorded in the README.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMEOUT = 600  # seconds; a smoke run takes well under 30 s of CPU time, but CI machines are shared

# The examples' own dependencies come with the `test` extra; a missing one is a failure here.
import sklearn  # noqa: F401,E402
import tqdm  # noqa: F401,E402

CASES = {  # script -> text its output must contain
    "lenet_digits.py": "test accuracy:",
    "resnet34.py": "Total params:",
    "lstm_sequence.py": "echo accuracy",
    "transformer_encoder.py": "majority-token accuracy",
    "data_parallel.py": "test accuracy on",
}


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CASES)


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_smoke(script):
    expected = CASES[script]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("JAX_PLATFORMS", "cpu")
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert expected in proc.stdout, proc.stdout[-3000:]
    assert "100%" in proc.stderr  # the tqdm progress bar ran to completion
