"""Which tokens can exchange information (issue #16): attention groups, the shift-size experiment and the
poke test. Integer/boolean results are compared exactly."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from swin_edu import numpy_ref as snp
from swin_edu.demos.connectivity import attention_groups, may_attend, reach, reach_map
from swin_edu.demos.receptive_field import CHANGED_TOL, poke_receptive_field, receptive_field_experiment
from swin_edu.demos.shift_choice import shift_choice_experiment


@st.composite
def maps(draw):
    M = draw(st.integers(1, 6))
    return draw(st.integers(1, 4)) * M, draw(st.integers(1, 4)) * M, M, draw(st.integers(0, M - 1))


def _same_partition(a, b):
    a, b = a.ravel(), b.ravel()
    return np.array_equal(a[:, None] == a[None, :], b[:, None] == b[None, :])


@given(maps())
def test_groups_are_the_displaced_windows(args):
    """Cyclic shift + region labels group the tokens exactly as the naive displaced grid does."""
    H, W, M, s = args
    naive = np.zeros((H, W), dtype=int)
    for n, (rows, cols) in enumerate(snp.shifted_window_grid(H, W, M, s)):
        naive[rows, cols] = n
    assert _same_partition(attention_groups(H, W, M, s), naive)


@given(maps())
def test_may_attend_is_the_mask_in_original_positions(args):
    """may_attend, read in the rolled window order, is the package's shift mask."""
    H, W, M, s = args
    order = snp.window_partition(snp.cyclic_shift(np.arange(H * W).reshape(1, H, W, 1), s), M).reshape(-1, M * M)
    A = may_attend(H, W, M, s)
    mask = snp.shift_mask(H, W, M, s)
    for w, tokens in enumerate(order):
        np.testing.assert_array_equal(A[np.ix_(tokens, tokens)], mask[w] == 0)


def test_reach_of_a_wmsa_stack_never_leaves_the_window():
    R = reach(8, 8, [(4, 0)] * 5)
    np.testing.assert_array_equal(R, may_attend(8, 8, 4, 0))
    # the 4 displaced windows that overlap window 0 (4 + 8 + 8 + 16 tokens)
    assert reach_map(8, 8, [(4, 0), (4, 2)], (1, 1)).sum() == 4 + 8 + 8 + 16


def test_shift_choice_seed_numbers():
    out = shift_choice_experiment(7, 3)
    M = 7
    assert out["shift"] == list(range(M)) and out["map"] == (21, 21)
    assert out["best_shifts"] == [3, 4] and M // 2 in out["best_shifts"]
    assert out["worst_reach"] == [min(s, M - s) for s in range(M)]
    assert out["reach"][3] == {"down": 3, "up": 4, "right": 3, "left": 4}
    assert out["smallest_window"] == [49] + [min(s, M - s) ** 2 for s in range(1, M)]
    assert out["masked_fraction"][0] == 0 and max(out["masked_fraction"]) == out["masked_fraction"][3]


@pytest.mark.parametrize("M", [2, 3, 4, 5, 7, 8])
def test_shift_choice_cross_pairs_formula_and_floor_half(M):
    k = 3
    out = shift_choice_experiment(M, k)
    for s, got in zip(out["shift"], out["cross_pairs"]):
        t = s * (M - s)
        interior = 2 * t * (M**2 + s**2 + (M - s) ** 2)        # a displaced window inside the map
        border = 2 * t * (s**2 + (M - s) ** 2)                  # the last row / column of rolled windows
        assert got == (k - 1) ** 2 * interior + 2 * (k - 1) * border
    assert M // 2 in out["best_shifts"]
    assert out["cross_pairs"] == out["cross_pairs"][:1] + out["cross_pairs"][1:][::-1]   # s and M - s: same


