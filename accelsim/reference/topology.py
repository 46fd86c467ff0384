"""The shapes of the reference networks (torch-free): MobileNet-V1 blocks, ResNet stages and the
width multiplier's rounding rule, shared by every model builder."""
from __future__ import annotations

#: MobileNet-V1 depthwise-separable blocks: (pointwise output channels, depthwise stride).
MOBILENET_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1),
                    (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
#: ResNet stages: (channels, blocks, first stride).
RESNET20_STAGES = ((16, 3, 1), (32, 3, 2), (64, 3, 2))
RESNET18_STAGES = ((64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2))


def scaled(channels: int, width: float) -> int:
    """Channels after the width multiplier: ``max(1, int(channels * width))``."""
    return max(1, int(channels * width + 1e-9))
