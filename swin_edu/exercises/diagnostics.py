"""Why an output is not the expected one, in words a student can act on.

Pure functions of plain values: the practice check (:mod:`swin_edu.exercises.runner`) calls them in the
student's notebook, and the classroom grader calls them in its own process on outputs that came back
from the sandbox as plain data (a real ``np.ndarray``, a plain tuple of ints), so that the same
specific message (which case, expected vs got, the first differing element, the misconception it
looks like) reaches the feedback page.
"""
from __future__ import annotations

import copy
import itertools
import math
import numbers
import re
from typing import Any, Optional, Sequence

import numpy as np

from .. import i18n
from ..i18n import Text
from .spec import Case, Exercise, entry_digest, normalize_entry

__all__ = ["describe", "explain", "more_help", "wrong_outputs", "mutated", "mutation_message",
           "error_message", "timeout_message", "unsolved_message", "passed_message", "case_failed", "case_head",
           "arg_names"]


#: the hints that more than one comparison gives
NO_RETURN = Text("hint: your function returned nothing. Did you forget the `return` statement?",
                 "hint: 你的函数什么也没返回。是不是忘了写 `return` 语句？")


# ------------------------------------------------------------------------------- describing values
def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and hasattr(x, "shape")


def _to_numpy_from_torch(x: Any) -> np.ndarray:
    t = x.detach().cpu()
    if str(t.dtype) in ("torch.bfloat16", "torch.float16"):
        t = t.float()
    return t.numpy()


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(value: Any) -> str:
    """One line saying what ``value`` is: type, shape and dtype for arrays and tensors."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"numpy array of shape {tuple(value.shape)}, dtype {value.dtype}"
    if _is_torch(value):
        return f"torch.Tensor of shape {tuple(value.shape)}, dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        nested = len(value) and not isinstance(value[0], numbers.Number)
        inner = f" (first item: {describe(value[0])})" if nested else ""
        return f"{type(value).__name__} of length {len(value)}{inner}" if inner else \
            f"{type(value).__name__} {_short(value)}"
    if isinstance(value, (bool, np.bool_)):
        return f"bool {value}"
    if isinstance(value, numbers.Number):
        return f"{type(value).__name__} {value!r}"
    return f"{type(value).__name__} {_short(value)}"


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    if isinstance(v, (np.integer,)):
        return str(int(v))
    if isinstance(v, (np.bool_,)):
        return str(bool(v))
    return repr(v)


def _index(idx: tuple) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _same_values(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    if a.shape != b.shape:
        return False
    try:
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            return bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol,
                                    equal_nan=True))
        return bool(np.array_equal(a, b))
    except (TypeError, ValueError):
        return False


def _as_comparable(value: Any) -> Optional[np.ndarray]:
    """numpy view of an output for misconception matching (None when it is not array-like)."""
    if isinstance(value, np.ndarray):
        return value
    if _is_torch(value):
        return _to_numpy_from_torch(value)
    if isinstance(value, numbers.Number):
        return np.asarray(value)
    return None


# ------------------------------------------------------------------------------- comparisons
def compare_array(ex: Exercise, got: Any, expected: Any, case: Case, wrongs: list) -> Optional[list]:
    """Lines that explain why ``got`` is not ``expected`` (arrays or tensors), or None if equal."""
    want_torch = ex.kind == "torch"
    exp = _to_numpy_from_torch(expected) if _is_torch(expected) else np.asarray(expected)
    exp_desc = describe(expected)
    if got is None:
        return [f"expected: {exp_desc}", "got:      None", NO_RETURN]
    if want_torch:
        if isinstance(got, np.ndarray):
            return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                    Text("hint: this exercise is about the PyTorch model: keep the computation in torch "
                         "(torch.cat, torch.softmax, @) and return a torch.Tensor, not a numpy array.",
                         "hint: 这个练习讲的是 PyTorch 模型：计算要留在 torch 里（torch.cat、torch.softmax、@），"
                         "返回 torch.Tensor，而不是 numpy 数组。")]
        if not _is_torch(got):
            return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                    Text("hint: return a torch.Tensor built with torch operations.",
                         "hint: 请返回用 torch 运算得到的 torch.Tensor。")]
        got_dtype_str, arr = str(got.dtype), _to_numpy_from_torch(got)
        exp_dtype_str = str(expected.dtype) if _is_torch(expected) else str(exp.dtype)
    else:
        if _is_torch(got):
            return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                    Text("hint: this exercise is pure numpy: use numpy operations and return a numpy array "
                         "(np.ndarray), not a torch tensor.",
                         "hint: 这个练习只用 numpy：请用 numpy 运算，返回 numpy 数组（np.ndarray），"
                         "而不是 torch 张量。")]
        if isinstance(got, (list, tuple)):
            return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                    Text(f"hint: you returned a Python {type(got).__name__}, not one numpy array. Build the "
                         "result with numpy operations (reshape, transpose, concatenate), or combine the pieces "
                         "with np.stack / np.concatenate before returning.",
                         f"hint: 你返回的是 Python 的 {type(got).__name__}，不是一个 numpy 数组。请用 numpy "
                         "运算（reshape、transpose、concatenate）构造结果，或者在返回前用 np.stack / "
                         "np.concatenate 把各部分拼起来。")]
        if not isinstance(got, np.ndarray):
            return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                    Text("hint: return a numpy array (np.ndarray).", "hint: 请返回 numpy 数组（np.ndarray）。")]
        arr = got
        got_dtype_str, exp_dtype_str = str(got.dtype), str(exp.dtype)

    lines_head = [f"expected: {exp_desc}", f"got:      {describe(got)}"]

    def hint_for_match() -> Optional[str]:
        for m, w in zip(ex.misconceptions, wrongs, strict=True):
            if w is not None and _same_values(arr, w, ex.rtol, ex.atol):
                return m.hint
        return None

    # --- shape
    if tuple(arr.shape) != tuple(exp.shape):
        lines = lines_head + [f"the shapes differ: expected {tuple(exp.shape)}, got {tuple(arr.shape)}."]
        h = hint_for_match()
        if h:
            return lines + ["hint: " + h]
        if arr.ndim == exp.ndim and sorted(arr.shape) == sorted(exp.shape):
            for perm in itertools.permutations(range(arr.ndim)):
                if tuple(arr.shape[p] for p in perm) == tuple(exp.shape) and \
                        _same_values(arr.transpose(perm), exp, ex.rtol, ex.atol):
                    return lines + [Text(f"hint: your numbers are right but the axes are in another order: "
                                         f"your result transposed with axes {perm} would match. Check which "
                                         f"axis is which: the expected layout is {tuple(exp.shape)}.",
                                         f"hint: 数值都对，但轴的顺序不对：把你的结果按轴 {perm} 转置就对了。"
                                         f"请核对每个轴的含义：期望的布局是 {tuple(exp.shape)}。")]
        if arr.size == exp.size and arr.size and _same_multiset(arr, exp, ex):
            return lines + [Text(
                "hint: all the right numbers are there, in the wrong shape. A reshape alone cannot move "
                "elements between axes: split the axes, transpose, then reshape.",
                "hint: 该有的数都在，只是形状不对。单靠 reshape 不能把元素挪到别的轴上：先拆分轴，再转置"
                "（transpose），最后 reshape。")] + more_help(ex)
        return lines + more_help(ex)

    # --- dtype
    if ex.dtype is not None:
        bad = False
        gk, ek = arr.dtype.kind, exp.dtype.kind
        if ex.dtype == "same":
            bad = got_dtype_str != exp_dtype_str
        elif ex.dtype == "kind":
            kind = lambda k: {"f": "float", "c": "float", "i": "int", "u": "int", "b": "bool"}.get(k, k)  # noqa
            bad = kind(gk) != kind(ek)
        if bad:
            lines = lines_head + [f"the dtype differs: expected {exp_dtype_str}, got {got_dtype_str}."]
            if gk == "b":
                lines.append(Text("hint: you returned booleans; the expected values are numbers "
                                  "(use np.where(condition, a, b) or .astype(...)).",
                                  "hint: 你返回的是布尔值，期望的是数值（用 np.where(condition, a, b) 或 "
                                  ".astype(...)）。"))
            elif ek in "iu" and gk == "f":
                lines.append(Text("hint: this result is used as an index, so it must hold integers: keep the "
                                  "arithmetic in integers or finish with .astype(np.int64).",
                                  "hint: 这个结果要用作索引，所以必须是整数：全程用整数运算，或者最后加上 "
                                  ".astype(np.int64)。"))
            elif ek == "f" and gk in "iu":
                lines.append(Text("hint: integer arithmetic lost the fractions: work in floating point.",
                                  "hint: 整数运算把小数部分丢掉了：请用浮点数计算。"))
            else:
                lines.append(Text(f"hint: keep the dtype of the input ({exp_dtype_str}): a new array made "
                                  f"with np.zeros(...) or np.array(...) is float64 unless you pass "
                                  f"dtype=x.dtype, and mixing in float64 constants or arrays upcasts the result.",
                                  f"hint: 保持输入的 dtype（{exp_dtype_str}）：用 np.zeros(...) 或 np.array(...) "
                                  f"新建的数组默认是 float64，除非传入 dtype=x.dtype；混入 float64 的常数或数组"
                                  f"也会把结果提升为 float64。"))
            return lines

    # --- NaN / inf
    if arr.dtype.kind in "fc":
        exp_float = exp.dtype.kind in "fc"
        bad_nan = np.isnan(arr) & ~np.isnan(exp.astype(np.float64)) if exp_float else np.isnan(arr)
        if bad_nan.any():
            idx = tuple(np.argwhere(bad_nan)[0])
            h = hint_for_match()
            return lines_head + [
                Text(f"your result contains NaN ({int(bad_nan.sum())} of {arr.size} elements), the first at "
                     f"index {_index(idx)} where {_fmt(exp[idx])} was expected.",
                     f"你的结果里有 NaN（{arr.size} 个元素中有 {int(bad_nan.sum())} 个），第一个在下标 "
                     f"{_index(idx)}，那里期望的是 {_fmt(exp[idx])}。"),
                "hint: " + (h or ex.nan_hint or Text("NaN comes from 0/0, inf - inf, or exp() of a huge number; "
                                                     "look for a division or an exp without a guard.",
                                                     "NaN 来自 0/0、inf - inf 或很大的数取 exp()；"
                                                     "找找有没有缺少保护的除法或 exp。"))]
        bad_inf = np.isinf(arr) & ~np.isinf(exp.astype(np.float64)) if exp_float else np.isinf(arr)
        if bad_inf.any():
            idx = tuple(np.argwhere(bad_inf)[0])
            h = hint_for_match()
            return lines_head + [Text(f"your result contains infinite values, the first at index {_index(idx)} "
                                      f"where {_fmt(exp[idx])} was expected.",
                                      f"你的结果里有无穷大，第一个在下标 {_index(idx)}，那里期望的是 "
                                      f"{_fmt(exp[idx])}。"),
                                 "hint: " + (h or ex.nan_hint or
                                             Text("look for a division by zero or an overflow.",
                                                  "找找有没有除以零或数值溢出。"))]

    # --- values
    if _same_values(arr, exp, ex.rtol, ex.atol):
        if ex.compare is not None:
            return ex.compare(got, expected, case)
        return None
    a64, e64 = arr.astype(np.float64), exp.astype(np.float64)
    close = np.isclose(a64, e64, rtol=ex.rtol, atol=ex.atol, equal_nan=True)
    idx = tuple(np.argwhere(~close)[0]) if arr.ndim else ()
    n_bad = int((~close).sum())
    where = f"at index {_index(idx)}" if idx else ""
    lines = lines_head + [f"the values differ: first difference {where}: expected {_fmt(exp[idx])}, got "
                          f"{_fmt(arr[idx])} ({n_bad} of {arr.size} elements differ)."]
    h = hint_for_match()
    if h:
        return lines + ["hint: " + h]
    if arr.ndim >= 2:
        for perm in itertools.permutations(range(arr.ndim)):
            if perm != tuple(range(arr.ndim)) and tuple(exp.shape[p] for p in perm) == tuple(exp.shape) and \
                    _same_values(arr, exp.transpose(perm), ex.rtol, ex.atol):
                return lines + [Text(f"hint: your result is the expected one transposed (axes {perm}): two "
                                     f"axes of the same length are swapped.",
                                     f"hint: 你的结果是期望结果的转置（轴 {perm}）：两个长度相同的轴对调了。")
                                ] + more_help(ex)
    if _same_multiset(arr, exp, ex):
        return lines + [Text("hint: all the right numbers are there, but some are in the wrong places (the "
                             "order of the elements is wrong).",
                             "hint: 该有的数都在，但有些放错了位置（元素的顺序不对）。")] + more_help(ex)
    return lines + more_help(ex)


def more_help(ex) -> list:
    """The line that says hints exist (never a hint itself: the student asks for them)."""
    if not ex.hints:
        return []
    n = len(ex.hints)
    return [i18n.t("stuck.n", name=ex.name, n=n) if n > 1 else i18n.t("stuck", name=ex.name)]


def _same_multiset(a: np.ndarray, b: np.ndarray, ex: Exercise) -> bool:
    if a.size != b.size or a.size < 2:
        return False
    try:
        sa, sb = np.sort(a.astype(np.float64).ravel()), np.sort(b.astype(np.float64).ravel())
    except (TypeError, ValueError):
        return False
    if not np.allclose(sa, sb, rtol=ex.rtol, atol=ex.atol, equal_nan=True):
        return False
    # a rearrangement only means something when the values are not all alike
    return len(np.unique(sb)) > 1


def _is_int(v: Any) -> bool:
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def compare_int(ex: Exercise, got: Any, expected: int, case: Case, wrongs: list) -> Optional[list]:
    want = Text(f"expected: the int {expected:,}", f"expected: 整数 {expected:,}")
    if got is None:
        return [want, "got:      None", NO_RETURN]
    if not _is_int(got):
        if isinstance(got, (float, np.floating)) and math.isfinite(float(got)) and float(got) == expected:
            return [want,
                    Text(f"got:      {describe(got)} (the right value as a float)",
                         f"got:      {describe(got)}（数值对，但是浮点数）"),
                    Text("hint: a count is an exact integer: avoid `/` (true division gives a float), use `//` "
                         "or integer arithmetic, or wrap the result in int().",
                         "hint: 计数是精确的整数：不要用 `/`（真除法得到浮点数），改用 `//` 或整数运算，"
                         "或者用 int() 包一下结果。")]
        return [want, f"got:      {describe(got)}",
                Text("hint: return a Python int (the count itself).", "hint: 请返回 Python int（计数本身）。")]
    got = int(got)
    if got == expected:
        return None
    lines = [f"expected: {expected:,}", f"got:      {got:,}"]
    for m, w in zip(ex.misconceptions, wrongs, strict=True):
        if w is not None and _is_int(w) and int(w) == got:
            return lines + ["hint: " + m.hint]
    if expected and got == 2 * expected:
        return lines + [Text("hint: you got exactly twice the answer: did you count FLOPs (a multiply and an "
                             "add) instead of multiply-accumulates?",
                             "hint: 你的结果正好是答案的两倍：是不是数成了 FLOPs（一次乘法加一次加法），"
                             "而不是乘加次数？")]
    return lines + more_help(ex)


def mutated(before: Any, after: Any, path: str = "") -> Optional[str]:
    """The name of the first input that changed, or None."""
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or before.shape != after.shape:
            return path or "an input"
        if not np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"):
            return path or "an input"
        return None
    if _is_torch(before):
        b, a = _to_numpy_from_torch(before), _to_numpy_from_torch(after)
        if b.shape != a.shape or not np.array_equal(b, a, equal_nan=b.dtype.kind in "fc"):
            return path or "an input"
        return None
    if isinstance(before, dict):
        if not isinstance(after, dict) or set(before) != set(after):
            return path or "a dict input"
        for k in before:
            r = mutated(before[k], after[k], f"{path}[{k!r}]")
            if r:
                return r
        return None
    if isinstance(before, (list, tuple)):
        if not isinstance(after, (list, tuple)) or len(before) != len(after):
            return path or "a list input"
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            r = mutated(b, a, f"{path}[{i}]")
            if r:
                return r
    return None


def _compare_shape(ex: Exercise, got: Any, expected: Optional[tuple], case: Case) -> Optional[list]:
    """Predictions: say which entry is wrong, never what the answer is. ``expected`` is None in the
    practice check (the entries are then compared through their digests)."""
    n = len(expected) if expected is not None else len(ex.answer_digests)
    names = list(ex.entry_names) or [f"entry {i}" for i in range(n)]
    if got is None:
        return ["got: None", Text("hint: your function must return your prediction, e.g. `return (1, 2, 3)`.",
                                  "hint: 你的函数要返回你的预测，例如 `return (1, 2, 3)`。")]
    if isinstance(got, np.ndarray) or _is_torch(got):
        return [f"got: {describe(got)}",
                Text(f"hint: return the prediction itself as a tuple of {n} ints, not an array.",
                     f"hint: 直接返回预测本身：{n} 个 int 组成的 tuple，而不是数组。")]
    if type(got) not in (tuple, list):
        return [f"got: {describe(got)}", Text(f"hint: return a tuple of {n} values: ({', '.join(names)}).",
                                              f"hint: 请返回 {n} 个值组成的 tuple：({', '.join(names)})。")]
    if len(got) != n:
        return [Text(f"got: {_short(got)} ({len(got)} entries)", f"got: {_short(got)}（{len(got)} 项）"),
                Text(f"hint: the prediction has {n} entries: ({', '.join(names)}).",
                     f"hint: 预测共有 {n} 项：({', '.join(names)})。")]
    got = tuple(normalize_entry(v) for v in got)
    if expected is not None:
        right = [entry_digest(ex.name, i, got[i]) != "" and got[i] == normalize_entry(expected[i])
                 for i in range(n)]
    else:
        right = [entry_digest(ex.name, i, got[i]) == ex.answer_digests[i] for i in range(n)]
    if all(right):
        return None
    lines = [f"your prediction: {_short(got, 200)}"]
    if got in ex.known_answers:
        return lines + ["hint: " + ex.known_answers[got]]
    wrong_entries = [i for i in range(n) if not right[i]]
    fixes = ", ".join(f"{names[i]} (you said {_short(got[i])})" for i in wrong_entries)
    fixes_zh = "，".join(f"{names[i]}（你写的是 {_short(got[i])}）" for i in wrong_entries)
    lines.append(Text(f"to fix: {fixes}.", f"to fix: {fixes_zh}。"))
    hints = [ex.entry_hints[i] for i in wrong_entries if i < len(ex.entry_hints) and ex.entry_hints[i]]
    if hints:
        joined = "hint: "
        for k, h in enumerate(dict.fromkeys(hints)):
            joined = joined + (" " if k else "") + h  # + keeps both languages of a Text
        lines.append(joined)
    else:
        lines += more_help(ex)
    return lines


# ------------------------------------------------------------------------------- one verdict
def wrong_outputs(ex: Exercise, case: Case) -> list:
    """What each misconception of ``ex`` returns on ``case`` (None where it does not apply)."""
    wrongs = []
    for m in ex.misconceptions:
        try:
            a, k = copy.deepcopy((case.args, case.kwargs))
            with np.errstate(all="ignore"):
                w = m.wrong(*a, **k)
            wrongs.append(_as_comparable(w) if ex.kind in ("array", "torch") else w)
        except Exception:  # noqa: BLE001 - a mistake that does not apply to this case
            wrongs.append(None)
    return wrongs


def explain(ex: Exercise, got: Any, expected: Any, case: Case) -> Optional[list]:
    """None when ``got`` is right for ``case``, else the message lines that say why not.

    ``expected`` of a prediction may be None (the practice check compares digests)."""
    if ex.kind == "shape":
        return _compare_shape(ex, got, None if expected is None else tuple(expected), case)
    if ex.kind == "custom":
        return ex.compare(got, expected, case)
    wrongs = wrong_outputs(ex, case)
    if ex.kind in ("array", "torch"):
        return compare_array(ex, got, expected, case, wrongs)
    return compare_int(ex, got, int(expected), case, wrongs)


def _param_names(signature: str) -> list[str]:
    inside = signature[signature.find("(") + 1: signature.rfind(")")]
    return [p.split("=")[0].strip() for p in inside.split(",") if p.strip()]


def arg_names(ex: Exercise, n: int) -> list[str]:
    """The names of the first ``n`` parameters of the exercise's function."""
    names = _param_names(ex.signature)
    return names[:n] + [f"argument {i}" for i in range(len(names), n)]


