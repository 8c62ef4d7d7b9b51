"""The grader, attacked again (issue #26): each hole that the second round of attacks found, as a test.

Three tiers, by cost. Fast unit tests of each defence's logic (no sandbox). Sandboxed verdicts
(``slow``, ``sandbox``): one graded cell run by the real grader (:func:`run_verdict`) with an attacking answer.
One class run (``slow``, ``sandbox``): release a small assignment, submit the attacks with an honest student,
``classroom.grade_class``, then read the scores, the table, the feedback pages and the formgrader's pages.
The install modes of item 1 (a wheel, the container's layout) are in tests/test_redteam_install.py.

Each test fails on the grader before the fix (checked against main: see the report of issue #26).
"""

from __future__ import annotations

import copy
import ctypes
import dataclasses
import html
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

import nbformat
import numpy as np
import pytest
from _redteam import by_id, fn, make_source, wall

from swin_edu import classroom
from swin_edu.classroom import codec
from swin_edu.classroom.grading import GradingSettings
from swin_edu.exercises import EXERCISES

ROOT = pathlib.Path(__file__).resolve().parents[1]
HAS_BWRAP = shutil.which("bwrap") is not None
sandboxed = [
    pytest.mark.slow,
    pytest.mark.sandbox,
    pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed (tools/install_sandbox.sh)"),
]


def needs_sandbox(test):
    """Slow and sandboxed: runs bubblewrap."""
    for mark in reversed(sandboxed):
        test = mark(test)
    return test


def settings(**kw) -> GradingSettings:
    """GradingSettings with the fields this grader has (the same test file runs against an older grader)."""
    known = {f.name for f in dataclasses.fields(GradingSettings)}
    return GradingSettings(**{k: v for k, v in kw.items() if k in known})


# ================================================================================ one graded cell, for real
def spec_for(name: str) -> dict:
    """The grading data of one graded cell of exercise ``name`` (its public cases, expected by the reference)."""
    ex = EXERCISES[name]
    cases = []
    for case in ex.cases():
        args, kwargs = copy.deepcopy((case.args, case.kwargs))
        cases.append({"label": str(case.label), "hidden": False, "args": codec.encode(tuple(case.args)),
                      "kwargs": codec.encode(dict(case.kwargs)), "expected": codec.encode(ex.reference(*args, **kwargs))})
    return {"grade_id": f"{name}_check", "points": 2.0, "exercise": name, "function": ex.signature.split("(")[0],
            "answer_ids": [f"{name}_answer"], "prelude": ex.prelude, "forbidden": list(ex.forbidden),
            "guards": list(ex.guards), "cases": cases}


@pytest.fixture(scope="module")
def grader_parts():
    from swin_edu.classroom.bwrap import Sandbox
    from swin_edu.classroom.stubs import PackageCopies

    box = Sandbox(hidden_paths=[ROOT])
    work = tempfile.mkdtemp(prefix="swin-edu-test-copies-")
    os.chmod(work, 0o755)
    yield box, PackageCopies(work)
    box.close()
    shutil.rmtree(work, ignore_errors=True)


def verdict_of(parts, name: str, source: str):
    from swin_edu.classroom.bwrap import Limits
    from swin_edu.classroom.verdict import run_verdict

    box, copies = parts
    spec = spec_for(name)
    return run_verdict(spec, [{"id": spec["answer_ids"][0], "source": source}], sandbox=box, copies=copies,
                       limits=Limits(wall=180, cpu=180, memory=3 << 30, processes=32))


# ------------------------------------------------------------------ item 2: numpy references in the torch modules
ATTACK_71 = fn("window_attention_mine(x, mask, state_dict, window_size, num_heads)", """
    sd = {k: v.detach().double().numpy() for k, v in state_dict.items()}
    m = None if mask is None else mask.double().numpy()
    out = snp.window_attention(x.double().numpy(), sd['qkv.weight'], sd['qkv.bias'], sd['proj.weight'],
                               sd['proj.bias'], num_heads, sd['relative_position_bias_table'], m)
    return torch.from_numpy(out).float()
""")
ATTACK_73 = fn("patch_merging_torch_mine(x, state_dict)", """
    sd = {k: v.detach().double().numpy() for k, v in state_dict.items()}
    out = snp.patch_merging(x.double().numpy(), sd['reduction.weight'], sd['norm.weight'], sd['norm.bias'])
    return torch.from_numpy(out).float()
""")


@pytest.mark.parametrize("name, source", [("window_attention_module", ATTACK_71),
                                          ("patch_merging_module", ATTACK_73)])
@needs_sandbox
def test_torch_module_exercises_cannot_use_the_numpy_references(grader_parts, name, source):
    verdict = verdict_of(grader_parts, name, source)
    assert not verdict.passed, verdict.message
    assert "is not available while this exercise is graded" in verdict.message, verdict.message


