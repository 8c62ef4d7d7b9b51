"""``SwinConfig``: the hyper-parameters of a Swin Transformer, validated, with the paper's presets.

>>> cfg = SwinConfig.preset("tiny")
>>> cfg.embed_dim, cfg.depths, cfg.stage_resolutions()
(96, (2, 2, 6, 2), ((56, 56), (28, 28), (14, 14), (7, 7)))
>>> SwinConfig.preset("nano").stage_resolutions()
((16, 16), (8, 8), (4, 4))
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ._validate import check_bool, check_float, check_int

__all__ = ["PRESETS", "SwinConfig", "check_window_shift", "padded_size", "window_for_map"]


def _pair(value: Any, name: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"SwinConfig.{name} must be an int or a pair (H, W), got {value!r}")
        return (check_int(value[0], f"{name}[0]", where="SwinConfig"),
                check_int(value[1], f"{name}[1]", where="SwinConfig"))
    v = check_int(value, name, where="SwinConfig")
    return (v, v)


def _int_tuple(value: Any, name: str) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
        raise TypeError(f"SwinConfig.{name} must be a tuple of ints (one per stage), got {value!r}")
    if len(value) == 0:
        raise ValueError(f"SwinConfig.{name} must name at least one stage, got {value!r}")
    return tuple(check_int(v, f"{name}[{i}]", where="SwinConfig") for i, v in enumerate(value))


# ----------------------------------------------------------------------------------------- the window rule
def check_window_shift(window_size: Any, shift_size: Any, *, where: str = "") -> tuple[int, int]:
    """Validate a window and a shift: ``window_size`` a positive int, ``shift_size`` an int in
    ``[0, window_size)``. Returns ``(window_size, shift_size)`` as ints. Every function that takes a
    window and a shift (numpy and torch) checks them here."""
    where = where or "check_window_shift"
    M = check_int(window_size, "window_size", where=where)
    s = check_int(shift_size, "shift_size", minimum=0, where=where)
    if s >= M:
        raise ValueError(f"{where}: shift_size must be smaller than window_size={M}, got {s}")
    return M, s


def window_for_map(H: int, W: int, window_size: int, shift_size: int) -> tuple[int, int]:
    """The window and shift that a block uses on an ``H`` x ``W`` token map: ``(window, shift)``.

    The official rule: when the map is not larger than the window (``min(H, W) <= window_size``) the
    window shrinks to ``min(H, W)`` and there is no shift (one window covers the short side, so there
    is nothing to shift across). Otherwise the window and the shift are kept as given.

    >>> window_for_map(56, 56, 7, 3), window_for_map(7, 7, 7, 3), window_for_map(6, 8, 7, 3)
    ((7, 3), (7, 0), (6, 0))
    """
    where = "window_for_map"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M, s = check_window_shift(window_size, shift_size, where=where)
    if min(H, W) <= M:
        return min(H, W), 0
    return M, s


def padded_size(n: int, window: int) -> int:
    """``n`` rounded up to a multiple of ``window``: the size of a map side after zero-padding it at the
    bottom/right so that the window divides it (``padded_size(13, 7) == 14``)."""
    n = check_int(n, "n", where="padded_size")
    window = check_int(window, "window", where="padded_size")
    return (n + window - 1) // window * window


@dataclass(frozen=True)
class SwinConfig:
    """Hyper-parameters of Swin, named as in the official ``SwinTransformer.__init__``.

    Two switches are not in the official code; they are the paper's ablations (its Table 4):
    ``shift_windows=False`` makes every block W-MSA (no shifted windows, no ``attn_mask``) and
    ``rel_pos_bias=False`` removes the relative position bias (no ``relative_position_bias_table`` and no
    ``relative_position_index`` in the state dict). With ``ape`` (the official absolute position
    embedding) they give every row of that table.

    Construction validates every field; a bad value raises ``TypeError``/``ValueError`` naming the
    field, what was expected and what came. Use :meth:`preset` for the paper's models, and
    :func:`dataclasses.replace` (or ``preset(name, **overrides)``) to change a field.
    """

    img_size: int | tuple[int, int] = 224
    patch_size: int = 4
    in_chans: int = 3
    num_classes: int = 1000
    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (3, 6, 12, 24)
    window_size: int = 7
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    qk_scale: float | None = None
    drop_rate: float = 0.0
    attn_drop_rate: float = 0.0
    drop_path_rate: float = 0.1
    ape: bool = False
    patch_norm: bool = True
    shift_windows: bool = True
    rel_pos_bias: bool = True
    name: str = field(default="custom", compare=False)

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        hw = _pair(self.img_size, "img_size")
        set_("img_size", hw[0] if hw[0] == hw[1] and not isinstance(self.img_size, (tuple, list)) else hw)
        set_("patch_size", check_int(self.patch_size, "patch_size", where="SwinConfig"))
        set_("in_chans", check_int(self.in_chans, "in_chans", where="SwinConfig"))
        set_("num_classes", check_int(self.num_classes, "num_classes", minimum=0, where="SwinConfig"))
        set_("embed_dim", check_int(self.embed_dim, "embed_dim", where="SwinConfig"))
        set_("depths", _int_tuple(self.depths, "depths"))
        set_("num_heads", _int_tuple(self.num_heads, "num_heads"))
        set_("window_size", check_int(self.window_size, "window_size", where="SwinConfig"))
        set_("mlp_ratio", check_float(self.mlp_ratio, "mlp_ratio", minimum=0, strict_min=True, where="SwinConfig"))
        set_("qkv_bias", check_bool(self.qkv_bias, "qkv_bias", where="SwinConfig"))
        if self.qk_scale is not None:
            set_("qk_scale", check_float(self.qk_scale, "qk_scale", minimum=0, strict_min=True, where="SwinConfig"))
        for rate in ("drop_rate", "attn_drop_rate", "drop_path_rate"):
            set_(rate, check_float(getattr(self, rate), rate, minimum=0.0, maximum=1.0, where="SwinConfig"))
            if getattr(self, rate) >= 1.0:
                raise ValueError(f"SwinConfig.{rate} must be in [0, 1), got {getattr(self, rate)}")
        set_("ape", check_bool(self.ape, "ape", where="SwinConfig"))
        set_("patch_norm", check_bool(self.patch_norm, "patch_norm", where="SwinConfig"))
        set_("shift_windows", check_bool(self.shift_windows, "shift_windows", where="SwinConfig"))
        set_("rel_pos_bias", check_bool(self.rel_pos_bias, "rel_pos_bias", where="SwinConfig"))
        if not isinstance(self.name, str):
            raise TypeError(f"SwinConfig.name must be a str, got {self.name!r}")

        if len(self.depths) != len(self.num_heads):
            raise ValueError(
                f"SwinConfig.num_heads must give one head count per stage: depths has {len(self.depths)} "
                f"stages {self.depths}, num_heads has {len(self.num_heads)} {self.num_heads}"
            )
        for i, (dim, heads) in enumerate(zip(self.stage_dims, self.num_heads)):
            if dim % heads:
                raise ValueError(
                    f"SwinConfig.num_heads[{i}]={heads} must divide stage {i}'s dimension "
                    f"embed_dim*2**{i}={dim}"
                )
        H, W = self.img_hw
        if H < self.patch_size or W < self.patch_size:
            raise ValueError(
                f"SwinConfig.img_size={self.img_size} must be at least patch_size={self.patch_size}"
            )
        if int(self.embed_dim * self.mlp_ratio) < 1:
            raise ValueError(f"SwinConfig.mlp_ratio={self.mlp_ratio} gives an empty MLP hidden layer")

    # ------------------------------------------------------------------ derived quantities
    @property
    def img_hw(self) -> tuple[int, int]:
        """``img_size`` as a pair ``(H, W)``."""
        s = self.img_size
        return (s, s) if isinstance(s, int) else (int(s[0]), int(s[1]))

    @property
    def num_layers(self) -> int:
        """Number of stages."""
        return len(self.depths)

    @property
    def stage_dims(self) -> tuple[int, ...]:
        """Channels of each stage: C, 2C, 4C, 8C."""
        return tuple(self.embed_dim * 2**i for i in range(len(self.depths)))

    @property
    def num_features(self) -> int:
        """Channels after the last stage (input of the final norm and the head)."""
        return self.embed_dim * 2 ** (len(self.depths) - 1)

    @property
    def patches_resolution(self) -> tuple[int, int]:
        """Token grid after patch embedding (padded up when the patch does not divide the image)."""
        H, W = self.img_hw
        return (math.ceil(H / self.patch_size), math.ceil(W / self.patch_size))

    def stage_resolutions(self, img_size: int | tuple[int, int] | None = None) -> tuple[tuple[int, int], ...]:
        """Token grid ``(H, W)`` of each stage; patch merging pads odd sizes up (ceil)."""
        if img_size is None:
            h, w = self.patches_resolution
        else:
            H, W = _pair(img_size, "img_size")
            h, w = math.ceil(H / self.patch_size), math.ceil(W / self.patch_size)
        out = []
        for _ in self.depths:
            out.append((h, w))
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        return tuple(out)

    def stage_windows(self) -> tuple[tuple[int, int], ...]:
        """``(window_size, shift_size)`` used by the shifted blocks of each stage.

        :func:`window_for_map` on each stage's map, with shift = floor(M / 2) (0 with
        ``shift_windows=False``, the ablation): a stage whose map is not larger than the window uses a
        window of min(H, W) and does not shift. It is decided from ``img_size`` (this fixes the
        bias-table shapes of a checkpoint); other input sizes at run time are padded to the window.
        """
        shift = self.window_size // 2 if self.shift_windows else 0
        return tuple(window_for_map(h, w, self.window_size, shift) for h, w in self.stage_resolutions())

    def drop_path_rates(self) -> tuple[float, ...]:
        """Stochastic-depth rate of every block, rising linearly from 0 to ``drop_path_rate``."""
        n = sum(self.depths)
        if n == 1:
            return (0.0,)
        return tuple(self.drop_path_rate * i / (n - 1) for i in range(n))

    # ------------------------------------------------------------------ presets
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "SwinConfig":
        """A named configuration, optionally with some fields replaced.

        ``"tiny"``, ``"small"``, ``"base"``, ``"large"``: the paper's 224x224 ImageNet models with
        window 7 (large as fine-tuned to ImageNet-1k from 22k). ``"nano"``: a CPU-sized model for the
        course and for training on 32x32 images (patch 2, C=48, depths (2, 2, 2), window 4, 10 classes).
        """
        if not isinstance(name, str):
            raise TypeError(f"SwinConfig.preset: name must be a str, got {name!r}")
        key = name.lower()
        if key not in PRESETS:
            raise ValueError(
                f"SwinConfig.preset: unknown preset {name!r}; expected one of {sorted(PRESETS)}"
            )
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise TypeError(f"SwinConfig.preset: unknown field(s) {unknown}; fields are {sorted(fields)}")
        params = dict(PRESETS[key])
        params.update(overrides)
        params.setdefault("name", key)
        return cls(**params)

    def replace(self, **changes: Any) -> "SwinConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(embed_dim=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), drop_path_rate=0.2),
    "small": dict(embed_dim=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24), drop_path_rate=0.3),
    "base": dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32), drop_path_rate=0.5),
    "large": dict(embed_dim=192, depths=(2, 2, 18, 2), num_heads=(6, 12, 24, 48), drop_path_rate=0.2),
    "nano": dict(
        img_size=32, patch_size=2, num_classes=10, embed_dim=48, depths=(2, 2, 2),
        num_heads=(3, 6, 12), window_size=4, drop_path_rate=0.1,
    ),
}