# ------------------------------------------------------------------------------- messages
def case_head(title: str, i: int, total: int, label: str) -> str:
    """The first line of the message of case ``i`` of ``total`` that failed (``label``: a str or a Text)."""
    return i18n.t("case_failed", title=title, i=i, total=total, label=i18n.text(label))


_head = case_head


def case_failed(ex: Exercise, title: str, i: int, total: int, label: str, lines: Sequence[str]) -> str:
    """The message of a case whose output is wrong (``lines`` from :func:`explain`)."""
    head = i18n.t("not_right_yet", title=title, label=i18n.text(label)) if ex.kind == "shape" else \
        _head(title, i, total, label)
    return head + "\n" + "\n".join("   " + i18n.frame_line(ln) for ln in lines)


def mutation_message(ex: Exercise, title: str, i: int, total: int, case: Case, path: str) -> str:
    """The message of a function that modified its input (``path`` from :func:`mutated`)."""
    arg = path
    if path.startswith("[0]["):
        j = int(path[4:path.index("]", 4)])
        names = arg_names(ex, len(case.args))
        arg = f"`{names[j]}`" + path[path.index("]", 4) + 1:] if j < len(names) else path
    return (f"{_head(title, i, total, case.label)}\n   {i18n.t('mutated', arg=arg)}\n"
            f"   {i18n.frame_line('hint: ' + MUTATION_HINT)}")


