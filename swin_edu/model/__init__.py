"""The Swin Transformer in PyTorch: official layout, checkpoints, CPU/CUDA/MPS, fused attention.

>>> from swin_edu.model import SwinTransformer, load_checkpoint, optimize_for_inference

Modules: :mod:`.layers` (PatchEmbed, WindowAttention, SwinBlock, PatchMerging, BasicLayer: the
algorithm as written), :mod:`.swin` (SwinTransformer), :mod:`.ops` (window partition, shift, mask,
relative position index: the torch twins of ``numpy_ref``), :mod:`.checkpoint` (loading, saving,
official/timm/HF layouts), :mod:`.inference` (:func:`optimize_for_inference`: the fast inference step).
"""
from .checkpoint import (
    LAYOUTS,
    CheckpointError,
    convert_state_dict,
    detect_layout,
    from_hf,
    from_timm,
    load_checkpoint,
    read_checkpoint,
    resize_relative_position_bias_table,
    save_checkpoint,
    to_hf,
)
from .inference import InferenceSwin, optimize_for_inference
from .layers import (
    ATTN_IMPLS,
    AttnImpl,
    BasicLayer,
    DropPath,
    Mlp,
    PatchEmbed,
    PatchMerging,
    SwinBlock,
    SwinTransformerBlock,
    WindowAttention,
)
from .ops import (
    cyclic_shift,
    pad_to_multiple,
    region_ids,
    relative_position_index,
    reverse_cyclic_shift,
    shift_mask,
    window_partition,
    window_reverse,
)
from .swin import SwinTransformer

__all__ = [
    "ATTN_IMPLS",
    "LAYOUTS",
    "AttnImpl",
    "BasicLayer",
    "CheckpointError",
    "DropPath",
    "InferenceSwin",
    "Mlp",
    "PatchEmbed",
    "PatchMerging",
    "SwinBlock",
    "SwinTransformer",
    "SwinTransformerBlock",
    "WindowAttention",
    "convert_state_dict",
    "cyclic_shift",
    "detect_layout",
    "from_hf",
    "from_timm",
    "load_checkpoint",
    "optimize_for_inference",
    "pad_to_multiple",
    "read_checkpoint",
    "region_ids",
    "relative_position_index",
    "resize_relative_position_bias_table",
    "reverse_cyclic_shift",
    "save_checkpoint",
    "shift_mask",
    "to_hf",
    "window_partition",
    "window_reverse",
]
