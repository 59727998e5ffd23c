"""The comparison figure: per-example score distributions and component pass rates."""

from __future__ import annotations

import io
import os

__all__ = ["PNG_MARKER", "comparison_png"]

#: the PNG ``Software`` text of comparison.png (how ba-eval compare knows an earlier one of its own)
PNG_MARKER = b"ba-eval compare"


def comparison_png(report: dict, path: str | os.PathLike[str]) -> bytes:
    """Write ``comparison.png`` (atomically) from a comparison report; return its bytes (the
    HTML report embeds them, also before an ``output_group`` has committed the file).

    Left: per model, a box plot of per-example mean scores with the points jittered on
    top. Right: grouped bars of component pass rates, one bar per model.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ba_io import atomic_write

    names = [m["name"] for m in report["models"]]
    data = [[e["scores"][n] for e in report["per_example"]] for n in names]
    comps = list(report["models"][0]["component_pass_rates"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7 + 0.6 * len(comps), 4.5), gridspec_kw={"width_ratios": [1, 2]})
    try:
        ax1.boxplot(data, showfliers=False)
        ax1.set_xticks(range(1, len(names) + 1), names)
        rng = np.random.default_rng(0)  # jitter only; fixed so the figure is reproducible
        for k, values in enumerate(data, start=1):
            ax1.scatter(k + rng.uniform(-0.12, 0.12, len(values)), values, s=12, alpha=0.6, zorder=3)
        ax1.set_ylim(-0.05, 1.05)
        ax1.set_ylabel("per-example mean score")
        ax1.set_title(f"Scores (n = {report['n_examples']})")

        width = 0.8 / max(1, len(names))
        x = np.arange(len(comps))
        for k, m in enumerate(report["models"]):
            ax2.bar(
                x + (k - (len(names) - 1) / 2) * width,
                [m["component_pass_rates"][c] for c in comps],
                width,
                label=m["name"],
            )
        ax2.set_xticks(x, comps, rotation=45, ha="right")
        ax2.set_ylim(0, 1.2)  # headroom for the legend above the bars
        ax2.set_ylabel("pass rate (full points)")
        ax2.set_title("Component pass rates")
        ax2.legend(fontsize="small", loc="upper center", ncol=len(names), frameon=False)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, metadata={"Software": PNG_MARKER.decode()})
    finally:
        plt.close(fig)
    png = buf.getvalue()
    with atomic_write(path, "wb") as f:
        f.write(png)
    return png
