"""An LSTM learns a synthetic sequence task: echo the token seen ``delay`` steps earlier.

    python examples/lstm_sequence.py            # 600 steps, ~100% accuracy on new sequences
    python examples/lstm_sequence.py --smoke    # a few steps, for CI

Embedding -> 2-layer LSTM (batch_first) -> Linear, trained on every time step with
CrossEntropyLoss; one ``nn.jit``-compiled step with Adam.
"""
import argparse
import time

import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

import jnn as nn
from jnn import optim


class Echo(nn.Module):
    def __init__(self, vocab=10, embed=16, hidden=64, num_layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens):
        out, (h, c) = self.lstm(self.embed(tokens))    # out: (N, T, hidden)
        return self.head(out)                          # (N, T, vocab)


def make_batch(rng, batch, length, vocab, delay):
    x = rng.integers(0, vocab, size=(batch, length))
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :-delay]                       # the first `delay` targets are class 0
    return jnp.asarray(x, jnp.int32), jnp.asarray(y, jnp.int32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--delay", type=int, default=3)
    parser.add_argument("--vocab", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.batch_size, args.length = 5, 8, 8

    start = time.perf_counter()
    nn.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = Echo(vocab=args.vocab)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    criterion = nn.CrossEntropyLoss()

    @nn.jit
    def train_step(model, opt, x, y):
        def loss_fn(model):
            logits = model(x)
            return criterion(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss, grads = nn.value_and_grad(loss_fn)(model)
        opt.step(grads)
        return loss

    @nn.jit
    def accuracy(model, x, y):
        pred = model(x).argmax(-1)
        return (pred[:, args.delay:] == y[:, args.delay:]).mean()

    with tqdm(range(args.steps), desc="lstm", unit="step") as bar:
        for step in bar:
            loss = train_step(model, opt, *make_batch(rng, args.batch_size, args.length,
                                                      args.vocab, args.delay))
            if step % 20 == 0 or step == args.steps - 1:
                bar.set_postfix(loss=f"{float(loss):.4f}")
    x, y = make_batch(rng, 256, args.length, args.vocab, args.delay)
    acc = float(accuracy(model, x, y))
    print(f"echo accuracy on 256 new sequences: {acc:.4f} after {args.steps} steps, "
          f"{time.perf_counter() - start:.1f} s")
    return acc


if __name__ == "__main__":
    main()