def test_the_numpy_references_are_stubs_in_every_torch_module_exercise():
    """Item 2, the logic: in 7.1-7.4 no copy keeps snp's window_attention, swin_block, patch_merging or stage."""
    from swin_edu.classroom.stubs import _prelude_roots, import_closure, kept_definitions, module_files

    files = module_files()
    for name in ("window_attention_module", "swin_block_module", "patch_merging_module", "basic_layer_module"):
        ex = EXERCISES[name]
        kept = kept_definitions(import_closure(_prelude_roots(ex.prelude, files), files), ex.allowed, files)
        names = {n for _, n in kept}
        assert not names & {"window_attention", "swin_block", "patch_merging", "stage", "shifted_window_attention",
                            "swin_forward"}, (name, sorted(names))


# ------------------------------------------------------------------ item 3: one exercise's reference for another's
CROSS = {
    "window_partition": fn("window_partition_mine(x, M)", "return snp.patch_partition(x, M).reshape(-1, M, M, x.shape[-1])"),
    "patch_partition": fn("patch_partition_mine(images, patch_size)", """
        p = patch_size
        B, H, W, C = images.shape
        return snp.window_partition(images, p).reshape(B, H // p, W // p, p * p * C)
    """),
    "relative_position_index": fn("relative_position_index_mine(M)", """
        rel = snp.relative_coords(M)
        return (rel[..., 0] + M - 1) * (2 * M - 1) + rel[..., 1] + M - 1
    """),
    "patch_merging_gather": fn("patch_merging_gather_mine(x)", """
        B, H, W, C = x.shape
        w = snp.window_partition(x, 2).reshape(B, H // 2, W // 2, 2, 2, C)
        return w.transpose(0, 1, 2, 4, 3, 5).reshape(B, H // 2, W // 2, 4 * C)
    """),
}


@pytest.mark.parametrize("name", sorted(CROSS))
@needs_sandbox
def test_another_exercises_reference_is_not_available(grader_parts, name):
    verdict = verdict_of(grader_parts, name, CROSS[name])
    assert not verdict.passed, verdict.message
    assert "is not available while this exercise is graded" in verdict.message, verdict.message


def test_each_exercise_allows_what_its_solution_uses_and_never_its_own_reference():
    """Item 3, the logic: the allow-list keeps every package function the source solution calls, and none of the
    exercise's references (a clash raises when the copy is made)."""
    from swin_edu.classroom.stubs import (BASE_MODULES, _allow_list_stubs, _prelude_roots, import_closure,
                                          kept_definitions, module_files)

    files = module_files()
    used = _solution_package_calls()
    for name, ex in EXERCISES.items():
        needed = import_closure(_prelude_roots(ex.prelude, files), files)
        kept = {n for m, n in kept_definitions(needed, ex.allowed, files) if m not in BASE_MODULES}
        _allow_list_stubs(needed, ex.allowed, {tuple(e.split(":")) for e in ex.forbidden}, files)  # no clash
        for entry in ex.forbidden:
            module, _, qualname = entry.partition(":")
            assert "." in qualname or qualname not in kept or module in BASE_MODULES, (name, entry)
        assert used.get(name, set()) <= kept | {"GATHER_OFFSETS", "MASK_VALUE"}, (name, used[name] - kept)


def _solution_package_calls() -> dict:
    out = {}
    for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            gid = meta.get("grade_id", "")
            if meta.get("solution") and cell.cell_type == "code" and gid.endswith("_answer"):
                graded = [c for c in nbformat.read(path, as_version=4).cells
                          if c.metadata.get("nbgrader", {}).get("grade_id") == gid.replace("_answer", "_check")]
                if graded:
                    name = re.match(r"passed = check\.(\w+)", graded[0].source)[1]
                    calls = set(re.findall(r"\bsnp\.(\w+)", cell.source))
                    calls |= {n for n in ("load_learned", "WindowAttention", "SwinBlock", "PatchMerging")
                              if re.search(rf"\b{n}\(", cell.source) and f"class {n}" not in cell.source}
                    out[name] = calls
    return out


