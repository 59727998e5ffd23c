"""The statistics behind ``ba-eval compare``: bootstrap CI, paired Wilcoxon, Cohen's d_z.

Conventions (also in the README, "Statistics"):

* Paired differences are ``candidate - reference`` on per-example means, rounded to 12
  decimals so float noise (``0.1 + 0.2``) creates neither spurious non-zero differences
  nor spurious non-ties.
* Wilcoxon signed-rank, two-sided, ``zero_method="wilcox"`` (zero differences are
  dropped), no continuity correction. The method follows scipy's own ``method="auto"``
  rule but is chosen here and passed explicitly, so the report names what ran:
  ``exact`` (n <= 50, no zero and no tied absolute differences), else ``permutation``
  (n <= 13: all 2**n sign flips, exact given the ties/zeros), else ``asymptotic``
  (normal approximation with the tie correction). All differences zero: no test is
  possible; statistic ``None``, p = 1.0, and the reason.
* Cohen's d_z = mean(d) / sd(d) with sd the sample SD (ddof=1); Hedges' g_z = J * d_z
  with J = 1 - 3 / (4(n-1) - 1). d_z = 0 when the mean difference is 0. When it is not 0
  but the differences have no spread (or n < 2) d_z is infinite / undefined: reported as
  ``None`` with the reason, never a made-up number. g_z needs n >= 3 (J <= 0 below).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: a sequence of floats or a 1-D numpy array
Values = Sequence[float] | np.ndarray

__all__ = [
    "WilcoxonResult",
    "EffectSize",
    "bootstrap_ci",
    "wilcoxon_paired",
    "cohens_dz",
    "hedges_j",
    "sample_std",
    "paired_differences",
]

_DECIMALS = 12


def paired_differences(candidate: Values, reference: Values) -> np.ndarray:
    """``candidate - reference`` element-wise, rounded to 12 decimals.

    Raises:
        ValueError: when the two sequences differ in length.
    """
    c = np.asarray(candidate, dtype=float)
    r = np.asarray(reference, dtype=float)
    if c.shape != r.shape or c.ndim != 1:
        raise ValueError(f"paired samples must be 1-D and equally long, got {c.shape} and {r.shape}")
    return np.round(c - r, _DECIMALS)


def sample_std(values: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1); 0.0 for fewer than two values."""
    v = np.asarray(values, dtype=float)
    return float(np.std(v, ddof=1)) if v.size >= 2 else 0.0


