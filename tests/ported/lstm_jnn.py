"""The jnn port of lstm_torch.py (torch-style: zero_grad, accumulate, clip, step)."""
import jnn as torch
import jnn as nn
from jnn import optim


class Tagger(nn.Module):
    def __init__(self, vocab=20, embed=8, hidden=16, tags=5):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=2, bidirectional=True,
                            batch_first=True, dropout=0.1)
        self.out = nn.Linear(2 * hidden, tags)

    def forward(self, tokens):
        h, _ = self.lstm(self.embed(tokens))
        return self.out(h)


def main(steps=3):
    torch.manual_seed(0)
    tokens = torch.randint(0, 20, (8, 6))
    tags = tokens % 5
    model = Tagger()
    optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    losses = []
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()

        def loss_fn(model):
            logits = model(tokens)
            return criterion(logits.reshape(-1, logits.shape[-1]), tags.reshape(-1))
        loss, grads = nn.value_and_grad(loss_fn)(model)
        grads.accumulate()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        predictions = model(tokens).argmax(-1)
        accuracy = (predictions == tags).astype(torch.float).mean().item()
    print(f"{sum(p.numel() for p in model.parameters())} parameters")
    return losses, accuracy