def test_an_allow_list_copy_stubs_what_it_does_not_allow(tmp_path):
    from swin_edu.classroom.stubs import make_copy

    ex = EXERCISES["attention"]
    dest = make_copy(tmp_path, prelude=ex.prelude, forbidden=ex.forbidden, allowed=ex.allowed)
    code = ("import numpy as np\nfrom swin_edu import numpy_ref as snp\n"
            "print(snp.softmax(np.zeros(2)))\n"
            "try:\n    snp.window_partition(np.zeros((1, 2, 2, 1)), 1)\nexcept BaseException as e:\n"
            "    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(dest)}, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert "[0.5 0.5]" in out
    assert "ReferenceUnavailable snp.window_partition is not available while this exercise is graded" in out
    assert "may use only snp.softmax" in out


# ------------------------------------------------------------------ item 4: the torch guards
TORCH_ATTACKS = {
    "multi_head_attention_forward": fn("attention_torch_mine(q, k, v, mask)", """
        W, H, N, d = q.shape
        E = H * d
        flat = lambda t: t.permute(2, 0, 1, 3).reshape(N, W, E)
        m = None if mask is None else mask.expand(W, H, N, N).reshape(W * H, N, N)
        eye = torch.eye(E, dtype=q.dtype)
        out, _ = F.multi_head_attention_forward(flat(q), flat(k), flat(v), E, H, None, None, None, None, False,
                                               0.0, eye, None, training=False, need_weights=True, attn_mask=m,
                                               use_separate_proj_weight=True, q_proj_weight=eye,
                                               k_proj_weight=eye, v_proj_weight=eye)
        return out.reshape(N, W, H, d).permute(1, 2, 0, 3)
    """),
    "aten_sdpa": fn("attention_torch_mine(q, k, v, mask)", "return torch.ops.aten.scaled_dot_product_attention(q, k, v, mask)"),
    "c_nn_sdpa": fn("attention_torch_mine(q, k, v, mask)", "return torch._C._nn.scaled_dot_product_attention(q, k, v, mask)"),
    "math_kernel": fn("attention_torch_mine(q, k, v, mask)", "return torch._scaled_dot_product_attention_math(q, k, v, mask)[0]"),
}
CE_ATTACKS = {
    "closure": fn("smoothed_cross_entropy_mine(logits, target, smoothing)", """
        g = F.cross_entropy
        original = g.__closure__[0].cell_contents if g.__closure__ else g
        return original(logits, target, label_smoothing=smoothing)
    """),
    "aten_ce": fn("smoothed_cross_entropy_mine(logits, target, smoothing)",
                  "return torch._C._nn.cross_entropy_loss(logits, target, None, 1, -100, smoothing)"),
}


@pytest.mark.parametrize("attack", sorted(TORCH_ATTACKS))
@needs_sandbox
def test_torch_attention_has_no_back_door(grader_parts, attack):
    verdict = verdict_of(grader_parts, "attention_torch", TORCH_ATTACKS[attack])
    assert not verdict.passed, verdict.message
    assert "not available while your answer is graded" in verdict.message, verdict.message


@pytest.mark.parametrize("attack", sorted(CE_ATTACKS))
@needs_sandbox
def test_label_smoothing_has_no_back_door(grader_parts, attack):
    verdict = verdict_of(grader_parts, "smoothed_cross_entropy", CE_ATTACKS[attack])
    assert not verdict.passed, verdict.message
    assert "label_smoothing" in verdict.message and "not available" in verdict.message, verdict.message


def test_the_torch_attention_guards_cover_every_attention_operator_of_this_torch():
    """Item 4, the logic: every ATen operator that computes an attention (forward) is refused."""
    torch = pytest.importorskip("torch")
    from swin_edu.exercises.spec import TORCH_ATTENTION_GUARDS

    ops = {n.split("::")[1].split(".")[0] for n in torch._C._dispatch_get_all_op_names() if n.startswith("aten::")}
    attention = {op for op in ops if re.search(r"(attention|scaled_dot|multi_head|transformer_encoder)", op)
                 and "backward" not in op and not op.startswith("_fused_sdp_choice")}
    guarded = {g.split("::")[1] for g in TORCH_ATTENTION_GUARDS if g.startswith("aten::")}
    assert attention <= guarded, sorted(attention - guarded)
    for name in ("attention_torch", "window_attention_module"):
        assert set(TORCH_ATTENTION_GUARDS) <= set(EXERCISES[name].guards)
    assert "aten::cross_entropy_loss?label_smoothing" in EXERCISES["smoothed_cross_entropy"].guards


def test_cross_entropy_without_smoothing_is_torchs_own(rng):
    """The label-smoothing guard's kernel computes plain cross-entropy exactly like PyTorch's (class indices and
    probabilities, weights, ignore_index, every reduction, unbatched) and refuses a smoothing."""
    torch = pytest.importorskip("torch")
    from swin_edu.classroom.child import ReferenceUnavailable, _cross_entropy_kernel

    kernel = _cross_entropy_kernel("refused")
    x = torch.from_numpy(rng.standard_normal((6, 5)))
    t = torch.from_numpy(rng.integers(0, 5, 6))
    t[2] = -100
    p = torch.softmax(torch.from_numpy(rng.standard_normal((6, 5))), -1)
    w = torch.from_numpy(rng.uniform(0.5, 2, 5))
    for reduction, enum in (("none", 0), ("mean", 1), ("sum", 2)):
        for target in (t, p):
            for weight in (None, w):
                want = torch.nn.functional.cross_entropy(x, target, weight=weight, reduction=reduction)
                got = kernel(x, target, weight, enum, -100, 0.0)
                assert torch.allclose(got, want, rtol=1e-12, atol=1e-12), (reduction, weight is None)
    assert torch.allclose(kernel(x[0], t[0], None, 1, -100, 0.0), torch.nn.functional.cross_entropy(x[0], t[0]))
    with pytest.raises(ReferenceUnavailable):
        kernel(x, t, None, 1, -100, 0.1)


# ------------------------------------------------------------------ item 8: the expected dtype
def _float_dtypes(value, out: set) -> set:
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        out.add(str(value.dtype))
    elif type(value).__module__ == "torch" and getattr(value, "is_floating_point", lambda: False)():
        out.add(str(value.dtype).replace("torch.", ""))
    elif isinstance(value, (list, tuple)):
        for v in value:
            _float_dtypes(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _float_dtypes(v, out)
    return out


def test_no_expected_dtype_comes_from_a_promotion_accident():
    """Where an exercise demands exactly the expected dtype, a case whose float inputs are all float32 expects
    float32: a float64 there comes from NumPy 2's promotion (e.g. ``/ np.sqrt(d)``), not from the statement."""
    pytest.importorskip("torch")
    for name, ex in EXERCISES.items():
        if ex.kind not in ("array", "torch") or ex.dtype != "same":
            continue
        cases = list(ex.cases()) + [c for s in range(3) for c in (ex.hidden(np.random.default_rng(s)) if ex.hidden else [])]
        for case in cases:
            inputs = _float_dtypes((case.args, case.kwargs), set())
            out = ex.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
            got = _float_dtypes(out, set())
            if inputs == {"float32"}:
                assert got == {"float32"}, (name, str(case.label), got)


@pytest.mark.parametrize("scale", ["math.sqrt(q.shape[-1])", "np.sqrt(q.shape[-1])"])
@needs_sandbox
def test_a_float32_attention_may_keep_its_dtype_or_not(grader_parts, scale):
    """Item 8: ``/ math.sqrt(d)`` keeps float32, ``/ np.sqrt(d)`` gives float64: both are right answers."""
    from swin_edu.classroom.bwrap import Limits
    from swin_edu.classroom.verdict import run_verdict

    box, copies = grader_parts
    spec = spec_for("attention")
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in ((2, 5, 8), (2, 6, 8), (2, 6, 3)))
    ref = EXERCISES["attention"].reference
    spec["cases"].append({"label": "float32", "hidden": True, "args": codec.encode((q, k, v)),
                          "kwargs": codec.encode({}), "expected": codec.encode(ref(q, k, v))})
    source = "import math\n" + fn("attention_mine(q, k, v)", f"""
        a = q @ np.swapaxes(k, -1, -2) / {scale}
        a = np.exp(a - a.max(-1, keepdims=True))
        return a / a.sum(-1, keepdims=True) @ v
    """)
    verdict = run_verdict(spec, [{"id": "a", "source": source}], sandbox=box, copies=copies, limits=Limits(wall=120))
    assert verdict.passed, verdict.message


# ------------------------------------------------------------------ item 10: magics in an answer cell
MAGIC_ANSWER = "%%time\n" + fn("window_partition_mine(x, M)", """
    B, H, W, C = x.shape
    return x.reshape(B, H // M, M, W // M, M, C).transpose(0, 1, 3, 2, 4, 5).reshape(-1, M, M, C)
""")


@pytest.mark.parametrize("source", [MAGIC_ANSWER, "!echo hello\n%time y = 1\n" + MAGIC_ANSWER.split("\n", 1)[1]])
@needs_sandbox
def test_magics_in_an_answer_cell_cost_nothing(grader_parts, source):
    verdict = verdict_of(grader_parts, "window_partition", source)
    assert verdict.passed, verdict.message


def test_a_cell_magic_defines_the_function_in_the_answers_namespace(tmp_path):
    """Item 10, the logic (in a process of its own: IPython's shell is a singleton)."""
    code = ("from swin_edu.classroom.child import run_cell\nns = {'__name__': '__main__'}\n"
            f"notes = run_cell({MAGIC_ANSWER!r}, '<answer>', ns)\nimport numpy as np\n"
            "print(notes, ns['window_partition_mine'](np.zeros((1, 4, 4, 1)), 2).shape)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "[] (4, 2, 2, 1)" in out.stdout, out.stdout + out.stderr[-2000:]


# ------------------------------------------------------------------ item 6: the kernel keyring
KEYCTL_SEARCH, KEYCTL_READ, KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING = 10, 11, -3, -4


def _syscalls():
    import platform

    return {"x86_64": (248, 249, 250), "aarch64": (217, 218, 219)}.get(platform.machine())


READ_KEY = fn("window_partition_mine(x, M)", """
    import ctypes, platform
    libc = ctypes.CDLL(None, use_errno=True)
    add_key, request_key, keyctl = {"x86_64": (248, 249, 250), "aarch64": (217, 218, 219)}[platform.machine()]
    found = b""
    for ring in (-3, -4, -5):  # the session, user and user-session keyrings
        key = libc.syscall(keyctl, 10, ring, b"user", b"swin-edu-redteam", 0)
        if key > 0:
            buf = ctypes.create_string_buffer(256)
            n = libc.syscall(keyctl, 11, key, buf, 256)
            found = buf.raw[:max(n, 0)]
    libc.syscall(add_key, b"user", b"swin-edu-written", b"x", 1, -4)  # stored for the next student?
    if found != b"the answer":
        return x
    B, H, W, C = x.shape
    return x.reshape(B, H // M, M, W // M, M, C).transpose(0, 1, 3, 2, 4, 5).reshape(-1, M, M, C)
""")


def test_the_seccomp_filter_refuses_exactly_the_keyring_calls():
    import struct

    from swin_edu.classroom.bwrap import seccomp_program

    for machine, nrs in (("x86_64", (248, 249, 250)), ("aarch64", (217, 218, 219))):
        prog = [struct.unpack("HBBI", seccomp_program(machine)[i:i + 8])
                for i in range(0, len(seccomp_program(machine)), 8)]
        assert prog[0] == (0x20, 0, 0, 4) and prog[-2][3] == 0x7FFF0000 and prog[-1][3] == 0x00050000 | 38
        assert {k for code, _, _, k in prog if code == 0x15} >= set(nrs)
    assert seccomp_program("sparc") is None


def test_each_grading_run_draws_its_own_users():
    import random

    from swin_edu.classroom.bwrap import UID_BLOCK, UID_LOW, pick_uid_base

    bases = {pick_uid_base(random.Random(seed)) for seed in range(20)}
    assert len(bases) == 20 and all(b >= UID_LOW and b % UID_BLOCK == 0 for b in bases)


@pytest.mark.skipif(_syscalls() is None, reason="keyring syscall numbers unknown here")
@needs_sandbox
def test_a_key_of_the_grader_or_of_another_student_is_out_of_reach(grader_parts):
    libc = ctypes.CDLL(None, use_errno=True)
    add_key = _syscalls()[0]
    key = libc.syscall(add_key, b"user", b"swin-edu-redteam", b"the answer", 10, KEY_SPEC_SESSION_KEYRING)
    if key < 0:
        pytest.skip(f"this machine refuses add_key (errno {ctypes.get_errno()})")
    try:
        verdict = verdict_of(grader_parts, "window_partition", READ_KEY)
    finally:
        libc.syscall(_syscalls()[2], 21, key, KEY_SPEC_SESSION_KEYRING)  # KEYCTL_UNLINK
    assert not verdict.passed, verdict.message


# ------------------------------------------------------------------ item 9: copied cells
def test_copies_of_a_graded_id_become_plain_cells_and_the_last_one_is_graded():
    from swin_edu.classroom.grading import deduplicate

    nb = nbformat.v4.new_notebook()
    meta = {"grade": False, "solution": True, "locked": False, "grade_id": "a_answer", "schema_version": 3}
    check = {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "a_check", "schema_version": 3}
    draft, final = nbformat.v4.new_code_cell("draft"), nbformat.v4.new_code_cell("final")
    draft.metadata["nbgrader"], final.metadata["nbgrader"] = dict(meta), dict(meta)
    c1, c2 = nbformat.v4.new_code_cell("passed"), nbformat.v4.new_code_cell("passed")
    c1.metadata["nbgrader"], c2.metadata["nbgrader"] = dict(check), dict(check)
    nb.cells = [draft, final, c1, c2]
    assert deduplicate(nb) == {"a_answer": 2, "a_check": 2}
    assert [c.source for c in nb.cells if "nbgrader" in c.metadata] == ["final", "passed"]
    assert nb.cells[2].metadata == {} and "nbgrader" not in nb.cells[0].metadata
    # what nbgrader's OverwriteCells.add_missing_task_cells reads: no KeyError now
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c["metadata"]]


# ------------------------------------------------------------------ item 7: the budget of a notebook
def test_a_notebook_keeps_its_graded_cells_within_the_budget_of_cells():
    from swin_edu.classroom.grading import bound_notebook

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"x = {i}") for i in range(3000)]
    answer = nbformat.v4.new_code_cell("def f(): pass")
    answer.metadata["nbgrader"] = {"solution": True, "grade_id": "a_answer", "grade": False, "locked": False}
    graded = nbformat.v4.new_code_cell("passed = check.f(f)")
    graded.metadata["nbgrader"] = {"grade": True, "grade_id": "a_check", "locked": True, "points": 1}
    nb.cells += [answer, graded]
    out, note = bound_notebook(nb, 100, {"a_answer", "a_check"})
    assert len(out.cells) == 100 and out.cells[-2:] == [answer, graded]
    assert "3,002 cells" in note and "2,902 cells" in note
    same, none = bound_notebook(out, 100, {"a_answer", "a_check"})
    assert none is None and same is out


