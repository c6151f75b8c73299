"""Data-parallel training with ``nn.pmap``: a small CNN on the 8x8 digits, on 8 devices.

    python examples/data_parallel.py            # 20 epochs on 8 simulated CPU devices
    python examples/data_parallel.py --smoke    # a few steps, for CI

On a CPU-only machine the 8 devices are simulated (``XLA_FLAGS`` is set below, before JAX is
imported); on a machine with accelerators ``nn.pmap`` uses ``jax.devices()`` as they are. Each
step splits the batch across the devices, averages the gradients, averages the BatchNorm
statistics, and keeps parameters and optimizer state replicated.
"""
import os

if "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_force_host_platform_device_count=8").strip()

import argparse  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from tqdm import tqdm  # noqa: E402

import jnn as nn  # noqa: E402
from jnn import optim  # noqa: E402
from jnn.utils.data import DataLoader, TensorDataset  # noqa: E402


def small_cnn(num_classes=10):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, stride=2), nn.BatchNorm2d(32), nn.ReLU(),   # 8 -> 4
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 4 * 4, num_classes))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch (all devices)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    args = parser.parse_args(argv)
    epochs, max_steps = (1, 3) if args.smoke else (args.epochs, None)

    start = time.perf_counter()
    devices = jax.devices()
    print(f"{len(devices)} devices: {devices[0].platform}")
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int32)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25,
                                                        random_state=args.seed, stratify=y)
    nn.manual_seed(args.seed)
    model = small_cnn()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    criterion = nn.CrossEntropyLoss()

    def train_step(model, opt, x, y):
        def loss_fn(model):
            return criterion(model(x), y)
        loss, grads = nn.value_and_grad(loss_fn)(model)   # averaged across devices by pmap
        opt.step(grads)
        return loss

    step = nn.pmap(train_step)            # the batch's dim 0 is split across all devices
    predict = nn.pmap(lambda model, x: model(x).argmax(-1))

    if args.batch_size % len(devices):
        raise SystemExit(f"--batch-size {args.batch_size} must divide across {len(devices)} "
                         "devices")
    # shard=True puts each batch on the devices already split along dim 0, the way nn.pmap
    # wants it, so the step does not move it again.
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                              shuffle=True, drop_last=True, shard=True)
    model.train()
    with tqdm(total=epochs * (max_steps or len(train_loader)), desc="pmap", unit="step") as bar:
        for epoch in range(epochs):
            for i, (x, y) in enumerate(train_loader):
                if i == max_steps:
                    break
                loss = step(model, opt, x, y)
                bar.update()
                if i % 5 == 0:
                    bar.set_postfix(epoch=epoch + 1, loss=f"{float(loss):.4f}")
    model.eval()
    n = len(x_test) // len(devices) * len(devices)       # pmap needs equal shards
    pred = np.asarray(predict(model, jnp.asarray(x_test[:n])))
    acc = float((pred == y_test[:n]).mean())
    print(f"test accuracy on {n} images: {acc:.4f}; {step.trace_count} compilation(s); "
          f"{time.perf_counter() - start:.1f} s")
    return acc


if __name__ == "__main__":
    main()
