"""``nn.summary`` (jnn/summary.py): torchinfo-style tables computed with ``jax.eval_shape``."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jnn as nn
import jnn.functional as F
from jnn.summary import ModelStatistics, module_html, summary


# -- the seed's ResNet34 (chapter 000, section 4.7), written twice: jnn and torch -------------
def _resnet34(nn, F, reshape):
    class ResidualBlock(nn.Module):
        def __init__(self, inchannel, outchannel, stride=1, shortcut=None):
            super().__init__()
            self.left = nn.Sequential(
                nn.Conv2d(inchannel, outchannel, 3, stride, 1, bias=False),
                nn.BatchNorm2d(outchannel),
                nn.ReLU(inplace=True),
                nn.Conv2d(outchannel, outchannel, 3, 1, 1, bias=False),
                nn.BatchNorm2d(outchannel))
            self.right = shortcut

        def forward(self, x):
            out = self.left(x)
            residual = x if self.right is None else self.right(x)
            out += residual
            return F.relu(out)

    class ResNet(nn.Module):
        def __init__(self, num_classes=1000):
            super().__init__()
            self.pre = nn.Sequential(
                nn.Conv2d(3, 64, 7, 2, 3, bias=False),
                nn.BatchNorm2d(64),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, 2, 1))
            self.layer1 = self._make_layer(64, 64, 3, 1, is_shortcut=False)
            self.layer2 = self._make_layer(64, 128, 4, 2)
            self.layer3 = self._make_layer(128, 256, 6, 2)
            self.layer4 = self._make_layer(256, 512, 3, 2)
            self.classifier = nn.Linear(512, num_classes)

        def _make_layer(self, inchannel, outchannel, block_num, stride, is_shortcut=True):
            if is_shortcut:
                shortcut = nn.Sequential(
                    nn.Conv2d(inchannel, outchannel, 1, stride, bias=False),
                    nn.BatchNorm2d(outchannel))
            else:
                shortcut = None
            layers = [ResidualBlock(inchannel, outchannel, stride, shortcut)]
            for _ in range(1, block_num):
                layers.append(ResidualBlock(outchannel, outchannel))
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.pre(x)
            x = self.layer1(x)
            x = self.layer2(x)
            x = self.layer3(x)
            x = self.layer4(x)
            x = F.avg_pool2d(x, 7)
            x = reshape(x)  # torch: x.view(x.size(0), -1)
            return self.classifier(x)

    return ResNet()


def _torch_trace(model, x):
    order, shapes = [], {}
    names = {id(m): n for n, m in model.named_modules()}
    handles = []
    for m in model.modules():
        handles.append(m.register_forward_pre_hook(
            lambda mod, args: order.append((names[id(mod)], type(mod).__name__))))
        handles.append(m.register_forward_hook(
            lambda mod, args, out: shapes.__setitem__(names[id(mod)], list(out.shape))))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return order, shapes


def test_resnet34_summary_matches_torch():
    model = _resnet34(nn, F, lambda x: x.reshape(x.shape[0], -1))
    before = {k: np.asarray(v) for k, v in model.state_dict().items()}
    stats = summary(model, input_size=(1, 3, 224, 224), verbose=0, depth=10)
    assert isinstance(stats, ModelStatistics)
    assert stats.total_params == 21_797_672
    assert stats.trainable_params == 21_797_672
    assert stats.non_trainable_params == 0
    text = str(stats)
    assert "Total params: 21,797,672" in text
    assert "Trainable params: 21,797,672" in text
    assert "Non-trainable params: 0" in text

    tmodel = _resnet34(torch.nn, torch.nn.functional, lambda x: x.view(x.size(0), -1))
    order, shapes = _torch_trace(tmodel, torch.randn(1, 3, 224, 224))
    rows = stats.summary_list
    assert [(r.full_name, r.class_name) for r in rows] == order
    for r in rows:
        assert r.output_size == shapes[r.full_name], r.full_name
        tm = tmodel.get_submodule(r.full_name)
        assert r.num_params == sum(p.numel() for p in tm.parameters(recurse=False)), r.full_name
    assert rows[0].output_size == [1, 1000]
    assert max(r.depth for r in rows) == 4
    # abstract evaluation: the model is untouched (BatchNorm statistics, flags, hooks)
    after = model.state_dict()
    for k, v in before.items():
        np.testing.assert_array_equal(np.asarray(after[k]), v)
    assert model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    # the default depth folds deeper layers into their ancestors' counts
    default = str(summary(model, input_size=(1, 3, 224, 224), verbose=0))
    assert "layer1" not in default or "3-" in default
    assert "4-" not in default
    assert "Total mult-adds (G): 3.6" in default


def _small():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 2), nn.Tanh()))


def test_small_model_table_and_columns(capsys):
    model = _small()
    stats = summary(model, input_size=(16, 4),
                    col_names=("input_size", "output_size", "num_params", "params_percent",
                               "kernel_size", "mult_adds", "trainable"))
    printed = capsys.readouterr().out
    assert printed.strip() == str(stats).strip()
    assert stats.total_params == 4 * 8 + 8 + 8 * 2 + 2
    shapes = [(r.full_name, r.output_size) for r in stats.summary_list]
    assert shapes == [("", [16, 2]), ("0", [16, 8]), ("1", [16, 8]), ("2", [16, 2]),
                      ("2.0", [16, 2]), ("2.1", [16, 2])]
    assert "├─Linear (0): 1-1" in printed
    assert "│    └─Linear (0): 2-1" in printed
    assert "Input Shape" in printed and "Param %" in printed and "Trainable" in printed
    assert "Input size (MB)" in printed and "Estimated Total Size (MB)" in printed


def test_non_trainable_and_depth_folding():
    model = _small()
    model[0].requires_grad_(False)
    stats = summary(model, input_data=jnp.ones((3, 4)), depth=1, verbose=0,
                    col_names=("output_size", "num_params", "trainable"))
    assert stats.non_trainable_params == 40
    assert stats.trainable_params == 18
    text = str(stats)
    assert "Non-trainable params: 40" in text
    assert "2-1" not in text  # depth 1: the inner Sequential is folded
    row = [line for line in text.splitlines() if "Sequential (2): 1-3" in line][0]
    assert "18" in row
    assert "False" in [line for line in text.splitlines() if "Linear (0): 1-1" in line][0]


def test_no_compute_and_state_untouched():
    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(4)
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            return self.drop(self.bn(x))

    model = Counting()
    key_before = np.asarray(jax.random.key_data(nn.random.default_generator._current_key()))
    for mode in ("train", "eval", "same"):
        stats = summary(model, input_size=(1000, 4), mode=mode, verbose=0)
        assert stats.summary_list[0].output_size == [1000, 4]
    assert int(model.bn.num_batches_tracked) == 0
    np.testing.assert_array_equal(np.asarray(model.bn.running_mean), np.zeros(4))
    assert model.training and model.bn.training
    key_after = np.asarray(jax.random.key_data(nn.random.default_generator._current_key()))
    np.testing.assert_array_equal(key_before, key_after)


def test_multiple_inputs_kwargs_and_tuple_outputs():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 5)

        def forward(self, x, y, scale=1.0):
            return self.a(x) * scale, y.sum(-1)

    stats = summary(Two(), input_size=[(2, 3), (2, 7)], verbose=0)
    assert stats.summary_list[0].output_size == [[2, 5], [2]]
    stats = summary(Two(), input_data=[np.zeros((2, 3), np.float32), torch.zeros(2, 7)],
                    scale=2.0, verbose=0)
    assert stats.summary_list[1].output_size == [2, 5]
    assert "[[2, 5], [2]]" in str(stats)
    stats = summary(nn.Linear(3, 2), input_size=(3,), batch_dim=0, verbose=0)
    assert stats.summary_list[0].input_size == [1, 3]
    stats = summary(nn.Linear(3, 2, dtype=jnp.float64) if jax.config.jax_enable_x64
                    else nn.Linear(3, 2), input_data={"input": jnp.ones((4, 3))}, verbose=0)
    assert stats.summary_list[0].output_size == [4, 2]


def test_shared_module_is_marked_recursive():
    lin = nn.Linear(4, 4)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    stats = summary(model, input_size=(2, 4), verbose=0)
    assert stats.total_params == 20
    assert [r.is_recursive for r in stats.summary_list] == [False, False, False, True]
    assert "(recursive)" in str(stats)


def test_bad_arguments():
    model = _small()
    with pytest.raises(ValueError, match="unknown column 'flops'"):
        summary(model, input_size=(1, 4), col_names=("flops",), verbose=0)
    with pytest.raises(ValueError, match="input_size or input_data, not both"):
        summary(model, input_size=(1, 4), input_data=jnp.ones((1, 4)), verbose=0)
    with pytest.raises(ValueError, match="input_size"):
        summary(model, input_size=(1, "a"), verbose=0)
    with pytest.raises(ValueError, match="mode"):
        summary(model, input_size=(1, 4), mode="test", verbose=0)
    with pytest.raises(TypeError, match="jnn Module"):
        summary(torch.nn.Linear(2, 2), input_size=(1, 2), verbose=0)
    # a shape error in the model surfaces, and the hooks are still removed
    with pytest.raises(Exception):
        summary(model, input_size=(1, 5), verbose=0)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_module_html_tree():
    model = _small()
    model[2][0].requires_grad_(False)
    text = module_html(model)
    # root, Linear, inner Sequential, Linear; ReLU/Tanh (nothing inside) are plain lines
    assert text.count("<details") == 4
    assert "<details open>" in text
    assert "Linear" in text and "in_features=4, out_features=8, bias=True" in text
    assert "58 params (40 trainable)" in text
    assert "parameter <code>weight</code>: (8, 4) float32" in text
    assert "requires_grad=False" in text
    bn = module_html(nn.BatchNorm1d(3))
    assert "buffer <code>running_mean</code>: (3,) float32" in bn
    assert "&lt;" not in module_html(nn.Identity())


def test_lazy_modules_are_rejected_clearly():
    with pytest.raises(ValueError, match="uninitialized \\(lazy module\\)"):
        summary(nn.LazyLinear(3), input_size=(2, 4), verbose=0)


# -- printing once: torchinfo's verbose=None rule, checked in a fresh interpreter --------------
_CALLS = [  # (statement, times the table appears in a script, at the interactive prompt)
    ("summary(model, input_size=(2, 4))", 1, 1),       # the prompt echoes the returned value
    ("print(summary(model, input_size=(2, 4), verbose=0))", 1, 1),
    ("stats = summary(model, input_size=(2, 4))", 1, 0),
    ("print(summary(model, input_size=(2, 4)))", 2, 1),  # a script: twice, as in torchinfo
]


@pytest.mark.parametrize("interactive", [False, True], ids=["script", "prompt"])
def test_summary_prints_the_table_once(interactive):
    import os
    import subprocess
    import sys
    from pathlib import Path
    lines = ["import jnn as nn", "from jnn.summary import summary",
             "model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))"]
    for i, (call, _, _) in enumerate(_CALLS):
        lines += [f"print('--- {i}')", call]
    code = "\n".join(lines) + "\n"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]),
               JAX_PLATFORMS="cpu")
    cmd = [sys.executable, "-i", "-q"] if interactive else [sys.executable, "-c", code]
    proc = subprocess.run(cmd, input=code if interactive else None, capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    parts = proc.stdout.split("--- ")[1:]
    for (call, in_script, at_prompt), part in zip(_CALLS, parts):
        want = at_prompt if interactive else in_script
        assert part.count("Total params: 58") == want, f"{call}:\n{part}"