def test_a_submission_folder_shows_the_run_only_a_bounded_number_of_files(tmp_path):
    from swin_edu.classroom.grading import _submission_copy

    for i in range(300):
        (tmp_path / f"f{i:04d}.txt").write_text("x")
    copy_, notes = _submission_copy(tmp_path, max_files=50)
    try:
        assert len(list(copy_.iterdir())) == 50 and "more than 50 files" in notes[0]
    finally:
        shutil.rmtree(copy_)


def test_the_notebook_run_is_bounded_by_its_budget():
    s = settings(cell_timeout=300, notebook_timeout=120)
    assert s.notebook_timeout == 120 and s.max_cells > 0 and s.max_files > 0
    assert s.display_limits(100, budget=120).wall <= 180 < s.display_limits(100).wall


# ------------------------------------------------------------------ item 5: pages made from a submission
MARK = "XSSMARK"
XSS_MARKDOWN = [
    f"<script>alert('{MARK}1')</script>",
    f"<img src=x onerror=alert('{MARK}2')>",
    f"[click](javascript:alert('{MARK}3'))",
    f"[c](java&#115;cript:alert('{MARK}4'))",
    f"<svg><script>alert('{MARK}5')</script></svg>",
    f"<iframe srcdoc=\"<script>alert('{MARK}6')</script>\"></iframe>",
    f"$\\href{{javascript:alert('{MARK}7')}}{{x}}$",
    f"<a href='javascript:alert(1)' onmouseover=\"alert('{MARK}8')\">x</a>",
]


