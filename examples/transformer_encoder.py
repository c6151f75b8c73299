"""A TransformerEncoder classifier on a synthetic task: the most frequent token of a
variable-length sequence (padding masked with ``src_key_padding_mask``).

    python examples/transformer_encoder.py           # 400 steps, ~100% accuracy
    python examples/transformer_encoder.py --smoke   # a few steps, for CI

Embedding + learned positions -> TransformerEncoder (batch_first, 2 layers, dropout) ->
masked mean pooling -> Linear; one ``nn.jit``-compiled step with AdamW and a cosine schedule.
"""
import argparse
import time

import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

import jnn as nn
from jnn import optim

PAD = 0


class Classifier(nn.Module):
    def __init__(self, vocab, num_classes, max_len, d_model=32, nhead=4, num_layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.pos = nn.Parameter(nn.randn(max_len, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=4 * d_model,
                                           dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, tokens):
        pad = tokens == PAD                                   # (N, T) True where padded
        h = self.embed(tokens) + self.pos[: tokens.shape[1]]
        h = self.encoder(h, src_key_padding_mask=pad)
        keep = (~pad)[..., None].astype(h.dtype)
        pooled = (h * keep).sum(1) / keep.sum(1)              # mean over real tokens
        return self.head(pooled)


def make_batch(rng, batch, max_len, classes):
    """Tokens 1..classes (0 pads); the label is the most frequent token minus 1."""
    lengths = rng.integers(max_len // 2, max_len + 1, size=batch)
    x = rng.integers(1, classes + 1, size=(batch, max_len))
    x[np.arange(max_len)[None, :] >= lengths[:, None]] = PAD
    counts = np.stack([(x == t).sum(1) for t in range(1, classes + 1)], 1)
    return jnp.asarray(x, jnp.int32), jnp.asarray(counts.argmax(1), jnp.int32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-len", type=int, default=16)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.batch_size, args.max_len = 3, 8, 8

    start = time.perf_counter()
    nn.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = Classifier(args.classes + 1, args.classes, args.max_len)
    opt = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps)
    criterion = nn.CrossEntropyLoss()

    @nn.jit
    def train_step(model, opt, x, y):
        def loss_fn(model):
            return criterion(model(x), y)
        loss, grads = nn.value_and_grad(loss_fn)(model)
        opt.step(grads)
        return loss

    @nn.jit
    def accuracy(model, x, y):
        return (model(x).argmax(-1) == y).mean()

    model.train()
    with tqdm(range(args.steps), desc="transformer", unit="step") as bar:
        for step in bar:
            loss = train_step(model, opt, *make_batch(rng, args.batch_size, args.max_len,
                                                      args.classes))
            sched.step()                       # the lr is a program input: no recompilation
            if step % 20 == 0 or step == args.steps - 1:
                bar.set_postfix(loss=f"{float(loss):.4f}")
    model.eval()
    x, y = make_batch(rng, 512, args.max_len, args.classes)
    acc = float(accuracy(model, x, y))
    print(f"majority-token accuracy on 512 new sequences: {acc:.4f} after {args.steps} steps, "
          f"{time.perf_counter() - start:.1f} s")
    assert train_step.trace_count == 1
    return acc


if __name__ == "__main__":
    main()
