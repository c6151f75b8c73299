"""``nn.jit`` stays exactly the eager step when the user changes things between calls.

Each scenario runs the same sequence of steps and between-step changes twice, eagerly and
under ``nn.jit``, from the same seed, in float64, and compares losses, parameters, buffers and
optimizer state after every step (docs/design.md, "The nn.jit contract").
"""
import threading
import warnings
from collections import defaultdict

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jnn as nn
import jnn.functional as F
from jnn import optim
from jnn.random import RandomStreamError

# The models here are user code, written as torch users write it (``h * scale + b``).
pytestmark = pytest.mark.implicit_broadcasting

TOL = dict(rtol=1e-12, atol=1e-12)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        # No bias before BatchNorm: its gradient would be rounding noise, which Adam
        # normalises to O(1) steps and so amplifies ulp differences between programs.
        self.fc1 = nn.Linear(4, 6, bias=False)
        self.bn = nn.BatchNorm1d(6)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(6, 3)
        self.scale = jnp.ones(3)   # an array attribute: an input of the program
        self.mults = [1.0, 0.0]    # a list the forward reads
        self.cfg = {"t": 1.0}      # a dict the forward reads
        self.use_scale = True      # a flag

    def forward(self, x):
        h = self.drop(F.relu(self.bn(self.fc1(x)))) * self.mults[0]
        out = self.fc2(h) * self.cfg["t"]
        if self.use_scale:
            out = out * self.scale
        return out + self.mults[1]


def make(opt_name="sgd"):
    nn.manual_seed(0)
    model = Net().double()
    rng = np.random.default_rng(0)
    model.load_state_dict({k: rng.standard_normal(np.shape(v)) * 0.5 if "weight" in k or
                           "bias" in k else v for k, v in model.state_dict().items()})
    if opt_name == "sgd":
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    else:
        opt = optim.Adam(model.parameters(), lr=0.01)
    return model, opt


def step(model, opt, x, y):
    def loss_fn(m):
        return ((m(x) - y) ** 2).mean()
    loss, grads = nn.value_and_grad(loss_fn)(model)
    opt.step(grads)
    return loss


def torch_style_step(model, opt, x, y):
    opt.zero_grad()
    loss, grads = nn.value_and_grad(lambda m: ((m(x) - y) ** 2).mean())(model)
    grads.accumulate()
    opt.step()
    return loss


DATA = [(np.random.default_rng(i).standard_normal((8, 4)),
         np.random.default_rng(100 + i).standard_normal((8, 3))) for i in range(12)]


def snapshot(model, opt):
    out = {f"m.{k}": np.asarray(v) for k, v in model.state_dict().items()}
    for i, (p, s) in enumerate(opt.state.items()):
        for k, v in s.items():
            if hasattr(v, "shape"):
                out[f"o.{id(p)}.{k}"] = np.asarray(v)
    out["rng"] = np.asarray(nn.get_rng_state())
    return out


def run(ops, compiled, opt_name="sgd", step_fn=step):
    """``ops``: a list of ``"step"`` or callables ``(model, opt) -> None``."""
    with jax.enable_x64(True):
        model, opt = make(opt_name)
        fn = nn.jit(step_fn) if compiled else step_fn
        losses, states = [], []
        data = iter(DATA)
        for op in ops:
            if op == "step":
                x, y = next(data)
                losses.append(float(fn(model, opt, jnp.asarray(x), jnp.asarray(y))))
                states.append({k: v for k, v in snapshot(model, opt).items()
                               if not k.startswith("o.")})
            else:
                op(model, opt)
        return losses, states, model, opt, fn


def check_same(ops, opt_name="sgd", step_fn=step):
    le, se, me, oe, _ = run(ops, False, opt_name, step_fn)
    lj, sj, mj, oj, fn = run(ops, True, opt_name, step_fn)
    np.testing.assert_allclose(lj, le, **TOL)
    for a, b in zip(se, sj):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_allclose(b[k], a[k], **TOL, err_msg=k)
    assert len(oe.state_dict()["state"]) == len(oj.state_dict()["state"])
    return fn, (me, oe), (mj, oj)


def test_requires_grad_flag_on_one_parameter():
    def freeze(m, o):
        m.fc1.weight.requires_grad = False

    def unfreeze(m, o):
        m.fc1.weight.requires_grad_(True)
    check_same(["step", "step", freeze, "step", "step", unfreeze, "step"])