class _Active(HTMLParser):
    """Everything in a page that can run code: scripts, event handlers, javascript:/data: URLs, frames."""

    URLS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}
    TAGS = {"script", "iframe", "object", "embed", "base", "form", "frame", "frameset"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self._script = [], None

    def handle_starttag(self, tag, attrs):
        if tag in self.TAGS:
            self.found.append(("tag", tag, repr(attrs)))
        if tag == "script":
            self._script = []
        for key, value in attrs:
            value = value or ""
            if key.startswith("on") or key == "srcdoc":
                self.found.append(("attribute", key, value))
            elif key in self.URLS and re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(
                    ("javascript:", "vbscript:", "data:text")):
                self.found.append(("url", key, value))

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.found.append(("script", "".join(self._script), ""))
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)


def active_content(page: str) -> list:
    parser = _Active()
    parser.feed(page)
    return parser.found


def injected(page: str) -> list:
    return [item for item in active_content(page) if MARK in html.unescape(str(item))]


def test_a_students_markdown_and_raw_cells_reach_no_page_as_html():
    from nbconvert.exporters import HTMLExporter

    from swin_edu.classroom.sanitize import sanitize_submission

    release = nbformat.v4.new_notebook()
    figure = nbformat.v4.new_markdown_cell("![a figure](attachment:fig.png)")
    figure.attachments = {"fig.png": {"image/png": "iVBORw0KGgo="}}
    release.cells = [figure]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(v) for v in XSS_MARKDOWN]
    raw = nbformat.v4.new_raw_cell(f"<script>alert('{MARK}9')</script>")
    raw.metadata["raw_mimetype"] = "text/html"
    tagged = nbformat.v4.new_code_cell("x = 1")
    tagged.metadata["tags"] = [f"x\"><script>alert('{MARK}10')</script>"]
    forged = copy.deepcopy(figure)
    forged.attachments = {"fig.png": {"image/svg+xml": f"<svg onload=alert('{MARK}11')/>"}}
    nb.cells += [raw, tagged, forged]
    plain = copy.deepcopy(nb)
    plain.cells = [c for c in plain.cells if c.cell_type != "code"]
    assert injected(HTMLExporter().from_notebook_node(plain)[0])  # the attacks work on an unsanitized page
    sanitize_submission(nb, release)
    page = HTMLExporter().from_notebook_node(nb)[0]
    assert injected(page) == [], injected(page)
    assert "&lt;script&gt;alert(&#39;XSSMARK1&#39;)" in page or "&lt;script&gt;alert('XSSMARK1')" in page
    assert nb.cells[-1].attachments == figure.attachments  # the release's figure, not the student's


