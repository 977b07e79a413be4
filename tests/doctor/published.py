"""The published models the doctor's precision is measured on (the zoo test and
``benchmarks/doctor_precision.py``): every torchvision classifier and timm models of the
families whose structure once earned false alarms, each at its published input size."""

from __future__ import annotations

import torchvision

TORCHVISION = torchvision.models.list_models(module=torchvision.models)  # the classifiers
TIMM = {
    "se": ["seresnext26d_32x4d", "seresnet50", "mobilenetv3_large_100"],
    "resnet-d": ["resnet50d", "resnet26d"],
    "vit": ["vit_small_patch16_224", "deit_small_patch16_224"],
    "swin": ["swin_tiny_patch4_window7_224", "swinv2_tiny_window8_256"],
    "convnext": ["convnext_tiny", "convnextv2_tiny"],
    "regnet": ["regnetx_002", "regnety_008", "regnetz_b16"],
    "efficientnet": ["efficientnet_b0", "tf_efficientnet_b0", "efficientnetv2_rw_s"],
    "dpn": ["dpn68", "dpn92"],
    "csp": ["cspresnet50", "cspdarknet53", "cspresnext50"],
    # a gate pooled, resized back and multiplied in (DFC attention); class tokens joining
    # maps of other strides; a classifier written as a 7x7 conv over the 7x7 map
    "hybrids": ["ghostnetv2_100", "ghostnetv3_050", "crossvit_tiny_240", "pit_ti_224"],
    "vgg": ["vgg11"],
}
PUBLISHED = [f"torchvision:{name}" for name in TORCHVISION] + [
    f"timm:{name}" for family in TIMM.values() for name in family
]
# the true findings at the published size, and only those: SqueezeNet's unpadded
# stride-2 stem leaves the last row and column of a 224 input unread
WARNINGS = {
    "torchvision:squeezenet1_0": {"dropped-pixels"},
    "torchvision:squeezenet1_1": {"dropped-pixels"},
}