@pytest.mark.parametrize("edit", [
    lambda m, o: o.param_groups[0].update(maximize=True),
    lambda m, o: o.param_groups[0].update(nesterov=True, dampening=0),
    lambda m, o: o.param_groups[0]["params"].pop(),
    lambda m, o: o.param_groups[0]["params"].remove(m.fc1.weight),
    lambda m, o: o.param_groups[0]["params"].__delitem__(0),
    lambda m, o: o.param_groups[0].__setitem__("params", [m.fc1.weight]),
    lambda m, o: o.param_groups[0].setdefault("weight_decay", 0) or
    o.param_groups[0].update(weight_decay=0.1),
    lambda m, o: o.param_groups[0].pop("momentum") and
    o.param_groups[0].__setitem__("momentum", 0.5),
], ids=["maximize", "nesterov", "pop", "remove", "del", "reassign", "weight_decay",
        "pop_momentum"])
def test_param_group_edits(edit):
    check_same(["step", "step", edit, "step", "step"])


def test_lr_edit_in_place_and_to_zero_does_not_retrace():
    def lr(value):
        def op(m, o):
            o.param_groups[0]["lr"] = value
        return op
    fn, _, _ = check_same(["step", lr(0.01), "step", lr(0.02), "step"])
    assert fn.trace_count == 1


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
@pytest.mark.parametrize("reset", [lambda m, o: o.state.clear(),
                                   lambda m, o: setattr(o, "state", defaultdict(dict))],
                         ids=["clear", "reassign"])
def test_optimizer_state_reset(opt_name, reset):
    fn, (_, oe), (_, oj) = check_same(["step", "step", reset, "step", "step"], opt_name)
    sd = oj.state_dict()["state"]
    assert sd and all(sd[k].keys() == oe.state_dict()["state"][k].keys() for k in sd)


def test_plain_attributes_the_forward_reads():
    def scale(m, o):
        m.scale = 5 * m.scale

    def mults(m, o):
        m.mults[0] = 3.0

    def cfg_new(m, o):
        m.cfg = {"t": 0.5}

    def cfg_inplace(m, o):
        m.cfg["t"] = 0.7

    def flag(m, o):
        m.use_scale = False
    fn, _, _ = check_same(["step", scale, "step", mults, "step", cfg_new, "step", cfg_inplace,
                           "step", flag, "step", scale, "step"])
    # The array attribute is an input: scaling it again did not need a new program.
    assert fn.trace_count == 5


def test_module_changes_between_steps():
    rng = np.random.default_rng(5)
    w, b = rng.standard_normal((3, 6)), rng.standard_normal(3)

    def replace(m, o):
        new = nn.Linear(6, 3).double()
        new.weight.data, new.bias.data = jnp.asarray(w), jnp.asarray(b)
        m.fc2 = new

    def hook(m, o):
        m._handle = m.fc2.register_forward_hook(lambda mod, args, out: out * 0.5)

    def unhook(m, o):
        m._handle.remove()

    def momentum(m, o):
        m.bn.momentum = 0.5

    def dropout(m, o):
        m.drop.p = 0.0

    def evaluate(m, o):
        m.eval()

    def train(m, o):
        m.train()
    check_same(["step", hook, "step", unhook, "step", momentum, "step", dropout, "step",
                evaluate, "step", train, "step", replace, "step"])


def test_load_state_dict_and_add_param_group():
    saved = {}

    def save(m, o):
        saved["m"], saved["o"] = m.state_dict(), o.state_dict()

    def restore(m, o):
        m.load_state_dict(saved["m"])
        o.load_state_dict(saved["o"])

    def split_groups(m, o):
        params = o.param_groups[0]["params"]
        del params[next(i for i, p in enumerate(params) if p is m.fc2.weight)]
        o.add_param_group({"params": [m.fc2.weight], "lr": 0.2})
    check_same(["step", save, "step", "step", restore, "step", split_groups, "step", "step"])


def test_torch_style_loop_compiles_once():
    fn, _, _ = check_same(["step"] * 4, step_fn=torch_style_step)
    assert fn.trace_count == 1


def test_parametrizations_between_steps():
    def weight_norm(m, o):
        nn.utils.parametrizations.weight_norm(m.fc1)

    def spectral(m, o):
        nn.utils.spectral_norm(m.fc2)
    check_same(["step", weight_norm, "step", "step", spectral, "step", "step"])


# -- Python side effects inside the step -------------------------------------------------------