MUTATION_HINT = Text("the caller still needs its input unchanged. Avoid in-place updates (`x += ...`, "
                     "`x[...] = ...`, `np.random.shuffle(x)`) on the input or on a view of it; work on a copy "
                     "(`x = x.copy()`) or build a new array.",
                     "调用者之后还要用原来的输入，它不能被改动。不要对输入或它的视图（view）做原地修改"
                     "（`x += ...`、`x[...] = ...`、`np.random.shuffle(x)`）；先复制一份（`x = x.copy()`），"
                     "或者构造一个新数组。")


def error_message(ex: Exercise, title: str, i: int, total: int, label: str, mro: Sequence[str],
                  text: str, where: str = "") -> str:
    """The message of a function that raised: ``mro`` names the exception's classes, most specific
    first (``["ValueError", "Exception", ...]``), ``text`` is ``str(exception)``."""
    name = mro[0] if mro else "an exception"
    msg = f"{name}: {text}" if text else name
    hint = Text("read the error above; print the shapes of your intermediate arrays to find the step "
                "that goes wrong.",
                "先读上面的报错；再打印中间数组的形状，找出是哪一步出了错。")
    specific = next((h for key, h in ex.error_hints.items() if key in text), None)
    if specific is not None:
        hint = specific
    elif INIT_SHAPE.search(text):
        param = INIT_SHAPE.search(text)[1]
        hint = Text(f"the mistake is in __init__, not in forward (which has not run yet): `{param}` is created with "
                    f"another shape than the official weights'; fix the layer that makes it.",
                    f"错误在 __init__ 里，不在 forward 里（forward 还没有运行）：`{param}` 创建时的形状和官方权重"
                    f"不同；请修改创建它的那一层。")
    elif "names the official weights do not have" in text:
        hint = Text("the mistake is in __init__: a parameter's name is the attribute you assign there (self.norm, "
                    "self.reduction...) and the names inside the layers you make; use the official names listed "
                    "above.",
                    "错误在 __init__ 里：参数的名字就是你在那里赋值的属性名（self.norm、self.reduction……）以及你创建"
                    "的层内部的名字；请使用上面列出的官方名字。")
    elif "TypeError" in mro and ("argument" in text or "positional" in text):
        hint = Text(f"check your function's signature: it is called as `{ex.signature}`.",
                    f"检查函数的签名：自检是这样调用它的：`{ex.signature}`。")
    elif "RecursionError" in mro:
        hint = Text("your function calls itself without end (did you call your own function instead "
                    "of the numpy one?).",
                    "你的函数无休止地调用自己（是不是调用了你自己的函数，而不是 numpy 的那个？）。")
    elif "NameError" in mro:
        hint = Text("a name is not defined: did you run the cell that defines it, or mistype it?",
                    "有个名字没有定义：定义它的单元格运行过吗？还是拼错了？")
    elif "MemoryError" in mro:
        hint = Text("your function ran out of memory: the cases are small, so look for an array that grows "
                    "without end or a huge intermediate (an outer product of the whole input?).",
                    "你的函数把内存用完了：用例都很小，所以找找有没有无限增长的数组，或者巨大的中间结果"
                    "（对整个输入做了外积？）。")
    at = Text(f" (at {where})", f"（位置：{i18n.text(where)}）") if where else ""
    return "\n".join([_head(title, i, total, label), "   " + i18n.t("raised", msg=msg) + i18n.text(at),
                      "   " + i18n.frame_line("hint: " + hint)])


