"""Matplotlib figures from evaluations, run folders and experiment results (PNG files).

Every function takes plain values and a path, draws with the non-interactive Agg backend and
returns the path written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

METRIC_LABEL = {"val_error": "validation error", "val_r2": "validation R²"}


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _padded(curves: Sequence[Sequence[float]]) -> np.ndarray:
    n = max((len(c) for c in curves), default=0)
    out = np.full((len(curves), n), np.nan)
    for i, c in enumerate(curves):
        out[i, :len(c)] = c
    return out


def learning_curves(groups: dict, path, title: str = "") -> Path:
    """Training loss, validation loss and validation metric per epoch.

    ``groups`` maps a label to a list of evaluations (anything with ``train_loss``, ``val_loss``,
    ``val_metric``, ``metric``): each seed is a thin line, the mean over seeds a thick one.
    Diverged runs stop where they diverged.
    """
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    metric = "val_error"
    for k, (label, evals) in enumerate(groups.items()):
        color = colors[k % len(colors)]
        for ax, name in zip(axes, ("train_loss", "val_loss", "val_metric")):
            curves = _padded([getattr(e, name) for e in evals])
            if not curves.size:
                continue
            epochs = np.arange(1, curves.shape[1] + 1)
            for c in curves:
                ax.plot(epochs, c, color=color, alpha=0.25, lw=0.8)
            with np.errstate(all="ignore"):
                mean = np.nanmean(curves, axis=0) if np.isfinite(curves).any() else curves[0]
            ax.plot(epochs, mean, color=color, lw=2, label=f"{label} (n={len(evals)})")
        metric = evals[0].metric if evals else metric
    for ax, ylabel in zip(axes, ("training loss", "validation loss", METRIC_LABEL.get(metric, metric))):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[2].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)
