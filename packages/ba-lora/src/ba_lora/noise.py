"""Noise on the input embeddings of the training samples (NEFTune: Jain et al., 2023,
"NEFTune: Noisy Embeddings Improve Instruction Finetuning", arXiv:2310.05914).

During a training step each real token's input embedding gets uniform noise in
``[-m, m]`` with ``m = alpha / sqrt(length * width)`` (``length``: the sample's tokens,
``width``: the embedding size). Validation losses and generations see no noise.

The noise of a sample is drawn from its own generator, seeded by the run's seed, the epoch
and the sample's row index: it does not depend on which micro-batch, process or resumed run
computes the sample, nor on the padding (pads get none, and ``length`` counts real tokens),
so resume equality, DDP equivalence and the padding's equivalence hold with noise on.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["noise_seed", "sample_noise", "batch_noise"]

_MIX = 1_000_003


def noise_seed(seed: int, epoch: int, index: int) -> int:
    """The generator seed of row ``index``'s noise in ``epoch`` (0-based) of a run with ``seed``."""
    return ((seed * _MIX + epoch) * _MIX + index) % (2**63)


def sample_noise(length: int, width: int, alpha: float, seed: int) -> torch.Tensor:
    """``[length, width]`` float32 noise, uniform in ``[-m, m]``, ``m = alpha / sqrt(length * width)``."""
    gen = torch.Generator().manual_seed(seed)
    bound = alpha / (length * width) ** 0.5
    return (torch.rand(length, width, generator=gen) * 2.0 - 1.0) * bound


def batch_noise(
    indices: Sequence[int],
    lengths: Sequence[int],
    longest: int,
    width: int,
    alpha: float,
    seed: int,
    epoch: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """``[len(indices), longest, width]``: row ``r`` holds the noise of sample ``indices[r]``
    on its first ``lengths[r]`` positions and zeros on its padding."""
    out = torch.zeros(len(indices), longest, width)
    for r, (index, length) in enumerate(zip(indices, lengths)):
        out[r, :length] = sample_noise(length, width, alpha, noise_seed(seed, epoch, index))
    return out.to(device=device, dtype=dtype)
