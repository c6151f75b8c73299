"""The jnn port of transformer_torch.py: imports, backward lines and tensor methods."""
import math

import jnn as torch
import jnn as nn
from jnn import optim


class Classifier(nn.Module):
    def __init__(self, vocab=16, d_model=16, nhead=2, classes=3, max_len=12):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=32, dropout=0.1,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, classes)

    def forward(self, tokens, padding_mask):
        x = self.embed(tokens) * math.sqrt(self.embed.embedding_dim)
        x = x + self.pos[:, :tokens.shape[1]]
        x = self.encoder(x, src_key_padding_mask=padding_mask)
        keep = torch.unsqueeze(~padding_mask, -1).astype(torch.float)
        return self.head((x * keep).sum(1) / keep.sum(1))


def main(steps=3):
    torch.manual_seed(0)
    tokens = torch.randint(1, 16, (8, 10))
    lengths = torch.randint(4, 11, (8,))
    padding_mask = torch.arange(10)[None, :] >= lengths[:, None]
    tokens = torch.where(padding_mask, 0, tokens)
    labels = tokens[:, 0] % 3
    model = Classifier()
    optimizer = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    losses = []
    model.train()
    for _ in range(steps):
        loss, grads = nn.value_and_grad(lambda m: criterion(m(tokens, padding_mask), labels))(model)
        optimizer.step(grads)
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(tokens, padding_mask)
    return losses, logits.shape