#: the message of :func:`swin_edu.demos.student_model.load_learned` for a parameter of another shape
INIT_SHAPE = re.compile(r"^([\w.]+): your module's tensor has shape", re.MULTILINE)

TIMEOUT_HINT = Text("is there a loop whose condition never changes, or a function that calls itself without "
                    "end? The cases are small: the answer takes well under a second.",
                    "是不是有个循环的条件永远不变，或者某个函数无休止地调用自己？用例都很小，"
                    "正确答案远不到一秒就能算完。")


def timeout_message(title: str, i: int, total: int, label: str, limit: float, note: str = "") -> str:
    """The message of a function that did not finish within ``limit`` seconds (``note``: a str or an
    :class:`~swin_edu.i18n.Text` put after the hint)."""
    return (f"{_head(title, i, total, label)}\n   {i18n.t('timeout', limit=limit)}\n"
            f"   {i18n.frame_line('hint: ' + TIMEOUT_HINT + note)}")


def unsolved_message(ex: Exercise, fn_name: str) -> str:
    """The message of an exercise whose function still raises NotImplementedError."""
    return i18n.t("unsolved", name=ex.name, fn=fn_name)


def passed_message(ex: Exercise, title: str, total: int) -> str:
    what = (i18n.t("passed.prediction") if ex.kind == "shape" else
            i18n.t("passed.all", total=total) if total > 1 else i18n.t("passed.one"))
    return i18n.t("passed", title=title, what=what)
