"""Data that ships with the package (no download) and a torchvision-free image-folder loader.

``load_digits`` returns scikit-learn's bundled handwritten digits (1,797 grey 8x8 images with values
0..16, ten classes) upsampled to the model's input size, with a fixed, stratified train / validation /
test split (70 % / 10 % / 20 %) that does not depend on the training seed. Made by the code from them:
``load_straddle`` (two marks on both sides of a window border: where the shift matters, notebook 08) and
``load_scenes`` (digits at two scales on a larger canvas with a class per pixel: dense prediction, notebook 09).
``load_image_folder`` reads
``root/<class name>/*.png|jpg|...`` (or ``root/{train,val,test}/<class name>/...``) with Pillow, which
ships with matplotlib.

Images are kept as float32 tensors ``(N, C, H, W)`` with values in [0, 1]; the per-channel mean and std
of the training split are kept beside them and applied by :meth:`DataSplits.normalize` *after* the
augmentations (so that the zeros that the augmentations pad with are the black background).

The augmentations are the ones of the paper's recipe that make sense for tiny grey images
(:class:`Augment`): a random affine transform (translation, small rotation and scale, applied with
``affine_grid``/``grid_sample``), random erasing, and optional mixup / cutmix. Horizontal flips are
left out: a flipped digit is another symbol. RandAugment's colour operations mean nothing on one grey
channel. Every random number comes from a ``torch.Generator``, so a run is reproducible.

>>> splits = load_digits(img_size=32)
>>> splits.train.images.shape, len(splits.val), len(splits.test)
(torch.Size([1259, 1, 32, 32]), 179, 359)
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ._validate import check_float, check_int

__all__ = [
    "IMAGE_EXTENSIONS",
    "Augment",
    "IGNORE_INDEX",
    "SCENES_MODEL",
    "SCENE_CLASSES",
    "SCENE_DIGITS",
    "SIZE_GROUPS",
    "DataSplits",
    "ImageSet",
    "SceneSet",
    "batches",
    "check_images",
    "load_data",
    "load_digits",
    "load_image_folder",
    "load_scenes",
    "load_straddle",
    "make_scenes",
    "make_straddle",
    "parse_options",
    "parse_scenes",
    "parse_straddle",
    "resize_images",
    "straddle_geometry",
    "straddle_residual",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
_SPLIT_NAMES = ("train", "val", "test")


# ----------------------------------------------------------------------------------------- containers
@dataclass
class ImageSet:
    """Images ``(N, C, H, W)`` float32 in [0, 1] and their integer labels: one per image ``(N,)``, or one per
    pixel ``(N, H, W)`` (dense prediction: :class:`SceneSet`, :mod:`swin_edu.dense`)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if not isinstance(self.images, torch.Tensor) or self.images.dim() != 4:
            shape = tuple(self.images.shape) if hasattr(self.images, "shape") else type(self.images).__name__
            raise ValueError(f"ImageSet: images must be a tensor (N, C, H, W), got {shape}")
        if not isinstance(self.labels, torch.Tensor) or not (
                self.labels.dim() == 1 or (self.labels.dim() == 3 and self.labels.shape[1:] == self.images.shape[2:])):
            raise ValueError(f"ImageSet: labels must be a tensor (N,) (one per image) or (N, H, W) (one per pixel, "
                             f"H x W = {tuple(self.images.shape[2:])}), got "
                             f"{tuple(getattr(self.labels, 'shape', ())) or type(self.labels).__name__}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"ImageSet: {len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class DataSplits:
    """Train / validation / test sets of one data source, with what is needed to use them.

    ``mean``/``std``: per-channel statistics of the training images (``normalize`` applies them);
    ``classes``: the class names in label order; ``source``: where the data came from.
    """

    train: ImageSet
    val: ImageSet
    test: ImageSet
    classes: list[str]
    mean: torch.Tensor
    std: torch.Tensor
    source: str = "digits"
    info: dict = field(default_factory=dict)

    @property
    def img_size(self) -> tuple[int, int]:
        return tuple(self.train.images.shape[-2:])

    @property
    def in_chans(self) -> int:
        return int(self.train.images.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """(images - mean) / std per channel, on the images' device and dtype."""
        mean = self.mean.to(images.device, images.dtype).view(1, -1, 1, 1)
        std = self.std.to(images.device, images.dtype).view(1, -1, 1, 1)
        return (images - mean) / std

    def describe(self) -> str:
        h, w = self.img_size
        return (f"{self.source}: {len(self.train)} train / {len(self.val)} val / {len(self.test)} test images, "
                f"{self.in_chans}x{h}x{w}, {self.num_classes} classes")


# ----------------------------------------------------------------------------------------- helpers
def _size_pair(img_size, where: str) -> tuple[int, int]:
    if isinstance(img_size, (tuple, list)):
        if len(img_size) != 2:
            raise ValueError(f"{where}: img_size must be an int or a pair (H, W), got {img_size!r}")
        return (check_int(img_size[0], "img_size[0]", where=where), check_int(img_size[1], "img_size[1]", where=where))
    s = check_int(img_size, "img_size", where=where)
    return (s, s)


def resize_images(images: torch.Tensor, img_size) -> torch.Tensor:
    """Bilinear resize of ``(N, C, h, w)`` images to ``img_size`` (antialiased when shrinking)."""
    H, W = _size_pair(img_size, "resize_images")
    if tuple(images.shape[-2:]) == (H, W):
        return images
    shrink = images.shape[-2] > H or images.shape[-1] > W
    return F.interpolate(images, size=(H, W), mode="bilinear", align_corners=False, antialias=shrink)


def _split_indices(labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int,
                   where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified train/val/test indices, fixed by ``seed`` (sorted inside each split)."""
    val_fraction = check_float(val_fraction, "val_fraction", minimum=0.0, maximum=1.0, where=where)
    test_fraction = check_float(test_fraction, "test_fraction", minimum=0.0, maximum=1.0, where=where)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"{where}: val_fraction + test_fraction must be < 1 (something must be left to "
                         f"train on), got {val_fraction} + {test_fraction}")
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = round(test_fraction * len(idx))
        n_val = round(val_fraction * len(idx))
        test.append(idx[:n_test])
        val.append(idx[n_test:n_test + n_val])
        train.append(idx[n_test + n_val:])
    return tuple(np.sort(np.concatenate(s)).astype(np.int64) for s in (train, val, test))


def _stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = images.mean(dim=(0, 2, 3))
    std = images.std(dim=(0, 2, 3)).clamp_min(1e-6)
    return mean, std


def _channels(images: torch.Tensor, in_chans: int, where: str) -> torch.Tensor:
    c = images.shape[1]
    if c == in_chans:
        return images
    if c == 1:
        return images.expand(-1, in_chans, -1, -1).contiguous()
    if in_chans == 1 and c == 3:  # ITU-R 601 luma, as Pillow's convert("L")
        w = torch.tensor([0.299, 0.587, 0.114], dtype=images.dtype).view(1, 3, 1, 1)
        return (images * w).sum(dim=1, keepdim=True)
    raise ValueError(f"{where}: cannot turn {c}-channel images into in_chans={in_chans} channels "
                     f"(1 -> any and 3 -> 1 are supported)")


# ----------------------------------------------------------------------------------------- digits
def load_digits(img_size=32, in_chans: int = 1, *, split_seed: int = 0, val_fraction: float = 0.1,
                test_fraction: float = 0.2) -> DataSplits:
    """scikit-learn's bundled digits, upsampled (bilinear) from 8x8 to ``img_size``, values in [0, 1].

    The split is stratified and fixed by ``split_seed`` (default 0: 1,259 / 179 / 359 images).
    ``in_chans=3`` repeats the grey channel (for models built for RGB).
    """
    where = "load_digits"
    H, W = _size_pair(img_size, where)
    in_chans = check_int(in_chans, "in_chans", where=where)
    split_seed = check_int(split_seed, "split_seed", minimum=0, where=where)
    from sklearn.datasets import load_digits as _sk_load_digits  # bundled with scikit-learn: no download

    bunch = _sk_load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]  # (1797, 1, 8, 8)
    images = _channels(resize_images(images, (H, W)).clamp_(0.0, 1.0), in_chans, where)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    tr, va, te = _split_indices(bunch.target, val_fraction, test_fraction, split_seed, where)
    train = ImageSet(images[tr].contiguous(), labels[tr])
    mean, std = _stats(train.images)
    return DataSplits(train, ImageSet(images[va].contiguous(), labels[va]),
                      ImageSet(images[te].contiguous(), labels[te]),
                      classes=[str(i) for i in range(10)], mean=mean, std=std, source="digits",
                      info={"split_seed": split_seed, "original_size": (8, 8)})


# ----------------------------------------------------------------------------------------- straddle
#: the two mark colours of the straddle task: Okabe-Ito orange and blue (also apart in grey: luma 0.63 vs 0.34)
STRADDLE_COLOURS = ((230 / 255, 159 / 255, 0.0), (0.0, 114 / 255, 178 / 255))
STRADDLE_CLASSES = ["same", "different"]


def straddle_geometry(cfg) -> dict:
    """Where the marks of the straddle task go for a model ``cfg`` (a :class:`~swin_edu.config.SwinConfig`).

    Returns ``region`` (the side, in pixels, of the windows that keep the two marks apart: the windows of
    the last stage, which contain those of every earlier stage because patch merging halves the map and
    the window stays ``window_size`` tokens), ``patch`` (pixels per token) and ``cap_holds``: whether a
    model without shifted windows can never bring the two marks together (every stage's map is larger
    than its window and divided by it). When a later stage's map is no larger than the window, its single
    window sees everything: then ``region`` is that of the last partitioned stage and ``cap_holds`` False.
    """
    from .config import SwinConfig

    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"straddle_geometry: cfg must be a SwinConfig, got {type(cfg).__name__}")
    H, W = cfg.img_hw
    p, M = cfg.patch_size, cfg.window_size
    if H != W or H % p:
        raise ValueError(f"straddle_geometry: the straddle task needs a square image that patch_size divides, "
                         f"got img_size={cfg.img_size}, patch_size={p}")
    partitioned = []
    for k, (h, w) in enumerate(cfg.stage_resolutions()):
        if min(h, w) > M and h % M == 0 and w % M == 0:
            partitioned.append(k)
        else:
            break
    if not partitioned:
        raise ValueError(f"straddle_geometry: stage 1's map ({H // p}x{W // p} tokens) must be larger than the window "
                         f"(window_size={M}) and divided by it: with one window there is no border to straddle")
    last = partitioned[-1]
    return {"region": M * p * 2 ** last, "patch": p, "img_size": H, "cap_holds": last == cfg.num_layers - 1,
            "stages_partitioned": len(partitioned)}


def make_straddle(n: int, *, img_size: int = 16, patch: int = 2, region: int = 8, distance=(1, 2), seed: int = 0,
                  background: float = 0.0, noise: float = 0.0, jitter: float = 0.1) -> ImageSet:
    """``n`` images of the straddle task: two marks in two different windows; label 0 (``"same"``) when
    they have the same colour, 1 (``"different"``) when not.

    Geometry (in tokens of ``patch`` x ``patch`` pixels): the windows are squares of ``region`` pixels
    (``R = region // patch`` tokens); a mark is one token painted in one of the :data:`STRADDLE_COLOURS`;
    the two marks sit in the same token row (or column), ``d`` tokens apart (``d`` drawn from ``distance``),
    at a uniformly drawn place that puts them in different windows. With ``d < R`` they straddle one border
    (the default, 1 or 2 tokens: the two tokens next to a border); with ``d = k * R`` they are exactly ``k``
    windows apart. The background is ``background`` (black) plus uniform noise of up to ``noise`` per pixel
    and channel (none by default: noise makes the task much slower to learn, see ``docs/training.md``);
    each mark's colour is jittered by up to ``jitter`` per channel.

    Balanced by construction: the images come in groups of four that share everything (places, noise,
    jitter) except the two colours, which take all four combinations (same, same, different, different).
    So ``n`` must be a multiple of 4. Deterministic: the same arguments give the same images.
    """
    where = "make_straddle"
    n = check_int(n, "n", where=where)
    if n % 4:
        raise ValueError(f"{where}: n must be a multiple of 4 (groups of four colour pairs), got {n}")
    img_size = check_int(img_size, "img_size", where=where)
    patch = check_int(patch, "patch", where=where)
    region = check_int(region, "region", where=where)
    seed = check_int(seed, "seed", minimum=0, where=where)
    background = check_float(background, "background", minimum=0.0, maximum=1.0, where=where)
    noise = check_float(noise, "noise", minimum=0.0, maximum=0.5, where=where)
    jitter = check_float(jitter, "jitter", minimum=0.0, maximum=0.5, where=where)
    if region % patch or img_size % region or img_size // region < 2:
        raise ValueError(f"{where}: region={region} must be a multiple of patch={patch} and divide img_size={img_size} "
                         f"at least twice (there must be a border between two windows)")
    dists = (distance,) if isinstance(distance, int) and not isinstance(distance, bool) else tuple(distance)
    R, G = region // patch, img_size // patch  # window side and map side, in tokens
    starts = {}  # distance -> the places of the first mark that put the second one into another window
    for d in dists:
        check_int(d, "distance", where=where)
        if d > G - 1:
            raise ValueError(f"{where}: distance={d} tokens does not fit a map of {G} tokens (at most {G - 1})")
        starts[d] = np.array([x for x in range(G - d) if x // R != (x + d) // R])
    rng = np.random.default_rng([seed, 0x57AD])
    scenes = n // 4
    d = np.asarray(dists)[rng.integers(len(dists), size=scenes)]
    pick = rng.random(scenes)
    first_at = np.array([starts[int(di)][int(p * len(starts[int(di)]))] for di, p in zip(d, pick)])
    along = rng.integers(0, G, size=scenes)                      # the shared row (or column)
    vertical = rng.random(scenes) < 0.5                          # True: a vertical border, marks side by side
    back = background + (rng.random((scenes, 3, img_size, img_size), dtype=np.float32) * 2 - 1) * noise
    back = np.clip(back, 0.0, 1.0)
    jit = (rng.random((scenes, 2, 3)) * 2 - 1) * jitter
    colours = np.asarray(STRADDLE_COLOURS)
    pairs = np.array([(0, 0), (1, 1), (0, 1), (1, 0)])
    images = np.repeat(back, 4, axis=0)
    labels = np.tile([0, 0, 1, 1], scenes)
    for i in range(scenes):
        first, second = first_at[i], first_at[i] + d[i]
        for j, (c1, c2) in enumerate(pairs):
            img = images[4 * i + j]
            for pos, c, k in ((first, c1, 0), (second, c2, 1)):
                r, col = (along[i], pos) if vertical[i] else (pos, along[i])
                img[:, r * patch:(r + 1) * patch, col * patch:(col + 1) * patch] = \
                    np.clip(colours[c] + jit[i, k], 0.0, 1.0)[:, None, None]
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)))


@torch.no_grad()
def straddle_residual(model, images: torch.Tensor, normalize=None) -> dict:
    """How far a model's score on straddle images is from a sum of one term per window.

    ``images``: straddle images in groups of four (:func:`make_straddle`'s order: same, same, different,
    different colours, everything else shared). With ``s = logit("different") - logit("same")``, returns
    ``residual``, the largest ``|s(o,o) + s(b,b) - s(o,b) - s(b,o)|`` over the groups, ``scale``, the largest
    ``|s|``, and ``best_per_group``, the most images of a group that a threshold at 0 gets right. The residual
    is 0 (up to rounding: run the model in float64 to see tiny interactions) whenever no token of the model
    ever holds information from both marks; then ``best_per_group <= 3``: at most 75 %, whatever the weights.
    ``normalize``: applied to the images first (e.g. ``DataSplits.normalize``); the images take the model's dtype.
    """
    where = "straddle_residual"
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or len(images) % 4 or len(images) == 0:
        raise ValueError(f"{where}: images must be a tensor (N, C, H, W) with N a multiple of 4 (groups of four), got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    p = next(iter(model.parameters()), None)
    x = normalize(images) if normalize is not None else images
    if p is not None:
        x = x.to(p.device, p.dtype)
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        logits = model(x).double()
    finally:
        model.train(was_training)
    if logits.dim() != 2 or logits.shape[1] != 2:
        raise ValueError(f"{where}: the model must give two logits (same, different), got shape {tuple(logits.shape)}")
    s = (logits[:, 1] - logits[:, 0]).view(-1, 4)
    right = (s[:, :2] <= 0).sum(1) + (s[:, 2:] > 0).sum(1)  # "different" when s > 0 (argmax: ties go to "same")
    return {"residual": float((s[:, 0] + s[:, 1] - s[:, 2] - s[:, 3]).abs().max()), "scale": float(s.abs().max()),
            "best_per_group": int(right.max())}


def load_straddle(cfg=None, *, split_seed: int = 0, n_train: int = 2048, n_val: int = 512, n_test: int = 1024,
                  distance=(1, 2), noise: float = 0.0, jitter: float = 0.1) -> DataSplits:
    """The straddle task for the model ``cfg`` (default: the one ``swin_edu.train`` recommends for it), made
    by :func:`make_straddle` with the borders of :func:`straddle_geometry`: train / validation / test
    sets of independent scenes, each fixed by ``split_seed``. Images are RGB (``cfg.in_chans=1`` gets
    their luma). ``info`` records the geometry and whether the no-shift cap of 75 % holds for ``cfg``.
    """
    where = "load_straddle"
    if cfg is None:
        from .config import SwinConfig

        cfg = SwinConfig.preset("nano", **STRADDLE_MODEL)
    geo = straddle_geometry(cfg)
    split_seed = check_int(split_seed, "split_seed", minimum=0, where=where)
    kw = {"img_size": geo["img_size"], "patch": geo["patch"], "region": geo["region"], "distance": distance,
          "noise": noise, "jitter": jitter}
    parts = [make_straddle(n, seed=3 * split_seed + k, **kw) for k, n in enumerate((n_train, n_val, n_test))]
    parts = [ImageSet(_channels(p.images, cfg.in_chans, where).contiguous(), p.labels) for p in parts]
    mean, std = _stats(parts[0].images)
    dist = list(distance) if not isinstance(distance, int) else [distance]
    return DataSplits(*parts, classes=list(STRADDLE_CLASSES), mean=mean, std=std, source="straddle",
                      info={"split_seed": split_seed, **geo, "distance": dist, "noise": noise, "jitter": jitter})


#: the model the straddle task is made for (fields of SwinConfig over the nano preset): one stage of a W-MSA
#: and an SW-MSA block on 8 x 8 tokens in 4 x 4 windows, so that without the shift the marks never meet
STRADDLE_MODEL = {"img_size": 16, "patch_size": 2, "in_chans": 3, "num_classes": 2, "embed_dim": 32,
                  "depths": (2,), "num_heads": (2,), "window_size": 4, "mlp_ratio": 2.0}


# ----------------------------------------------------------------------------------------- folders
def _class_dirs(root: Path, where: str) -> list[Path]:
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return dirs


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _read_image(path: Path, in_chans: int, size: tuple[int, int], where: str) -> torch.Tensor:
    try:
        from PIL import Image  # Pillow: a dependency of matplotlib
    except ImportError as e:  # pragma: no cover - matplotlib always brings Pillow
        raise ImportError(f"{where}: reading image files needs Pillow (pip install pillow)") from e
    try:
        with Image.open(path) as im:
            im = im.convert("L" if in_chans == 1 else "RGB")
            arr = np.asarray(im, dtype=np.float32) / 255.0
    except Exception as e:  # any decoding failure (Pillow raises many kinds): name the file
        raise ValueError(f"{where}: cannot read image file {str(path)!r} ({type(e).__name__}: {e})") from e
    t = torch.from_numpy(arr.copy())
    t = t[None] if t.dim() == 2 else t.permute(2, 0, 1)
    t = _channels(t[None], in_chans, where)
    return resize_images(t, size)[0].clamp_(0.0, 1.0)


def _read_classes(root: Path, in_chans: int, size, where: str, classes: list[str] | None = None):
    dirs = _class_dirs(root, where)
    if not dirs:
        loose = _image_files(root)
        extra = (f" (it holds {len(loose)} loose image files: put each class's images in their own "
                 f"subfolder, e.g. {root}/cat/1.png)") if loose else ""
        raise ValueError(f"{where}: {str(root)!r} has no class subfolders; expected "
                         f"root/<class name>/<image files>{extra}")
    names = [d.name for d in dirs]
    if classes is not None:
        unknown = sorted(set(names) - set(classes))
        if unknown:
            raise ValueError(f"{where}: {str(root)!r} has class folders {unknown} that the training split "
                             f"does not have (training classes: {classes})")
    else:
        classes = names
    images, labels = [], []
    for d in dirs:
        files = _image_files(d)
        if not files:
            raise ValueError(f"{where}: class folder {str(d)!r} holds no image files "
                             f"(looked for {', '.join(IMAGE_EXTENSIONS)})")
        for f in files:
            images.append(_read_image(f, in_chans, size, where))
            labels.append(classes.index(d.name))
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64), classes


def load_image_folder(root, img_size=32, in_chans: int = 3, *, split_seed: int = 0,
                      val_fraction: float = 0.1, test_fraction: float = 0.2) -> DataSplits:
    """Your own images: ``root/<class name>/<images>``, split like the digits (stratified, fixed by
    ``split_seed``), or ``root/train/<class>/...``, ``root/val/...``, ``root/test/...`` used as given
    (a missing ``val`` or ``test`` is carved out of ``train``). Images of any size are resized
    (bilinear) to ``img_size`` and converted to ``in_chans`` channels (1: grey, 3: RGB).
    """
    where = "load_image_folder"
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"{where}: root must be a path (str or pathlib.Path), got {type(root).__name__}")
    root = Path(root).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"{where}: root={str(root)!r} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"{where}: root={str(root)!r} is not a folder")
    size = _size_pair(img_size, where)
    in_chans = check_int(in_chans, "in_chans", where=where)
    if in_chans not in (1, 3):
        raise ValueError(f"{where}: in_chans must be 1 (grey) or 3 (RGB), got {in_chans}")
    split_seed = check_int(split_seed, "split_seed", minimum=0, where=where)
    if not any(root.iterdir()):
        raise ValueError(f"{where}: root={str(root)!r} is an empty folder; expected root/<class name>/<images>")

    given = {n: root / n for n in _SPLIT_NAMES if (root / n).is_dir()}
    if "train" in given:
        x, y, classes = _read_classes(given["train"], in_chans, size, where)
        parts = {"train": (x, y)}
        for n in ("val", "test"):
            if n in given:
                xs, ys, _ = _read_classes(given[n], in_chans, size, where, classes)
                parts[n] = (xs, ys)
        missing = [n for n in ("val", "test") if n not in parts]
        if missing:
            vf = val_fraction if "val" in missing else 0.0
            tf = test_fraction if "test" in missing else 0.0
            tr, va, te = _split_indices(y.numpy(), vf, tf, split_seed, where)
            parts["train"] = (x[tr], y[tr])
            if "val" in missing:
                parts["val"] = (x[va], y[va])
            if "test" in missing:
                parts["test"] = (x[te], y[te])
    else:
        x, y, classes = _read_classes(root, in_chans, size, where)
        tr, va, te = _split_indices(y.numpy(), val_fraction, test_fraction, split_seed, where)
        parts = {"train": (x[tr], y[tr]), "val": (x[va], y[va]), "test": (x[te], y[te])}
    if len(classes) < 2:
        raise ValueError(f"{where}: a classifier needs at least 2 classes, found {len(classes)} "
                         f"({classes}) in {str(root)!r}")
    sets = {n: ImageSet(parts[n][0].contiguous(), parts[n][1]) for n in _SPLIT_NAMES}
    if len(sets["train"]) == 0:
        raise ValueError(f"{where}: the training split of {str(root)!r} is empty")
    mean, std = _stats(sets["train"].images)
    return DataSplits(sets["train"], sets["val"], sets["test"], classes=classes, mean=mean, std=std,
                      source=str(root), info={"split_seed": split_seed})


def parse_straddle(source: str) -> dict:
    """The options of a ``"straddle[:key=value,...]"`` data source: ``distance`` (tokens; ``1+2`` for
    several), ``noise``, ``jitter``, ``n_train``, ``n_val``, ``n_test`` (see :func:`load_straddle`).

    >>> parse_straddle("straddle:distance=3,n_train=4096")
    {'distance': (3,), 'n_train': 4096}
    """
    ints = lambda v: tuple(int(x) for x in v.split("+"))
    return parse_options(source, "straddle", {"distance": ints, "noise": float, "jitter": float, "n_train": int,
                                              "n_val": int, "n_test": int},
                         "distance=N (or N+M+...), noise=X, jitter=X, n_train=N, n_val=N or n_test=N")


def parse_options(source: str, name: str, readers: dict, expected: str) -> dict:
    """The options of a ``"NAME[:key=value,...]"`` data source: ``{key: readers[key](value)}`` for every option;
    an unknown key or a value its reader refuses is a ``ValueError`` that names the option and says what
    ``expected`` (e.g. ``"noise=X or jitter=X"``)."""
    where = "load_data"
    head, _, opts = str(source).partition(":")
    if head != name:
        raise ValueError(f"{where}: not a {name} source: {source!r}")
    out: dict = {}
    for item in filter(None, (o.strip() for o in opts.split(","))):
        key, eq, value = item.partition("=")
        try:
            if not eq or key not in readers:
                raise ValueError(key)
            out[key] = readers[key](value)
        except ValueError:
            raise ValueError(f"{where}: cannot read the {name} option {item!r} of {source!r}; expected {expected}, "
                             f"separated by commas") from None
    return out


def load_data(source: str = "digits", img_size=32, in_chans: int = 1, *, split_seed: int = 0,
              cfg=None) -> DataSplits:
    """``"digits"`` (bundled), ``"straddle"`` or ``"straddle:key=value,..."`` (made by :func:`load_straddle` for
    the model ``cfg``, whose window borders it straddles; options: :func:`parse_straddle`), ``"scenes"`` or
    ``"scenes:key=value,..."`` (dense prediction, :func:`load_scenes` for the backbone ``cfg``;
    options: :func:`parse_scenes`), or the path of an image folder (see :func:`load_image_folder`)."""
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"load_data: source must be 'digits', 'straddle', 'scenes' or a folder path, got "
                        f"{type(source).__name__}")
    if str(source).partition(":")[0] == "scenes":
        options = parse_scenes(str(source))
        if cfg is None:
            raise ValueError("load_data: a scenes source needs the backbone's cfg (its img_size and in_chans)")
        return load_scenes(cfg, split_seed=split_seed, **options)
    if str(source) == "digits":
        return load_digits(img_size, in_chans, split_seed=split_seed)
    if str(source).partition(":")[0] == "straddle":
        if cfg is None:
            raise ValueError("load_data: a straddle source needs the model's cfg (the marks straddle its window "
                             "borders)")
        return load_straddle(cfg, split_seed=split_seed, **parse_straddle(str(source)))
    return load_image_folder(source, img_size, in_chans, split_seed=split_seed)


def check_images(images, img_size, in_chans: int, *, name: str = "images", where: str = "train") -> torch.Tensor:
    """Check that ``images`` is a float tensor ``(N, in_chans, H, W)`` of the model's ``img_size``.

    A model with a fixed input size (``cfg.img_size``: the attention masks, an absolute position
    embedding) should be trained on that size: the message says how to fix a mismatch.
    """
    H, W = _size_pair(img_size, where)
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor (N, {in_chans}, {H}, {W}), got "
                        f"{type(images).__name__}")
    if images.dim() != 4:
        raise ValueError(f"{where}: {name} must have 4 dimensions (N, C, H, W), got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"{where}: {name} must be floating point with values in [0, 1], got dtype {images.dtype}")
    if images.shape[1] != in_chans:
        raise ValueError(f"{where}: {name} must have in_chans={in_chans} channels (N, C, H, W), got shape "
                         f"{tuple(images.shape)} (set --set in_chans={images.shape[1]} or convert the images)")
    if tuple(images.shape[-2:]) != (H, W):
        raise ValueError(f"{where}: {name} must be {H}x{W} to match the model's img_size={(H, W) if H != W else H}, "
                         f"got {images.shape[-2]}x{images.shape[-1]} (shape {tuple(images.shape)}); resize them "
                         f"(swin_edu.data.resize_images) or build the model with "
                         f"--set img_size={images.shape[-2] if images.shape[-2] == images.shape[-1] else tuple(images.shape[-2:])}")
    return images


# ----------------------------------------------------------------------------------------- batches
def batches(dataset: ImageSet, indices: Sequence[int] | torch.Tensor, batch_size: int,
            drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(images, labels)`` mini-batches of ``dataset`` in the order of ``indices``."""
    idx = torch.as_tensor(list(indices) if not isinstance(indices, torch.Tensor) else indices, dtype=torch.long)
    n = len(idx)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        j = idx[start:start + batch_size].to(dataset.images.device)
        yield dataset.images.index_select(0, j), dataset.labels.index_select(0, j)


# ----------------------------------------------------------------------------------------- augmentation
@dataclass
class Augment:
    """Batch augmentations for small images, all driven by one ``torch.Generator``.

    ``translate``: largest shift as a fraction of the image side; ``degrees``: largest rotation;
    ``scale``: (min, max) zoom; ``erase``: probability of random erasing (a rectangle set to 0);
    ``mixup`` / ``cutmix``: Beta(alpha, alpha) parameters (0 turns them off; when both are on, each
    batch uses one of them at random). ``__call__`` returns the images, the labels and, for mixup /
    cutmix, the second labels and the mixing weight ``lam`` (else ``None``, 1.0).
    """

    translate: float = 0.125
    degrees: float = 15.0
    scale: tuple[float, float] = (0.9, 1.1)
    erase: float = 0.0
    mixup: float = 0.0
    cutmix: float = 0.0

    @classmethod
    def none(cls) -> Augment:
        return cls(translate=0.0, degrees=0.0, scale=(1.0, 1.0), erase=0.0, mixup=0.0, cutmix=0.0)

    @property
    def active(self) -> bool:
        return bool(self.translate or self.degrees or tuple(self.scale) != (1.0, 1.0) or self.erase
                    or self.mixup or self.cutmix)

    def _uniform(self, n, lo, hi, g):
        return lo + (hi - lo) * torch.rand(n, generator=g)

    def affine(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Random rotation, zoom and translation of each image (zeros fill what comes in)."""
        if not (self.translate or self.degrees or tuple(self.scale) != (1.0, 1.0)):
            return x
        n = x.shape[0]
        angle = self._uniform(n, -self.degrees, self.degrees, g) * (math.pi / 180.0)
        zoom = self._uniform(n, self.scale[0], self.scale[1], g)
        shift = self._uniform(2 * n, -2 * self.translate, 2 * self.translate, g).view(n, 2)  # [-1, 1] coords
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta.to(x.dtype).to(x.device), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def random_erase(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """With probability ``erase``, zero a random rectangle of 2 % to 25 % of the image."""
        if not self.erase:
            return x
        n, _, H, W = x.shape
        hit = torch.rand(n, generator=g) < self.erase
        area = self._uniform(n, 0.02, 0.25, g) * H * W
        ratio = torch.exp(self._uniform(n, math.log(0.3), math.log(3.3), g))
        h = (area * ratio).sqrt().round().clamp(1, H).long()
        w = (area / ratio).sqrt().round().clamp(1, W).long()
        top = (torch.rand(n, generator=g) * (H - h + 1).float()).long()
        left = (torch.rand(n, generator=g) * (W - w + 1).float()).long()
        rows = torch.arange(H).view(1, H, 1)
        cols = torch.arange(W).view(1, 1, W)
        box = ((rows >= top.view(n, 1, 1)) & (rows < (top + h).view(n, 1, 1)) &
               (cols >= left.view(n, 1, 1)) & (cols < (left + w).view(n, 1, 1)) & hit.view(n, 1, 1))
        return x.masked_fill(box[:, None].to(x.device), 0.0)

    def mix(self, x: torch.Tensor, y: torch.Tensor, g: torch.Generator):
        """Mixup or cutmix: returns (x, y, y2, lam); y2 is None when nothing was mixed."""
        choices = [k for k, a in (("mixup", self.mixup), ("cutmix", self.cutmix)) if a > 0]
        if not choices:
            return x, y, None, 1.0
        kind = choices[int(torch.randint(len(choices), (1,), generator=g))]
        alpha = self.mixup if kind == "mixup" else self.cutmix
        lam = _beta(alpha, g)
        perm = torch.randperm(x.shape[0], generator=g).to(x.device)
        if kind == "mixup":
            return lam * x + (1 - lam) * x[perm], y, y[perm], lam
        H, W = x.shape[-2:]
        cut = math.sqrt(1.0 - lam)
        ch, cw = int(H * cut), int(W * cut)
        cy, cx = int(torch.randint(H, (1,), generator=g)), int(torch.randint(W, (1,), generator=g))
        t, b = max(cy - ch // 2, 0), min(cy + ch // 2, H)
        left, r = max(cx - cw // 2, 0), min(cx + cw // 2, W)
        x = x.clone()
        x[:, :, t:b, left:r] = x[perm][:, :, t:b, left:r]
        lam = 1.0 - (b - t) * (r - left) / (H * W)
        return x, y, y[perm], lam

    def __call__(self, x: torch.Tensor, y: torch.Tensor, g: torch.Generator):
        x = self.random_erase(self.affine(x, g), g)
        return self.mix(x, y, g)


def _beta(alpha: float, g: torch.Generator) -> float:
    """A Beta(alpha, alpha) sample driven by the generator (torch's Beta sampler takes no generator, so
    the generator seeds numpy's)."""
    seed = int(torch.randint(2**31 - 1, (1,), generator=g))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


# ============================================================================================ scenes (notebook 09)
#: the digit classes of the scenes task (four: a segmentation model learns them in a minute on a CPU; all ten
#: take several times longer, docs/training.md)
SCENE_DIGITS = (0, 1, 2, 3)
#: the per-pixel classes of the scenes task: label 0 is the background, label i + 1 the digit SCENE_DIGITS[i]
SCENE_CLASSES = ["background"] + [str(d) for d in SCENE_DIGITS]
#: the label of a void pixel (the faint rim of a stroke): left out of the loss and of the IoU, as in Pascal VOC
IGNORE_INDEX = 255
#: the size groups of the digits; ``SceneSet.regions`` holds 1 inside a small digit's box, 2 inside a large one's
SIZE_GROUPS = ("small", "large")
#: the backbone the scenes task is made for (SwinConfig fields over the nano preset): Swin-T's shape at CPU size,
#: patch 4 and four stages, so that the stage maps of a 64 x 64 scene are 16, 8, 4 and 2 tokens wide
SCENES_MODEL = {"img_size": 64, "patch_size": 4, "in_chans": 1, "embed_dim": 16, "depths": (2, 2, 2, 2),
                "num_heads": (1, 2, 4, 8), "window_size": 4, "mlp_ratio": 2.0}


@dataclass
class SceneSet(ImageSet):
    """Scenes: ``images`` (N, C, H, W) in [0, 1], per-pixel ``labels`` (N, H, W) int64 (0 background, d + 1 the
    strokes of the digit d, :data:`IGNORE_INDEX` void: between the strokes inside a digit's square), and ``regions`` (N, H, W) uint8: 1 inside the box of a small digit, 2
    inside the box of a large one, 0 elsewhere (for the scores by size)."""

    regions: torch.Tensor | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.labels.dim() != 3:
            raise ValueError(f"SceneSet: labels must be per-pixel (N, H, W), got shape {tuple(self.labels.shape)}")
        if self.regions is not None and (not isinstance(self.regions, torch.Tensor)
                                         or self.regions.shape != self.labels.shape):
            got = tuple(self.regions.shape) if isinstance(self.regions, torch.Tensor) else type(self.regions).__name__
            raise ValueError(f"SceneSet: regions must be a tensor of the labels' shape {tuple(self.labels.shape)}, "
                             f"got {got}")

    def only(self, group: str) -> torch.Tensor:
        """The labels with every pixel outside the boxes of the ``group`` digits (``"small"`` or ``"large"``) set
        to :data:`IGNORE_INDEX`: the target of the scores by size."""
        if group not in SIZE_GROUPS:
            raise ValueError(f"SceneSet.only: group must be one of {SIZE_GROUPS}, got {group!r}")
        if self.regions is None:
            raise ValueError("SceneSet.only: these scenes have no regions")
        keep = self.regions == SIZE_GROUPS.index(group) + 1
        return torch.where(keep, self.labels, torch.full_like(self.labels, IGNORE_INDEX))


def _side(value, name: str, where: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{where}: {name} must be a side in pixels or a range (lo, hi), got {value!r}")
        lo, hi = (check_int(v, name, where=where) for v in value)
    else:
        lo = hi = check_int(value, name, where=where)
    if lo > hi or lo < 4:
        raise ValueError(f"{where}: {name} must be at least 4 pixels with lo <= hi, got {value!r}")
    return lo, hi


def make_scenes(n: int, digits: torch.Tensor, digit_labels: torch.Tensor, *, img_size: int = 64, small=12,
                large=(40, 48), n_small: int = 5, n_large: int = 1, gap: int = 2, seed: int = 0,
                ink: float = 0.5) -> SceneSet:
    """``n`` scenes of ``img_size`` x ``img_size`` pixels, each with ``n_large`` large and ``n_small`` small digits
    drawn from ``digits`` (M, h, w) in [0, 1] with their classes ``digit_labels`` (M,).

    A digit is resized (bilinear) to a square of ``large`` or ``small`` pixels (a side, or a range (lo, hi) drawn
    from uniformly) and pasted at a uniformly drawn place where its box keeps ``gap`` pixels from every other box.
    The pixels of its square with ink >= ``ink`` (its strokes) get the label ``class + 1``; the other pixels of
    its square are void (:data:`IGNORE_INDEX`): whether a pixel between two strokes is "the digit" or "the
    background" is a matter of taste, so neither answer is counted. Everything else is background (0).
    Deterministic: the same arguments give the same scenes.
    """
    where = "make_scenes"
    n = check_int(n, "n", where=where)
    img_size = check_int(img_size, "img_size", where=where)
    n_small = check_int(n_small, "n_small", minimum=0, where=where)
    n_large = check_int(n_large, "n_large", minimum=0, where=where)
    gap = check_int(gap, "gap", minimum=0, where=where)
    seed = check_int(seed, "seed", minimum=0, where=where)
    small, large = _side(small, "small", where), _side(large, "large", where)
    if not (isinstance(digits, torch.Tensor) and digits.dim() == 3 and digits.is_floating_point()):
        raise ValueError(f"{where}: digits must be a float tensor (M, h, w) in [0, 1], got "
                         f"{tuple(digits.shape) if isinstance(digits, torch.Tensor) else type(digits).__name__}")
    if not (isinstance(digit_labels, torch.Tensor) and digit_labels.shape == digits.shape[:1]):
        raise ValueError(f"{where}: digit_labels must be a tensor (M,) with one class per digit, got "
                         f"{tuple(getattr(digit_labels, 'shape', ())) or type(digit_labels).__name__}")
    if n_small + n_large == 0:
        raise ValueError(f"{where}: a scene needs at least one digit (n_small + n_large > 0)")
    if large[1] + 2 * gap > img_size:
        raise ValueError(f"{where}: a large digit of {large[1]} pixels does not fit a canvas of {img_size}")
    if not 0 < ink <= 1:
        raise ValueError(f"{where}: ink must be in (0, 1], got {ink}")
    rng = np.random.default_rng([seed, 0x5CE7E])
    images = np.zeros((n, img_size, img_size), dtype=np.float32)
    labels = np.zeros((n, img_size, img_size), dtype=np.int64)
    regions = np.zeros((n, img_size, img_size), dtype=np.uint8)
    resized: dict[tuple[int, int], np.ndarray] = {}
    for i in range(n):
        boxes = _place(rng, img_size, ((2, large, n_large), (1, small, n_small)), gap)
        if boxes is None:
            raise ValueError(f"{where}: cannot place {n_large} large and {n_small} small digits without overlap on a "
                             f"{img_size} x {img_size} canvas; use fewer or smaller digits")
        for (r, c, side, group), k in zip(boxes, rng.integers(len(digits), size=len(boxes)).tolist()):
            if (k, side) not in resized:
                d = resize_images(digits[k][None, None], side)[0, 0].clamp(0, 1).numpy()
                resized[k, side] = d, np.where(d >= ink, int(digit_labels[k]) + 1, IGNORE_INDEX)
            d, lab = resized[k, side]
            images[i, r:r + side, c:c + side] = d
            labels[i, r:r + side, c:c + side] = lab
            regions[i, r:r + side, c:c + side] = group
    return SceneSet(torch.from_numpy(images)[:, None], torch.from_numpy(labels), torch.from_numpy(regions))


def _place(rng: np.random.Generator, img_size: int, groups, gap: int, tries: int = 100):
    """The squares ``(row, col, side, group)`` of one scene: for each ``(group, (lo, hi), count)`` of ``groups``,
    ``count`` sides drawn from lo..hi, each square at the first of 32 uniformly drawn places that keeps ``gap``
    pixels clear of the squares placed before; a square with no such place starts the scene again (at most
    ``tries`` times; then None)."""
    for _ in range(tries):
        boxes: list[tuple[int, int, int, int]] = []
        for group, (lo, hi), count in groups:
            for _ in range(count):
                side = int(rng.integers(lo, hi + 1))
                for r, c in rng.integers(0, img_size - side + 1, size=(32, 2)).tolist():
                    if all(r + side + gap <= r2 or r2 + s2 + gap <= r or c + side + gap <= c2 or c2 + s2 + gap <= c
                           for r2, c2, s2, _ in boxes):
                        boxes.append((r, c, side, group))
                        break
                else:
                    break
            else:
                continue
            break
        else:
            return boxes
    return None


def parse_scenes(source: str) -> dict:
    """The options of a ``"scenes[:key=value,...]"`` data source: ``small`` and ``large`` (a side in pixels, or
    ``lo-hi``), ``n_small``, ``n_large``, ``n_train``, ``n_val``, ``n_test``, ``digits`` (the digit classes to use,
    e.g. ``0+1+7``) (see :func:`load_scenes`).

    >>> parse_scenes("scenes:small=6-8,n_train=512")
    {'small': (6, 8), 'n_train': 512}
    """
    def side(v):
        lo, _, hi = v.partition("-")
        return (int(lo), int(hi)) if hi else int(lo)

    return parse_options(source, "scenes", {"small": side, "large": side, "n_small": int, "n_large": int,
                                            "n_train": int, "n_val": int, "n_test": int,
                                            "digits": lambda v: tuple(int(d) for d in v.split("+"))},
                         "small=N (or LO-HI), large=N (or LO-HI), n_small=N, n_large=N, n_train=N, n_val=N, "
                         "n_test=N or digits=D+D+...")


def load_scenes(cfg=None, *, split_seed: int = 0, n_train: int = 2048, n_val: int = 256, n_test: int = 512,
                small=12, large=(40, 48), n_small: int = 5, n_large: int = 1, digits=SCENE_DIGITS) -> DataSplits:
    """The scenes task for the backbone ``cfg`` (default: the one ``swin_edu.train`` recommends,
    :data:`SCENES_MODEL`): train / validation / test scenes made by :func:`make_scenes` from the digits of the
    course's fixed split of scikit-learn's digits (``split_seed``, as :func:`swin_edu.data.load_digits`), so
    that no test scene shows a digit image that a training scene shows. ``digits``: the digit classes drawn (label
    ``i + 1`` for ``digits[i]``; the class names are ``["background", *digits]``). The splits are
    :class:`SceneSet`\\ s."""
    where = "load_scenes"
    from sklearn.datasets import load_digits as _sk_load_digits  # bundled with scikit-learn: no download

    from .config import SwinConfig

    if cfg is None:
        cfg = SwinConfig.preset("nano", **SCENES_MODEL)
    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"{where}: cfg must be a SwinConfig, got {type(cfg).__name__}")
    H, W = cfg.img_hw
    if H != W:
        raise ValueError(f"{where}: the scenes are square; got img_size={cfg.img_size}")
    split_seed = check_int(split_seed, "split_seed", minimum=0, where=where)
    digits = tuple(check_int(d, "digits[i]", minimum=0, where=where) for d in digits)
    if not digits or len(set(digits)) != len(digits) or max(digits) > 9:
        raise ValueError(f"{where}: digits must be distinct digit classes 0..9, got {digits!r}")
    bunch = _sk_load_digits()
    pool = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)
    lookup = torch.full((10,), -1, dtype=torch.int64)
    lookup[list(digits)] = torch.arange(len(digits))
    classes = lookup[torch.from_numpy(bunch.target.astype(np.int64))]
    kw = {"img_size": H, "small": small, "large": large, "n_small": n_small, "n_large": n_large}
    parts = []
    for k, (idx, n) in enumerate(zip(_split_indices(bunch.target, 0.1, 0.2, split_seed, where),
                                     (n_train, n_val, n_test))):
        idx = idx[(classes[idx] >= 0).numpy()]
        s = make_scenes(n, pool[idx], classes[idx], seed=3 * split_seed + k, **kw)
        parts.append(SceneSet(s.images.expand(-1, cfg.in_chans, -1, -1).contiguous(), s.labels, s.regions))
    mean, std = _stats(parts[0].images)
    return DataSplits(*parts, classes=["background"] + [str(d) for d in digits], mean=mean, std=std, source="scenes",
                      info={"split_seed": split_seed, "ignore_index": IGNORE_INDEX, "digits": list(digits), **kw})
