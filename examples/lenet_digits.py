"""LeNet on scikit-learn's bundled 8x8 handwritten digits (offline), trained with ``nn.jit``.

    python examples/lenet_digits.py            # full run: 40 epochs, >= 97% test accuracy
    python examples/lenet_digits.py --smoke    # 1 short epoch, for CI

The code is PyTorch code with the imports changed; the training step is one XLA program.
"""
import argparse
import time

import jax.numpy as jnp
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

import jnn as nn
import jnn.functional as F
from jnn import optim
from jnn.utils.data import DataLoader, TensorDataset


class LeNet(nn.Module):
    """LeNet-5 for 8x8 inputs: two conv + max-pool stages, three fully connected layers.

    With 1,797 images the classic 6/16 channels overfit (about 95% test accuracy, in PyTorch
    too); 16/32 channels and dropout reach about 98%.
    """

    def __init__(self, num_classes=10, channels=(16, 32), dropout=0.25):
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)   # 8x8 -> 8x8, pooled to 4x4
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)  # 4x4 -> 4x4, pooled to 2x2
        self.fc1 = nn.Linear(c2 * 2 * 2, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.reshape(x.shape[0], -1)                 # torch: x.view(x.size(0), -1)
        x = self.dropout(F.relu(self.fc1(self.dropout(x))))
        x = self.dropout(F.relu(self.fc2(x)))
        return self.fc3(x)


def load_data(seed):
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]   # (1797, 1, 8, 8) in [0, 1]
    y = digits.target.astype(np.int32)
    return train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    args = parser.parse_args(argv)
    epochs, max_steps = (1, 5) if args.smoke else (args.epochs, None)

    start = time.perf_counter()
    nn.manual_seed(args.seed)
    x_train, x_test, y_train, y_test = load_data(args.seed)
    model = LeNet()
    opt = optim.Adam(model.parameters(), lr=args.lr)
    criterion = nn.CrossEntropyLoss()

    @nn.jit
    def train_step(model, opt, x, y):
        def loss_fn(model):
            return criterion(model(x), y)
        loss, grads = nn.value_and_grad(loss_fn)(model)
        opt.step(grads)
        return loss

    @nn.jit
    def predict(model, x):
        return model(x).argmax(-1)

    # shuffle draws from nn.manual_seed's stream; drop_last keeps one batch shape (one program)
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                              shuffle=True, drop_last=True)
    total = epochs * (max_steps or len(train_loader))
    model.train()
    with tqdm(total=total, desc="lenet", unit="step") as bar:
        for epoch in range(epochs):
            for i, (x, y) in enumerate(train_loader):
                if i == max_steps:
                    break
                loss = train_step(model, opt, x, y)
                bar.update()
                if i % 10 == 0:
                    bar.set_postfix(epoch=epoch + 1, loss=f"{float(loss):.4f}")
    model.eval()
    pred = np.asarray(predict(model, jnp.asarray(x_test)))
    accuracy = float((pred == y_test).mean())
    elapsed = time.perf_counter() - start
    print(f"test accuracy: {accuracy:.4f} ({(pred == y_test).sum()}/{len(y_test)}) "
          f"after {epochs} epoch(s), {elapsed:.1f} s")
    return accuracy


if __name__ == "__main__":
    main()
