"""What names tell about a source's files (the bytes decide the format: see detect)."""

from __future__ import annotations

import re

# Extensions that only weights carry: a file named so whose bytes are not weights is an error even
# in a folder with other weights, rather than being uploaded as an "extra" and breaking the model.
STRONG_SUFFIXES = {".safetensors", ".gguf", ".onnx"}
# Extensions of files that are weights when present; an empty one means an unfinished download.
WEIGHT_SUFFIXES = STRONG_SUFFIXES | {".bin", ".pt", ".pth", ".ckpt"}
# Trainer checkpoints keep these torch.save files next to the weights; they are not weights.
AUXILIARY_PICKLE = re.compile(
    r"^(training_args\.bin|optimizer\.(pt|bin)|scheduler\.pt|scaler\.pt|rng_state(_\d+)?\.pth)$"
)