def test_a_grader_note_is_text_only():
    from nbconvert.exporters import HTMLExporter

    from swin_edu.classroom.grading import grader_note

    nb = nbformat.v4.new_notebook()
    nb.cells = [grader_note([f"<img src=x onerror=alert('{MARK}')> [x](javascript:alert(1)) $\\href{{x}}$"])]
    page = HTMLExporter().from_notebook_node(nb)[0]
    assert injected(page) == [] and "$" not in page.split("Notes from the grader")[1].split("</div>")[0]


# ================================================================================ the class run
SETUP = ("import math, os, time\nimport numpy as np\nfrom swin_edu import numpy_ref as snp\n"
         "from swin_edu.exercises import check, use_or_reference\n")
ASSIGNMENT, NB = "round2", "exercises.ipynb"
EX = {"A": ("02_window_attention", "nb02_attention", 2), "WP": ("02_window_attention", "nb02_window_partition", 2)}
FULL = sum(p for *_, p in EX.values())
# wall(): the limits of an idle machine, with room for a busy CI
CELL_TIMEOUT, NOTEBOOK_TIMEOUT, MAX_CELLS, MAX_FILES = wall(10.0), wall(25.0), 120, 40
FLOAT32_ATTENTION = "import math\n" + fn("attention_mine(q, k, v)", """
    logits = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    logits = logits - logits.max(axis=-1, keepdims=True)
    w = np.exp(logits)
    return w / w.sum(axis=-1, keepdims=True) @ v
""")
WRONG_WP = fn("window_partition_mine(x, M)", "return x.reshape(-1, M, M, x.shape[-1])")


_by_id = by_id


def _make_source(path: pathlib.Path) -> pathlib.Path:
    return make_source(path, EX.values(), SETUP, "# Round 2")


