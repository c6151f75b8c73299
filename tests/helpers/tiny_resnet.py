"""A torchvision-style ResNet (BasicBlock, conv1/bn1/layerN/fc names) written against any
`nn` namespace: `build(nn, F)` works with `torch.nn` and with `jnn`, giving the same keys."""


def build(nn, F, flatten, num_classes=5):
    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 8))
            down = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))
            self.layer2 = nn.Sequential(BasicBlock(8, 16, 2, down), BasicBlock(16, 16))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(16, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer2(self.layer1(x))
            return self.fc(flatten(self.avgpool(x)))

    return ResNet()


if __name__ == "__main__":
    # Run without torch: load a torch.save checkpoint with jnn and write the eval outputs.
    import sys
    sys.modules["torch"] = None  # any `import torch` now fails
    import numpy as np

    import jnn as nn
    import jnn.functional as F
    ckpt, inputs, out = sys.argv[1:4]
    model = build(nn, F, lambda x: x.reshape(x.shape[0], -1))
    model.load_state_dict(nn.load(ckpt))
    model.eval()
    np.save(out, np.asarray(model(np.load(inputs))))
