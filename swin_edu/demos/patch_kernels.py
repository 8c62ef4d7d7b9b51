"""What a trained patch embedding learned: its convolution kernels, split into an average and differences.

A kernel of the patch embedding (``patch_embed.proj.weight[o]``, shape ``(C_in, p, p)``) is a linear filter of one
patch. Its *average* part (the kernel's mean, spread over the patch) responds to the patch's brightness; the rest
responds to differences between the pixels of the patch: edges and strokes. For the 2 x 2 kernels of the course's
digits model the split is exact and has directions: the four 2 x 2 Haar patterns (average, left-right difference,
top-bottom difference, diagonal) are an orthonormal basis of the kernel, so the squares of a kernel's four
coefficients say which share of its energy each pattern holds.

Notebook 01 shows the trained digits model's 32 kernels (:func:`swin_edu.weights.course_model`) with
:func:`plot_patch_kernels` and measures :func:`kernel_energy`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["HAAR_2X2", "HAAR_NAMES", "kernel_energy", "plot_patch_kernels"]

#: the four orthonormal 2 x 2 patterns: the average, a left-right difference (a vertical edge), a top-bottom
#: difference (a horizontal edge) and the diagonal (checkerboard) difference
HAAR_2X2 = np.array([[[1, 1], [1, 1]], [[1, -1], [1, -1]], [[1, 1], [-1, -1]], [[1, -1], [-1, 1]]], float) / 2
HAAR_NAMES = ("average", "left-right", "top-bottom", "diagonal")


def _weight(weight, where: str) -> np.ndarray:
    w = np.asarray(weight.detach().cpu().numpy() if hasattr(weight, "detach") else weight, dtype=np.float64)
    if w.ndim != 4 or w.shape[2] != w.shape[3] or w.shape[2] < 2:
        raise ValueError(f"{where}: weight must be a conv kernel (C_out, C_in, p, p) with p >= 2, got shape "
                         f"{w.shape}")
    if not np.isfinite(w).all() or not (w != 0).any(axis=(1, 2, 3)).all():
        raise ValueError(f"{where}: weight must be finite with no all-zero kernel")
    return w


def kernel_energy(weight) -> dict:
    """How each kernel of a patch embedding splits its energy (its squared norm).

    Returns ``average`` (per kernel: the share of the average part, the rest being differences between the patch's
    pixels) and ``difference`` (1 - ``average``), float arrays of shape ``(C_out,)``; for 2 x 2 kernels also
    ``haar`` ``(C_out, 4)``: the share of each pattern of :data:`HAAR_2X2` (summed over the input channels; each row
    sums to 1)."""
    w = _weight(weight, "kernel_energy")
    total = (w ** 2).sum(axis=(1, 2, 3))
    p2 = w.shape[2] * w.shape[3]
    average = (w.sum(axis=(2, 3)) ** 2).sum(axis=1) / p2 / total
    out = {"average": average, "difference": 1.0 - average}
    if w.shape[2] == 2:
        coef = np.einsum("oihw,khw->oik", w, HAAR_2X2)
        out["haar"] = (coef ** 2).sum(axis=1) / total[:, None]
    return out


def plot_patch_kernels(weight, title: str = "", columns: int = 8):
    """The kernels of a one-channel patch embedding as small grey images (one per output channel, each scaled to its
    own largest |weight|: white positive, black negative), the dominant Haar pattern of a 2 x 2 kernel under it.
    Returns the figure."""
    import matplotlib.pyplot as plt

    from ..i18n import t

    w = _weight(weight, "plot_patch_kernels")
    if w.shape[1] != 1:
        raise ValueError(f"plot_patch_kernels: a one-channel embedding (C_in = 1) is drawn, got C_in = {w.shape[1]}")
    n = w.shape[0]
    rows = -(-n // columns)
    energy = kernel_energy(w)
    fig, axes = plt.subplots(rows, columns, figsize=(1.1 * columns, 1.25 * rows), squeeze=False)
    for o, ax in enumerate(axes.ravel()):
        ax.set_xticks([]), ax.set_yticks([])
        if o >= n:
            ax.axis("off")
            continue
        k = w[o, 0]
        lim = np.abs(k).max()
        ax.imshow(k, cmap="gray", vmin=-lim, vmax=lim)
        if "haar" in energy:
            best = int(energy["haar"][o].argmax())
            ax.set_title(t(f"kernels.{HAAR_NAMES[best]}"), fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


from ..i18n import add_messages as _add  # noqa: E402 - the texts of the plot

_add({
    "kernels.average": {"en": "average", "zh": "平均"},
    "kernels.left-right": {"en": "left-right", "zh": "左右之差"},
    "kernels.top-bottom": {"en": "top-bottom", "zh": "上下之差"},
    "kernels.diagonal": {"en": "diagonal", "zh": "对角之差"},
})