def _class_run(course: pathlib.Path, src: pathlib.Path) -> dict:
    release = classroom.release(course, ASSIGNMENT, notebooks=[_make_source(src / NB)],
                                settings=settings(workers=2, verdict_timeout=60))
    source = nbformat.read(course / "source" / ASSIGNMENT / NB, as_version=4)
    solution = {stem: "\n".join(l for l in _by_id(source)[f"{stem}_answer"].source.splitlines() if "SOLUTION" not in l)
                for _, stem, _ in EX.values()}

    def student(**answers):
        nb = nbformat.read(release / NB, as_version=4)
        cells = _by_id(nb)
        for key, (_, stem, _) in EX.items():
            cells[f"{stem}_answer"].source = answers.get(key, solution[stem])
        return nb

    def submit(name, nb):
        folder = course / "submitted" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NB)
        return folder

    submit("alice", student())
    # item 9: a wrong draft above the final answer cell, and the graded cell copied too
    dupes = student(WP=WRONG_WP)
    cells = _by_id(dupes)
    answer = copy.deepcopy(cells["nb02_window_partition_answer"])
    answer.source = solution["nb02_window_partition"]
    i = dupes.cells.index(cells["nb02_window_partition_answer"])
    dupes.cells.insert(i + 1, answer)
    check = cells["nb02_window_partition_check"]
    dupes.cells.insert(dupes.cells.index(check), copy.deepcopy(check))
    for cell in dupes.cells:
        cell.id = nbformat.v4.new_code_cell().id  # the ids a copy gets in JupyterLab
    submit("dupes", dupes)
    # item 10: magics in the answer cell
    submit("magic", student(WP="%%time\n" + solution["nb02_window_partition"].replace("def ", "def ", 1),
                            A="!echo grading\n%time _ = 1\n" + solution["nb02_attention"]))
    # item 8: an attention that keeps float32
    submit("float32", student(A=FLOAT32_ATTENTION))
    # item 3: another exercise's reference
    submit("crossref", student(WP=CROSS["window_partition"]))
    # item 6: a key of the grader's session (planted by the test) read through the keyring
    submit("keyring", student(WP=READ_KEY))
    # item 5: HTML in markdown and raw cells, in cell metadata and ids, in an output
    xss = student()
    xss.metadata["title"] = f"</title><script>alert('{MARK}0')</script>"
    xss.cells[1:1] = [nbformat.v4.new_markdown_cell(v) for v in XSS_MARKDOWN]
    raw = nbformat.v4.new_raw_cell(f"<script>alert('{MARK}R')</script>")
    raw.metadata["raw_mimetype"] = "text/html"
    out = nbformat.v4.new_code_cell(
        "from IPython.display import display\n"
        f"display({{'image/png': 'x\" onerror=\"alert(\\'{MARK}P\\')', 'text/html': '<script>alert(\\'{MARK}H\\')</script>'}}, raw=True)")
    out.metadata["tags"] = [f"t\"><script>alert('{MARK}T')</script>"]
    xss.cells += [raw, out]
    submit("xss", xss)
    # ... and in a cell id that nbformat would refuse (the notebook is graded all the same)
    badids = student()
    folder = submit("badids", badids)
    text = (folder / NB).read_text().replace(f'"id": "{badids.cells[1].id}"',
                                            f'"id": "x\\"><script>alert(\'{MARK}I\')</script>"')
    (folder / NB).write_text(text)
    # item 7: a notebook that sleeps, one with many cells, one with many files
    sleeper = student()
    sleeper.cells[2:2] = [nbformat.v4.new_code_cell("time.sleep(4)") for _ in range(20)]
    submit("sleeper", sleeper)
    many = student()
    many.cells[2:2] = [nbformat.v4.new_code_cell("") for _ in range(1500)]
    submit("manycells", many)
    folder = submit("manyfiles", student())
    for i in range(3000):
        (folder / f"file{i:05d}.txt").write_text("x")
    # item 11: folders whose names are no student id
    for name in ("bob smith", "semi;colon", "new\nline"):
        submit(name, student())

    libc = ctypes.CDLL(None, use_errno=True)
    key = libc.syscall(_syscalls()[0], b"user", b"swin-edu-redteam", b"the answer", 10,
                       KEY_SPEC_SESSION_KEYRING) if _syscalls() else -1
    try:
        report = classroom.grade_class(course, ASSIGNMENT, settings=settings(
            cell_timeout=CELL_TIMEOUT, verdict_timeout=60, workers=2, notebook_timeout=NOTEBOOK_TIMEOUT,
            max_cells=MAX_CELLS, max_files=MAX_FILES))
        error = ""
    except Exception as e:  # noqa: BLE001 - item 11: the grader must not raise; the tests say what happened
        report, error = None, f"{type(e).__name__}: {e}"
    finally:
        if key > 0:
            libc.syscall(_syscalls()[2], 21, key, KEY_SPEC_SESSION_KEYRING)
    return {
        "course": str(course),
        "error": error,
        "planted": key > 0,
        "table": report.table() if report else "",
        "seconds": report.seconds if report else {},
        "students": {s.student: {"problems": s.problems, "skipped": getattr(s, "skipped", False)}
                     for s in (report.students if report else [])},
        "scores": classroom.scores(course, ASSIGNMENT) if (course / "gradebook.db").exists() else {},
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    data = _class_run(tmp_path_factory.mktemp("course"), tmp_path_factory.mktemp("src"))
    print("\n" + data["table"] + f"\n{data['seconds']}\n{data['error']}")
    data["course"] = pathlib.Path(data["course"])
    return data


def _score(graded, student):
    return sum(graded["scores"].get(student, {}).values())


def _feedback(graded, student) -> str:
    return (graded["course"] / "feedback" / student / ASSIGNMENT / NB.replace(".ipynb", ".html")).read_text()


@pytest.mark.usefixtures("graded")
class TestClassRun:
    pytestmark = sandboxed

    def test_a_folder_that_is_no_student_id_is_skipped_and_named(self, graded):
        assert not graded["error"], graded["error"]
        for name in ("bob smith", "semi;colon", "new\nline"):
            assert graded["students"][name]["skipped"], name
            assert ascii(name) in graded["table"]
        assert "is not a student id" in graded["table"]
        assert _score(graded, "alice") == FULL

    def test_an_honest_submission_with_copied_cells_is_graded_and_told(self, graded):
        assert _score(graded, "dupes") == FULL, graded["scores"].get("dupes")
        assert not graded["students"]["dupes"]["problems"], graded["students"]["dupes"]
        assert "the grader graded the last one" in html.unescape(_feedback(graded, "dupes"))

    def test_magics_in_answer_cells_cost_nothing(self, graded):
        assert _score(graded, "magic") == FULL, graded["scores"].get("magic")

    def test_a_float32_attention_is_right(self, graded):
        assert _score(graded, "float32") == FULL, graded["scores"].get("float32")

    def test_another_exercises_reference_scores_nothing(self, graded):
        assert graded["scores"]["crossref"]["nb02_window_partition_check"] == 0
        assert _score(graded, "crossref") == FULL - 2

    def test_the_graders_keyring_is_out_of_reach(self, graded):
        if not graded["planted"]:
            pytest.skip("this machine refuses add_key")
        assert graded["scores"]["keyring"]["nb02_window_partition_check"] == 0

    def test_no_page_runs_a_students_html(self, graded):
        course = graded["course"]
        pages = list((course / "feedback").rglob("*.html"))
        assert any("xss" in str(p) for p in pages)
        for page in pages:
            assert injected(page.read_text(encoding="utf-8")) == [], page
        # the formgrader's page of every submission, made as nbgrader's formgrader makes it
        from nbconvert.exporters import HTMLExporter
        from nbgrader.server_extensions.formgrader import handlers
        from traitlets.config import Config

        config = Config()
        config.HTMLExporter.template_name = "formgrade"
        config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
        exporter = HTMLExporter(config=config)
        autograded = list((course / "autograded").rglob("*.ipynb"))
        assert any("xss" in str(p) for p in autograded)
        for path in autograded:
            resources = {"assignment_id": ASSIGNMENT, "notebook_id": path.stem, "submission_id": "s", "index": 0,
                         "total": 1, "base_url": "", "student": path.parent.parent.name, "last_name": "",
                         "first_name": "", "notebook_path": str(path)}
            page, _ = exporter.from_filename(str(path), resources=resources)
            assert injected(page) == [], path
        baseline = {(k, n) for k, n, _ in active_content((course / "feedback" / "alice" / ASSIGNMENT / "exercises.html").read_text())}
        attacked = {(k, n) for k, n, _ in active_content(_feedback(graded, "xss"))}
        assert attacked <= baseline, attacked - baseline  # nothing active beyond the template's own
        assert _score(graded, "xss") == FULL and _score(graded, "badids") == FULL

    def test_a_sleeping_notebook_stops_at_its_budget_and_says_so(self, graded):
        assert _score(graded, "sleeper") == FULL
        text = html.unescape(_feedback(graded, "sleeper"))
        assert "time budget" in text and "was used up" in text
        log = (graded["course"] / "grader_runs" / ASSIGNMENT / "sleeper" / "sandbox.log").read_text()
        seconds = float(re.search(r"plain code cells in ([\d.]+) s", log)[1])
        assert seconds < NOTEBOOK_TIMEOUT + 5, seconds

    def test_a_notebook_of_many_cells_keeps_the_budget_and_says_so(self, graded):
        assert _score(graded, "manycells") == FULL
        assert f"the grader keeps at most {MAX_CELLS}" in html.unescape(_feedback(graded, "manycells"))
        autograded = graded["course"] / "autograded" / "manycells" / ASSIGNMENT / NB
        assert len(nbformat.read(autograded, as_version=4).cells) <= MAX_CELLS + 1

    def test_a_folder_of_many_files_keeps_the_budget_and_says_so(self, graded):
        assert _score(graded, "manyfiles") == FULL
        assert f"more than {MAX_FILES}" in html.unescape(_feedback(graded, "manyfiles"))
        copied = [p for p in (graded["course"] / "autograded" / "manyfiles" / ASSIGNMENT).iterdir()]
        assert len(copied) <= 2, [p.name for p in copied][:5]  # the notebook (and nbgrader's timestamp), no files


def test_notebook_00_tells_students_what_each_exercise_may_use():
    """Item 3: the rule is said in notebook 00 (cell c00-rules), truthfully: every allowed package function of every
    exercise is named there, and nothing else of the package is."""
    cell = next(c for c in nbformat.read(ROOT / "notebooks" / "00_roadmap.ipynb", as_version=4).cells
                if c.id == "c00-rules")
    named = set(re.findall(r"`(?:snp\.)?(\w+)`", cell.source))
    allowed = {entry.split(":")[1] for ex in EXERCISES.values() for entry in ex.allowed}
    assert allowed <= named, allowed - named
    package = {n for n in named if hasattr(__import__("swin_edu.numpy_ref", fromlist=["x"]), n)}
    assert package <= allowed, package - allowed
    for phrase in ("answer cell", "scaled_dot_product_attention", "label_smoothing=", "confusion matrix", "%%time"):
        assert phrase in cell.source, phrase
