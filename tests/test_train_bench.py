"""swin_edu.train_bench: the loop benchmark and the peer's accuracy on our split (the figures themselves are
measured on a quiet machine and recorded in docs/training.md; here only that the script works)."""
from __future__ import annotations

import pytest

from swin_edu import train_bench


def test_unknown_variants_are_named():
    with pytest.raises(ValueError, match="unknown variant.*'nope'"):
        train_bench.bench(["nope"], rounds=1, epochs=2)


def test_the_markdown_table_has_one_row_per_variant_and_the_machine():
    result = {"rows": [{"variant": "plain loop (ours)", "epoch_s": 1.0, "vs_plain": 1.0, "rounds": [1.0, 1.1],
                        "process_s": 12.0},
                       {"variant": "train() defaults (the command line)", "epoch_s": 1.25, "vs_plain": 1.25,
                        "rounds": [1.25], "process_s": 14.0}],
              "epochs": 10, "rounds": 2, "threads": 2, "load": [0.5, 1.5],
              "machine": {"platform": "Linux-x", "cpu_count": 2, "torch": "2.13.0+cpu"}}
    table = train_bench.markdown(result)
    assert "| plain loop (ours) | 1.000 | 1.00x | 1.000, 1.100 | 12.0 |" in table
    assert "| train() defaults (the command line) | 1.250 | 1.25x |" in table
    assert "2 rounds x 10 epochs" in table and "load average 0.50, 1.50" in table


def test_the_plain_loop_reports_epoch_times_and_a_test_accuracy():
    res = train_bench.plain_loop(2, seed=0)
    assert len(res["ends"]) == 2 and 0 < res["ends"][0] < res["ends"][1]
    assert 0.0 <= res["test_acc"] <= 1.0


def test_the_peer_command_prints_its_test_accuracy(capsys):
    assert train_bench.main(["--peer", "ours", "--epochs", "2", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "swin_edu's SwinTransformer" in out and "test accuracy" in out and "359 images" in out