def test_receptive_field_poke_equals_the_prediction():
    out = receptive_field_experiment()
    assert out["poke"] == (7, 7) and out["depths"] == [2, 4, 6]
    assert out["tokens"] == {"shift": [64, 196, 256], "no_shift": [16, 16, 16]}
    for name in ("shift", "no_shift"):
        for d in out["depths"]:
            np.testing.assert_array_equal(out["reached"][name][d], out["predicted"][name][d])
            change = out["change"][name][d]
            # not reached: exactly unchanged (masked pairs leak exp(-100), lost in float64 rounding);
            # reached: far above the threshold
            assert np.all(change[~out["predicted"][name][d]] == 0)
            assert change[out["predicted"][name][d]].min() > 1e3 * CHANGED_TOL


def test_poke_on_another_map_and_window():
    H, W, M = 12, 18, 6
    change = poke_receptive_field(H, W, M, (1, 2, 3), poke=(0, 17), seed=3)
    schedule = [(M, 0), (M, 3), (M, 0)]
    for d in (1, 2, 3):
        np.testing.assert_array_equal(change[d] > CHANGED_TOL, reach_map(H, W, schedule[:d], (0, 17)))


@pytest.mark.parametrize("call, error, message", [
    (lambda: attention_groups(8, 8, 3, 1), ValueError, "must divide the map 8x8"),
    (lambda: attention_groups(8, 8, 4, 4), ValueError, "shift_size must be smaller than window_size=4, got 4"),
    (lambda: reach(8, 8, []), ValueError, "at least one block"),
    (lambda: reach(8, 8, [(4, 0, 1)]), ValueError, r"blocks\[0\] must be a pair"),
    (lambda: reach(8, 8, "44"), TypeError, "blocks must be a sequence"),
    (lambda: reach_map(8, 8, [(4, 0)], (8, 0)), ValueError, "poke must lie inside the 8x8 map"),
    (lambda: shift_choice_experiment(1), ValueError, "window_size must be at least 2"),
    (lambda: shift_choice_experiment(7, 2), ValueError, "map_windows must be at least 3"),
    (lambda: poke_receptive_field(depths=(4, 2)), ValueError, "depths must be increasing"),
    (lambda: poke_receptive_field(depths=()), TypeError, "non-empty sequence"),
    (lambda: poke_receptive_field(shift=1), TypeError, "shift must be a bool"),
    (lambda: poke_receptive_field(16, 16, 5), ValueError, "window_size=5 must divide the map 16x16"),
    (lambda: receptive_field_experiment(poke=(3,)), TypeError, "poke must be a pair"),
])
def test_arguments_are_validated(call, error, message):
    with pytest.raises(error, match=message):
        call()


@given(maps(), st.data())
def test_reach_map_is_a_column_of_reach(args, data):
    H, W, M, s = args
    blocks = [(M, 0), (M, s), (M, 0)][: data.draw(st.integers(1, 3))]
    r, c = data.draw(st.integers(0, H - 1)), data.draw(st.integers(0, W - 1))
    np.testing.assert_array_equal(reach_map(H, W, blocks, (r, c)), reach(H, W, blocks)[:, r * W + c].reshape(H, W))


@pytest.mark.parametrize("M", [3, 4, 7])
def test_reach_grows_by_one_window_per_block_away_from_the_borders(M):
    """With the shift, after d blocks (W, SW, W, ...) a poke has reached a (d*M) x (d*M) square: every block
    carries the information to the next window border of its own grid. Without it: one window."""
    H = W = 8 * M
    poke = (4 * M - 1, 4 * M - 1)
    for d in range(1, 7):
        shifted = reach_map(H, W, [(M, 0 if j % 2 == 0 else M // 2) for j in range(d)], poke)
        rows, cols = np.nonzero(shifted)
        assert shifted.sum() == (d * M) ** 2 and np.ptp(rows) + 1 == np.ptp(cols) + 1 == d * M
        assert reach_map(H, W, [(M, 0)] * d, poke).sum() == M * M
