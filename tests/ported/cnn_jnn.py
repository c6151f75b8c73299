"""The jnn port of cnn_torch.py: the imports and the backward lines changed."""
import jnn as torch
import jnn as nn
import jnn.functional as F
from jnn import optim
from jnn.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.dropout = nn.Dropout(0.25)
        self.fc = nn.Linear(16 * 2 * 2, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = torch.flatten(x, 1)
        return self.fc(self.dropout(x))


def evaluate(model, images, labels):
    model.eval()
    with torch.no_grad():
        predictions = torch.argmax(model(images), dim=1)
    return (predictions == labels).sum().item() / len(labels)


def main(checkpoint, epochs=2, steps_per_epoch=3):
    torch.manual_seed(0)
    images = torch.randn(64, 1, 8, 8)
    labels = torch.randint(0, 10, (64,))
    loader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=True,
                        drop_last=True)
    model = Net()
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for epoch in range(epochs):
        model.train()
        for step, (x, y) in enumerate(loader):
            loss, grads = nn.value_and_grad(lambda model: criterion(model(x), y))(model)
            optimizer.step(grads)
            losses.append(loss.item())
            if step + 1 == steps_per_epoch:
                break
        scheduler.step()
    accuracy = evaluate(model, images, labels)
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": epochs}, checkpoint)

    restored = Net()
    state = torch.load(checkpoint)
    restored.load_state_dict(state["model"])
    optimizer = optim.Adam(restored.parameters(), lr=1e-2)
    optimizer.load_state_dict(state["optimizer"])
    assert evaluate(restored, images, labels) == accuracy
    return losses, accuracy