def bootstrap_ci(
    values: Values, *, n_resamples: int = 10_000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (resampling examples with replacement).

    Args:
        values: one number per example (per-example means).
        n_resamples: bootstrap resamples (>= 1).
        seed: seed of ``numpy.random.default_rng``; equal seeds give equal intervals.
        level: confidence level, 0.95 for the 2.5th and 97.5th percentiles.

    Returns:
        ``(low, high)``; ``(x, x)`` for a single value.

    Raises:
        ValueError: for no values or ``n_resamples < 1``.
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    if n_resamples < 1:
        raise ValueError("n_resamples must be >= 1")
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    chunk = max(1, 2_000_000 // v.size)  # bound memory: chunk * n indices at a time
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = rng.integers(0, v.size, size=(stop - start, v.size))
        means[start:stop] = v[idx].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    bounds: np.ndarray = np.percentile(means, [tail, 100 - tail])
    return float(bounds[0]), float(bounds[1])


@dataclass(frozen=True)
class WilcoxonResult:
    """Outcome of :func:`wilcoxon_paired`; ``statistic`` is None when no test ran."""

    statistic: float | None
    p_value: float
    method: str
    n: int
    n_nonzero: int
    zero_method: str = "wilcox"
    correction: bool = False
    alternative: str = "two-sided"
    note: str | None = None

    def to_dict(self) -> dict:
        out = {
            "statistic": self.statistic,
            "p_value": self.p_value,
            "method": self.method,
            "n": self.n,
            "n_nonzero": self.n_nonzero,
            "zero_method": self.zero_method,
            "correction": self.correction,
            "alternative": self.alternative,
        }
        if self.note:
            out["note"] = self.note
        return out


def _has_ties(abs_nonzero: np.ndarray) -> bool:
    return np.unique(abs_nonzero).size < abs_nonzero.size


def wilcoxon_paired(candidate: Values, reference: Values, *, seed: int = 0) -> WilcoxonResult:
    """Two-sided paired Wilcoxon signed-rank test of ``candidate`` against ``reference``.

    Args:
        candidate: per-example means of the candidate model.
        reference: per-example means of the reference model, in the same order.
        seed: seeds the permutation method's generator (its p-value is exact for the
            n <= 13 it is used for, so the seed does not change it).

    Returns:
        A :class:`WilcoxonResult`; never NaN.

    Raises:
        ValueError: for unequal lengths or no pairs at all.
    """
    from scipy import stats

    d = paired_differences(candidate, reference)
    n = int(d.size)
    if n == 0:
        raise ValueError("wilcoxon_paired needs at least one pair")
    nonzero = d[d != 0]
    n_nonzero = int(nonzero.size)
    if n_nonzero == 0:
        return WilcoxonResult(
            statistic=None,
            p_value=1.0,
            method="none",
            n=n,
            n_nonzero=0,
            note=f"all {n} paired differences are zero (identical per-example means): "
            "no test is possible; p set to 1.0",
        )
    ties = _has_ties(np.abs(nonzero))
    zeros = n_nonzero < n
    if n <= 50 and not ties and not zeros:
        method, scipy_method, note = "exact", "exact", None
    elif n <= 13:
        method = "permutation"
        scipy_method = stats.PermutationMethod(rng=np.random.default_rng(seed))
        present = " and ".join(w for w, on in (("zero", zeros), ("tied", ties)) if on)
        note = f"{present} differences present: exact null distribution by enumerating all 2**{n} sign flips"
    else:
        method, scipy_method = "asymptotic", "asymptotic"
        why = []
        if n > 50:
            why.append("n > 50")
        if zeros:
            why.append(f"{n - n_nonzero} zero differences dropped")
        if ties:
            why.append("tied absolute differences")
        note = "normal approximation with tie correction (" + ", ".join(why) + ")"
    res = stats.wilcoxon(d, zero_method="wilcox", correction=False, alternative="two-sided", method=scipy_method)
    stat, p = float(res.statistic), float(res.pvalue)
    if not np.isfinite(stat) or not np.isfinite(p):  # pragma: no cover - guarded above
        raise ValueError(f"scipy returned a non-finite Wilcoxon result ({stat}, {p}) for n={n}")
    return WilcoxonResult(statistic=stat, p_value=min(1.0, p), method=method, n=n, n_nonzero=n_nonzero, note=note)


def hedges_j(n: int) -> float | None:
    """Hedges' small-sample correction J = 1 - 3 / (4(n-1) - 1); None for n < 3."""
    if n < 3:
        return None
    return 1.0 - 3.0 / (4.0 * (n - 1) - 1.0)


@dataclass(frozen=True)
class EffectSize:
    """Cohen's d_z and Hedges' g_z of paired differences (None when undefined)."""

    mean_diff: float
    sd_diff: float | None
    cohens_dz: float | None
    hedges_gz: float | None
    notes: tuple[str, ...] = field(default=())


def cohens_dz(candidate: Values, reference: Values) -> EffectSize:
    """Cohen's d_z (mean difference / SD of differences) with Hedges' correction.

    Raises:
        ValueError: for unequal lengths or no pairs.
    """
    d = paired_differences(candidate, reference)
    n = int(d.size)
    if n == 0:
        raise ValueError("cohens_dz needs at least one pair")
    mean = float(np.round(d.mean(), _DECIMALS))
    sd = float(np.std(d, ddof=1)) if n >= 2 else None
    notes: list[str] = []
    if mean == 0.0:
        dz: float | None = 0.0
        if sd == 0.0 or sd is None:
            notes.append("mean difference is 0: d_z = 0 by convention (no spread to scale by)")
    elif sd is None:
        dz = None
        notes.append("d_z undefined: one pair has no SD of differences")
    elif sd == 0.0:
        dz = None
        notes.append(f"d_z undefined (infinite): every difference equals {mean:+.4f}, so the SD of differences is 0")
    else:
        dz = mean / sd
    j = hedges_j(n)
    if dz is None:
        gz = None
    elif j is None:
        gz = None
        notes.append(f"Hedges' g_z needs n >= 3 (J = 1 - 3/(4(n-1)-1) is not positive for n = {n})")
    else:
        gz = j * dz
    return EffectSize(mean_diff=mean, sd_diff=sd, cohens_dz=dz, hedges_gz=gz, notes=tuple(notes))
