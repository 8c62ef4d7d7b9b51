"""Pure-numpy reference of every Swin building block (no torch import anywhere in here).

>>> from swin_edu import numpy_ref as snp
"""
from .attention import relative_coords, relative_position_bias, relative_position_index, softmax, window_attention
from .merging import GATHER_OFFSETS, patch_merging, patch_merging_gather
from .model import (block_params, drop_path, gelu, mlp, random_block_params, random_state_dict,
                    shifted_window_attention, stage, swin_block, swin_forward)
from .naive import padded_window_attention, shifted_window_grid
from .patches import conv_weight_to_linear, layer_norm, pad_to_multiple, patch_embed, patch_partition
from .sliding import sliding_window_attention, sliding_window_attention_naive
from .windows import (MASK_VALUE, cyclic_shift, region_ids, reverse_cyclic_shift, shift_mask, window_partition,
                      window_reverse)

__all__ = [
    "patch_partition", "patch_embed", "layer_norm", "pad_to_multiple", "conv_weight_to_linear",
    "window_partition", "window_reverse", "cyclic_shift", "reverse_cyclic_shift", "region_ids", "shift_mask",
    "MASK_VALUE", "softmax", "relative_coords", "relative_position_index", "relative_position_bias",
    "window_attention", "GATHER_OFFSETS", "patch_merging_gather", "patch_merging", "gelu", "mlp", "drop_path",
    "shifted_window_attention", "block_params", "swin_block", "stage", "swin_forward", "random_state_dict",
    "random_block_params",
    "shifted_window_grid", "padded_window_attention", "sliding_window_attention", "sliding_window_attention_naive",
]
