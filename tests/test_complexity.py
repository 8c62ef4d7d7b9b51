
import pytest
from hypothesis import given, strategies as st

from swin_edu import complexity as cx
from swin_edu.config import SwinConfig


def test_seed_example_second_term():
    """Seed 2.2.1: h=w=56, C=96, M=7. The numbers are the *second* term (QK^T + AV)."""
    msa, wmsa = cx.msa_breakdown(56, 56, 96), cx.wmsa_breakdown(56, 56, 96, 7)
    msa_attn, wmsa_attn = msa["qk"] + msa["av"], wmsa["qk"] + wmsa["av"]
    print(f"\nMSA 2(hw)^2C = {msa_attn:,}   W-MSA 2M^2hwC = {wmsa_attn:,}   ratio {msa_attn // wmsa_attn}x")
    assert msa_attn == 2 * (56 * 56) ** 2 * 96 == 1_888_223_232
    assert wmsa_attn == 2 * 7**2 * 56 * 56 * 96 == 29_503_488
    assert msa_attn == 64 * wmsa_attn
    # the first term, 4hwC^2, is the same for both
    assert msa["qkv"] + msa["proj"] == wmsa["qkv"] + wmsa["proj"] == 4 * 56 * 56 * 96**2


def test_formulas():
    assert cx.msa_macs(56, 56, 96) == 4 * 3136 * 96**2 + 2 * 3136**2 * 96
    assert cx.wmsa_macs(56, 56, 96, 7) == 4 * 3136 * 96**2 + 2 * 49 * 3136 * 96
    # per window: 4 M^2 C^2 + 2 M^4 C, times (h/M)(w/M) windows
    assert cx.wmsa_macs(56, 56, 96, 7) == 64 * (4 * 49 * 96**2 + 2 * 7**4 * 96)


def test_non_divisible_counts_padding():
    # 9x9 with M=7 is padded to 14x14: 4 windows
    assert cx.wmsa_macs(9, 9, 8, 7) == cx.wmsa_macs(14, 14, 8, 7)
    assert cx.wmsa_macs(9, 9, 8, 7) > 4 * 81 * 64 + 2 * 49 * 81 * 8


@given(h=st.integers(1, 64), w=st.integers(1, 64), C=st.integers(1, 64), M=st.integers(1, 16))
def test_window_attention_never_costs_more_than_global_when_divisible(h, w, C, M):
    if h % M or w % M:
        return
    assert cx.wmsa_macs(h, w, C, M) <= cx.msa_macs(h, w, C)
    assert cx.wmsa_macs(h, w, C, M) == cx.msa_macs(h, w, C) - 2 * h * w * C * (h * w - M * M)


def test_official_params_exact():
    for name, n in cx.OFFICIAL_PARAMS.items():
        got = cx.param_count(SwinConfig.preset(name))
        print(f"\n{name}: {got:,} parameters (official {n:,})")
        assert got == n


def test_official_macs_tiny_and_paper_table():
    assert cx.model_macs(SwinConfig.preset("tiny")) == cx.OFFICIAL_MACS_TINY == 4_494_405_120
    for row in cx.paper_table_rows():
        print(f"\n{row['model']}: {row['macs'] / 1e9:.2f} GMACs (paper {row['flops_G_paper']}G), "
              f"{row['params'] / 1e6:.1f}M params (paper {row['params_M_paper']}M)")
        assert round(row["macs"] / 1e9, 1) == row["flops_G_paper"]
        assert round(row["params"] / 1e6) == row["params_M_paper"]


def test_per_stage_sums_and_norms():
    cfg = SwinConfig.preset("tiny")
    d = cx.model_macs(cfg, per_stage=True)
    assert d["total"] == sum(v for k, v in d.items() if k != "total") == cx.model_macs(cfg)
    assert set(d) == {"patch_embed", "stage0", "stage1", "stage2", "stage3", "head", "total"}
    no_norm = cx.model_macs(cfg, count_norms=False)
    assert 0.99 * cx.OFFICIAL_MACS_TINY < no_norm < cx.OFFICIAL_MACS_TINY
    p = cx.param_count(cfg, per_stage=True)
    assert p["total"] == cx.param_count(cfg) and p["head"] == 768 * 2 + 768 * 1000 + 1000


def test_model_macs_other_size_pads():
    cfg = SwinConfig.preset("tiny")
    # 230 is padded to 232 by the patch embedding (58 tokens), then every stage pads to windows of 7
    assert cx.model_macs(cfg, img_size=230) > cx.model_macs(cfg)
    assert cx.model_macs(cfg, img_size=(224, 448)) > 1.9 * cx.model_macs(cfg)


@pytest.mark.parametrize(
    "call, exc, word",
    [
        (lambda: cx.msa_macs(0, 56, 96), ValueError, "h"),
        (lambda: cx.msa_macs(56, 56.0, 96), TypeError, "w"),
        (lambda: cx.wmsa_macs(56, 56, -96, 7), ValueError, "C"),
        (lambda: cx.wmsa_macs(56, 56, 96, 0), ValueError, "M"),
        (lambda: cx.model_macs("tiny"), TypeError, "cfg"),
        (lambda: cx.param_count({"embed_dim": 96}), TypeError, "cfg"),
    ],
)
def test_bad_inputs(call, exc, word):
    with pytest.raises(exc, match=word):
        call()
