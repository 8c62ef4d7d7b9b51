"""Executed answers to the questions readers ask about Swin, as functions that return plain data.

Each module answers one question; a notebook calls it, plots what it returns and asserts what its text
says. Nothing here imports torch at import time except the modules whose name ends in ``_torch`` and
:mod:`.student_model`.

- :mod:`.connectivity`: which tokens can exchange information through a stack of W-MSA / SW-MSA blocks
  (the attention groups of a block, reach through several blocks), computed from the real shift and mask.
- :mod:`.shift_choice`: why a shift of floor(M/2) and not another (an experiment over s = 0..M-1).
- :mod:`.shift_strategies`: cyclic shift + mask against padding to 9 windows, and against sliding windows
  (the paper's Table 5): windows and MACs counted, and timed.
- :mod:`.receptive_field`: how far information travels after 2, 4, 6 blocks, with and without the shift,
  by poking one token through numpy Swin blocks with random weights.
- :mod:`.permutation` / :mod:`.permutation_torch`: roll + window partition is a fixed permutation of
  tokens (an index), in numpy and in torch.
- :mod:`.bias_resize`: the relative position bias table resized for a 384 input (window 7 -> 12).
- :mod:`.softmax_scale`: why attention divides its logits by sqrt(d): logit spread and softmax saturation
  of random queries and keys, with and without the scale.
- :mod:`.mask_leak`: why -100 acts as minus infinity: the attention logits of a trained model measured, and the
  weight that leaks through the mask when they are scaled up (notebook 03).
- :mod:`.patch_kernels`: what a trained patch embedding learned: its kernels split into an average and differences
  between pixels (notebook 01).
- :mod:`.vit_block`: a ViT block (global attention) beside a Swin block: MACs counted on the running code, reach
  of a poke, time (notebook 05).
- :mod:`.sdpa_kernels`: which of PyTorch's attention kernels take Swin's float mask on a device, measured
  (notebook 07).
- :mod:`.timing`: a small benchmark helper that returns timings (nothing asserts a timing).
- :mod:`.capstone_reference`: notebook 03's capstone (SW-MSA from its pieces) and its classic mistakes.
- :mod:`.train_step`: the harness that runs a training step (exercise 8.3) on a fresh tiny model, for the
  self-check, the grader and notebook 08.
- :mod:`.student_model`: notebook 07's ~60-line torch modules (WindowAttention, SwinBlock,
  PatchMerging, BasicLayer) that load the official state dict.
"""