class Counting(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.fc(x) * self.calls


def test_python_counter_in_forward_is_exact_and_warns():
    eager, compiled = Counting(), Counting()
    compiled.load_state_dict(eager.state_dict())
    fn = nn.jit(lambda m, x: m(x))
    x = jnp.ones((2, 3))
    with pytest.warns(nn.JitRecompileWarning, match="Counting.calls"):
        for _ in range(6):
            np.testing.assert_allclose(fn(compiled, x), eager(x), rtol=1e-6)
    assert compiled.calls == eager.calls == 6


class Caching(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        out = self.fc(x)
        self.last = out            # a new array attribute, assigned inside the step
        self.shape_seen = x.shape  # a Python value, the same every call
        return out


def test_arrays_assigned_in_the_step_are_written_back():
    m = Caching()
    fn = nn.jit(lambda m, x: m(x))
    for i in range(3):
        x = jnp.full((2, 3), float(i))
        out = fn(m, x)
        assert not isinstance(m.last, jax.core.Tracer)
        np.testing.assert_array_equal(m.last, out)
    assert m.shape_seen == (2, 3)
    assert fn.trace_count == 2  # once with the attribute new, once with it an input


class Leaking(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.history = []

    def forward(self, x):
        out = self.fc(x)
        self.history.append(out)
        return out


def test_traced_array_left_in_a_list_raises_and_leaks_nothing():
    m = Leaking()
    with pytest.raises(RuntimeError, match="Leaking.history"):
        nn.jit(lambda m, x: m(x))(m, jnp.ones((2, 3)))
    assert m.history == []
    assert not isinstance(m.fc.weight.data, jax.core.Tracer)


def test_numpy_bool_is_a_static_flag():
    fn = nn.jit(lambda m, x, flag: m(x) * 2 if flag else m(x))
    m = nn.Linear(3, 3)
    x = jnp.ones((1, 3))
    np.testing.assert_allclose(fn(m, x, np.bool_(True)), m(x) * 2, rtol=1e-6)
    np.testing.assert_allclose(fn(m, x, np.bool_(False)), m(x), rtol=1e-6)


def test_buffer_of_a_module_captured_by_closure_raises():
    bn = nn.BatchNorm1d(3).eval()
    fn = nn.jit(lambda m, x: bn(m(x)))
    with pytest.raises(RuntimeError, match="not reachable"):
        fn(nn.Linear(3, 3), jnp.ones((2, 3)))


def test_lazy_module_initialised_inside_the_step():
    def outputs(fn):
        nn.manual_seed(3)
        model = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.Linear(4, 2))
        return [np.asarray(fn(model, jnp.full((2, 5), float(i)))) for i in range(3)], model
    eager, _ = outputs(lambda m, x: m(x))
    compiled, model = outputs(nn.jit(lambda m, x: m(x)))
    np.testing.assert_allclose(compiled, eager, rtol=1e-6)
    assert type(model[0]) is nn.Linear
    assert not isinstance(model[0].weight.data, jax.core.Tracer)


# -- threads -------------------------------------------------------------------------------------

def test_threads_calling_one_function_equal_sequential_runs():
    def build(seed):
        nn.manual_seed(seed)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
        return model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    fn = nn.jit(step)
    xs = [jnp.asarray(np.random.default_rng(i).standard_normal((4, 4)), jnp.float32)
          for i in range(20)]
    ys = [jnp.zeros((4, 2))] * 20
    reference = []
    for seed in range(4):
        model, opt = build(seed)
        for x, y in zip(xs, ys):
            fn(model, opt, x, y)
        reference.append(model.state_dict())
    models = [build(seed) for seed in range(4)] + [None]
    shared = build(9)
    errors = []

    def work(index):
        try:
            model, opt = models[index] if index < 4 else shared
            # (The shared model sees one batch, so the threads' interleaving cannot matter.)
            batches = zip(xs, ys) if index < 4 else [(xs[0], ys[0])] * len(xs)
            for x, y in batches:
                fn(model, opt, x, y)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1, 2, 3, 4, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for (model, _), expected in zip(models[:4], reference):
        for k, v in model.state_dict().items():
            assert not isinstance(v, jax.core.Tracer)
            np.testing.assert_allclose(v, expected[k], rtol=1e-6)
    # The shared model took 40 steps from two threads, one after another.
    model, opt = build(9)
    for _ in range(2 * len(xs)):
        fn(model, opt, xs[0], ys[0])
    for k, v in shared[0].state_dict().items():
        np.testing.assert_allclose(v, model.state_dict()[k], rtol=1e-5, atol=1e-6)
    nn.save(shared[0].state_dict(), __import__("io").BytesIO())


# -- the pytree bridge ---------------------------------------------------------------------------

def test_pytree_copies_share_nothing_mutable():
    m = Net()
    copy = jax.tree.map(lambda x: x, m)
    fired = []
    copy.fc2.register_forward_hook(lambda *a: fired.append(1))
    m(jnp.ones((2, 4)))
    assert not fired
    copy.mults[0] = 7.0
    copy.cfg["t"] = 3.0
    assert m.mults[0] == 1.0 and m.cfg["t"] == 1.0
    assert m._forward_hooks is not copy._forward_hooks
    leaves = jax.tree_util.tree_leaves(m)
    assert any(leaf is m.scale for leaf in leaves)  # array attributes are leaves


def test_jax_jit_over_two_instances_uses_each_ones_hooks():
    f = jax.jit(lambda m, x: m(x))
    m1, m2 = nn.Linear(3, 3), nn.Linear(3, 3)
    m2.load_state_dict(m1.state_dict())
    m2.register_forward_hook(lambda mod, args, out: out * 10)
    x = jnp.ones((1, 3))
    np.testing.assert_allclose(f(m1, x), m1(x), rtol=1e-6)
    np.testing.assert_allclose(f(m2, x), m1(x) * 10, rtol=1e-6)


# -- random kernels under transforms jnn does not manage ---------------------------------------

@pytest.mark.parametrize("transform", ["jit", "vmap", "scan"])
@pytest.mark.parametrize("kernel", [
    lambda x: F.dropout(x, 0.5, True),
    lambda x: F.rrelu(x, training=True),
    lambda x: F.gumbel_softmax(x),
    lambda x: F.alpha_dropout(x, 0.5, True),
    lambda x: x + nn.randn(*x.shape),
], ids=["dropout", "rrelu", "gumbel_softmax", "alpha_dropout", "randn"])
def test_random_kernel_without_key_under_foreign_transform_raises(transform, kernel):
    x = jnp.ones((4, 3))
    wrapped = {"jit": jax.jit(kernel), "vmap": jax.vmap(kernel),
               "scan": lambda x: jax.lax.scan(lambda c, r: (c, kernel(r)), 0.0, x)[1]}[transform]
    with pytest.raises(RandomStreamError, match="key="):
        wrapped(x)


def test_random_kernels_fine_eagerly_under_grad_and_nn_jit():
    x = jnp.ones((64,))
    g = jax.grad(lambda x: F.dropout(x, 0.5, True).sum())
    assert not np.array_equal(g(x), g(x))  # a fresh mask per call
    fn = nn.jit(lambda x: F.dropout(x, 0.5, True))
    assert not np.array_equal(fn(x), fn(x))
    k = jax.random.PRNGKey(0)
    np.testing.assert_array_equal(jax.jit(lambda x: F.dropout(x, 0.5, True, key=k))(x),
                                  F.dropout(x, 0.5, True, key=k))


def test_arguments_on_different_devices_raise_torch_message():
    first, second = jax.devices()[:2]  # conftest simulates 8 CPU devices
    m = nn.Linear(3, 3).to(first)
    x = jax.device_put(jnp.ones((2, 3)), second)
    with pytest.raises(ValueError, match="same device"):
        nn.jit(lambda m, x: m(x))(m, x)


def test_scheduler_stepping_inside_the_compiled_step():
    def run(compiled):
        with jax.enable_x64(True):
            model, opt = make()
            sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

            def step_and_schedule(model, opt, x, y):
                loss = step(model, opt, x, y)
                sched.step()
                return loss
            fn = nn.jit(step_and_schedule) if compiled else step_and_schedule
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", nn.JitRecompileWarning)
                losses = [float(fn(model, opt, jnp.asarray(x), jnp.asarray(y)))
                          for x, y in DATA[:5]]
            return losses, opt.param_groups[0]["lr"], model.state_dict()
    (le, lre, se), (lj, lrj, sj) = run(False), run(True)
    np.testing.assert_allclose(lj, le, **TOL)
    np.testing.assert_allclose(lrj, lre, **TOL)
    for k in se:
        np.testing.assert_allclose(sj[k], se[k], **TOL)


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_steady_state_calls_take_the_fast_path(opt_name):
    # A step's own write-back and the usual between-step calls (a scheduler changing lr)
    # are values, not structure: the reachable state is collected once.
    with jax.enable_x64(True):
        model, opt = make(opt_name)
        sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
        fn = nn.jit(step)
        x, y = (jnp.asarray(a) for a in DATA[0])
        for _ in range(5):
            fn(model, opt, x, y)
            sched.step()
    assert fn.refresh_count == 1 and fn.trace_count == 1
