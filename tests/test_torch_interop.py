"""Weights move between PyTorch and jnn through files: a torchvision-style ResNet saved by
torch.save loads into jnn in a process where torch cannot be imported and gives torch's eval
outputs; a checkpoint written by nn.save loads into torch (weights_only=True) and gives jnn's."""
import os
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import torch

import jnn as nn
import jnn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "helpers"))
import tiny_resnet  # noqa: E402

HELPER = os.path.join(os.path.dirname(__file__), "helpers", "tiny_resnet.py")


def _torch_model():
    torch.manual_seed(0)
    model = tiny_resnet.build(torch.nn, torch.nn.functional, lambda x: torch.flatten(x, 1))
    # Non-trivial running statistics, as a trained model has.
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 32, 32))
    return model.eval()


def _inputs():
    return np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)


def test_torch_checkpoint_loads_without_torch_and_matches(tmp_path):
    model = _torch_model()
    ckpt, inputs, out = tmp_path / "resnet.pth", tmp_path / "x.npy", tmp_path / "out.npy"
    torch.save(model.state_dict(), ckpt)
    np.save(inputs, _inputs())
    proc = subprocess.run([sys.executable, HELPER, str(ckpt), str(inputs), str(out)],
                          capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    with torch.no_grad():
        want = model(torch.from_numpy(_inputs())).numpy()
    np.testing.assert_allclose(np.load(out), want, rtol=1e-4, atol=1e-5)


def test_jnn_checkpoint_loads_into_torch_and_matches(tmp_path):
    jmodel = tiny_resnet.build(nn, F, lambda x: x.reshape(x.shape[0], -1))
    jmodel.load_state_dict(_torch_model().state_dict())
    jmodel.train()
    jmodel(jnp.asarray(np.random.default_rng(1).standard_normal((4, 3, 32, 32)), jnp.float32))
    jmodel.eval()
    path = tmp_path / "jnn.pt"
    nn.save(jmodel.state_dict(), path)
    tmodel = tiny_resnet.build(torch.nn, torch.nn.functional, lambda x: torch.flatten(x, 1))
    tmodel.load_state_dict(torch.load(path, weights_only=True))
    tmodel.eval()
    with torch.no_grad():
        want = tmodel(torch.from_numpy(_inputs())).numpy()
    np.testing.assert_allclose(np.asarray(jmodel(jnp.asarray(_inputs()))), want, rtol=1e-4,
                               atol=1e-5)
