"""What an exercise is: its public cases, its typical mistakes, and how the grader runs it.

An :class:`Exercise` serves two readers. The practice self-check in the student's notebook
(:mod:`swin_edu.exercises.runner`) reads the public cases, the hints and the misconceptions. The
classroom grader (:mod:`swin_edu.classroom`) also reads the grading fields: ``hidden`` (a generator of
hidden cases, fed at release time with a random generator seeded by the course's secret seed),
``allowed`` (the package functions an answer may use while it is graded: every other function of the
course's computing modules is a stub then), ``forbidden`` (the package functions that compute the answer:
stubs in every case, and never kept alive by an allowed one), ``guards`` (the same for other libraries, at
run time) and ``prelude`` (the trusted imports that run before the student's answer cell). None of these holds an
answer: the hidden inputs and the expected outputs are made by the instructor's release and stay in
the course folder. The answer of a prediction exercise is stored only as salted per-entry digests
(:func:`entry_digest`), so that the practice check can say which entry is wrong without showing it.
"""
from __future__ import annotations

import hashlib
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

__all__ = ["UNSET", "Case", "Misconception", "Exercise", "NUMPY_PRELUDE", "TORCH_PRELUDE", "KINDS",
           "TORCH_ATTENTION_GUARDS", "entry_digest", "normalize_entry", "prediction_digests"]

UNSET = object()

#: the kinds of exercise the diagnostics know how to compare
KINDS = ("array", "torch", "int", "shape", "custom")

#: the imports every numpy answer of the course may rely on (the notebooks' own first cell)
NUMPY_PRELUDE = ("import math\nimport numpy as np\nfrom swin_edu import numpy_ref as snp\n"
                 "from swin_edu.config import SwinConfig\nfrom swin_edu.layout import is_derived_buffer\n")
#: the same for the PyTorch exercises
TORCH_PRELUDE = "import math\nimport numpy as np\nimport torch\nimport torch.nn.functional as F\n"

#: every route to a finished attention in PyTorch, refused while a torch attention answer is graded: the
#: Python functions (replaced wherever they are bound) and the ATen operators (refused in the dispatcher, so
#: that ``torch.ops.aten``, ``torch._C`` and the modules that call them raise too)
TORCH_ATTENTION_GUARDS = (
    "torch.nn.functional:scaled_dot_product_attention",
    "torch.nn.functional:multi_head_attention_forward",
    "torch.nn.attention.flex_attention:flex_attention",
    "torch._higher_order_ops.flex_attention:flex_attention",
    "aten::scaled_dot_product_attention",
    "aten::_scaled_dot_product_attention_math",
    "aten::_scaled_dot_product_flash_attention_for_cpu",
    "aten::_scaled_dot_product_flash_attention",
    "aten::_scaled_dot_product_efficient_attention",
    "aten::_scaled_dot_product_cudnn_attention",
    "aten::_scaled_dot_product_fused_attention_overrideable",
    "aten::_scaled_dot_product_attention_math_for_mps",
    "aten::_flash_attention_forward",
    "aten::_flash_attention_forward_no_dropout_inplace",
    "aten::_efficient_attention_forward",
    "aten::_cudnn_attention_forward",
    "aten::_native_multi_head_attention",
    "aten::_transformer_encoder_layer_fwd",
    "aten::_triton_scaled_dot_attention",
    "aten::_triton_multi_head_attention",
)


@dataclass
class Case:
    """One input of an exercise. ``label`` says in words what is tested; ``expected`` defaults to the
    reference's output on the same input."""

    label: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    expected: Any = UNSET


@dataclass
class Misconception:
    """A typical mistake: ``wrong(*args, **kwargs)`` gives what that mistake returns (or None where it
    does not apply); when the student's output equals it, ``hint`` is shown."""

    hint: str
    wrong: Callable[..., Any]


@dataclass
class Exercise:
    """Everything the practice check and the grader need to know about one exercise.

    kind: ``"array"`` (numpy array), ``"torch"`` (torch tensor), ``"int"`` (an exact count),
    ``"shape"`` (a predicted tuple of ints; its answer is stored as ``answer_digests`` only),
    ``"custom"`` (``compare`` decides). ``dtype``: ``"same"`` (exactly the expected dtype), ``"kind"``
    (the same kind: float/int/bool), or None. ``compare(got, expected, case)``: extra or custom
    comparison that returns None when fine, else a list of message lines.

    ``hints``: the tiers that ``check.<name>.hint()`` reveals one per call, a nudge first, then the
    method; never the code (a failing check only says that they exist). ``misconceptions`` are shown at
    once: they name the mistake the student's output shows.

    ``error_hints``: for a function that raises, ``{text: hint}``: when the exception's message contains
    ``text``, the message gives ``hint`` instead of the general advice (e.g. a mask that does not broadcast
    against the logits: the shapes that must line up). The first matching entry wins.

    Every text a student reads (the hints, ``nan_hint``, the misconceptions' hints, the cases' labels,
    ``entry_hints``, ``known_answers``) is an :class:`swin_edu.i18n.Text`: its English (the ``str`` value)
    with its Chinese next to it, printed in the language of ``SWIN_EDU_LANG`` (docs/translation.md).

    Grading fields (public; see the module docstring): ``hidden(rng) -> [Case]``, ``allowed`` (the package
    functions and classes an answer may use while graded, ``"swin_edu.module:name"``; everything else of the
    computing modules is a stub then), ``forbidden`` (``"swin_edu.module:function"`` or
    ``"swin_edu.module:Class.method"``: the exercise's references, stubs in any case), ``guards``
    (``"module:function"`` of another library, ``"aten::op"`` for a PyTorch operator in its dispatcher, or
    ``"aten::op?argument"`` to refuse only an argument, e.g. ``label_smoothing``), ``prelude`` (Python source).
    """

    name: str
    signature: str
    reference: Optional[Callable[..., Any]]
    cases: Callable[[], list]
    kind: str = "array"
    dtype: Optional[str] = "same"
    rtol: float = 1e-5
    atol: float = 1e-6
    hints: Sequence[str] = ()  # tiers, revealed one at a time on request: a nudge first, then the method
    nan_hint: str = ""
    misconceptions: Sequence[Misconception] = ()
    compare: Optional[Callable[[Any, Any, Case], Optional[list]]] = None
    entry_names: Sequence[str] = ()
    entry_hints: Sequence[str] = ()
    known_answers: dict = field(default_factory=dict)  # for "shape": wrong answer -> hint
    error_hints: dict = field(default_factory=dict)    # text in the exception's message -> hint
    answer_digests: tuple = ()                          # for "shape": entry_digest of each entry
    # --- grading (no answers here)
    hidden: Optional[Callable[[np.random.Generator], list]] = None
    forbidden: tuple = ()
    guards: tuple = ()
    prelude: str = NUMPY_PRELUDE
    allowed: tuple = ()
    #: the notebook of the exercise ("01" ... "09"), set when :mod:`swin_edu.exercises.check` registers it
    notebook: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Exercise.name must be a Python identifier, got {self.name!r}")
        if isinstance(self.hints, str) or not all(isinstance(h, str) and h.strip() for h in self.hints):
            raise ValueError(f"Exercise {self.name}: hints must be a tuple of non-empty strings (tiers), "
                             f"got {self.hints!r}")
        self.hints = tuple(self.hints)
        if not isinstance(self.error_hints, dict) or not all(
                isinstance(k, str) and k and isinstance(v, str) and v.strip() for k, v in self.error_hints.items()):
            raise ValueError(f"Exercise {self.name}: error_hints must map non-empty strings (text in an "
                             f"exception's message) to non-empty hints, got {self.error_hints!r}")
        if self.kind not in KINDS:
            raise ValueError(f"Exercise {self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "custom" and self.compare is None:
            raise ValueError(f"Exercise {self.name}: kind 'custom' needs a compare function")
        if self.kind == "shape" and not self.answer_digests:
            raise ValueError(f"Exercise {self.name}: a prediction needs answer_digests "
                             f"(swin_edu.exercises.spec.prediction_digests(name, answer))")
        if self.kind != "shape" and self.reference is None:
            raise ValueError(f"Exercise {self.name}: kind {self.kind!r} needs a reference implementation")
        for target in self.forbidden:
            if not (isinstance(target, str) and target.startswith("swin_edu.") and target.count(":") == 1):
                raise ValueError(f"Exercise {self.name}: forbidden entries look like "
                                 f"'swin_edu.module:function', got {target!r}")
        for target in self.allowed:
            if not (isinstance(target, str) and target.startswith("swin_edu.") and target.count(":") == 1):
                raise ValueError(f"Exercise {self.name}: allowed entries look like "
                                 f"'swin_edu.module:name', got {target!r}")
        for target in self.guards:
            aten = isinstance(target, str) and target.startswith("aten::") and target.count(":") == 2
            python = isinstance(target, str) and target.count(":") == 1 and "?" not in target
            if not (aten or python):
                raise ValueError(f"Exercise {self.name}: guards look like 'module:function', 'aten::op' or "
                                 f"'aten::op?argument', got {target!r}")


# ------------------------------------------------------------------------------------ predictions
def normalize_entry(value: Any) -> Any:
    """One entry of a prediction as plain Python: ints stay ints (a float that is a whole number
    becomes an int), tuples and lists become tuples of normalized entries; anything else is kept."""
    if isinstance(value, (bool, np.bool_)):
        return value
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if type(value) in (tuple, list):
        return tuple(normalize_entry(v) for v in value)
    return value


def entry_digest(exercise: str, index: int, value: Any) -> str:
    """Salted digest of entry ``index`` of a prediction (the salt: the exercise's name and the index).

    It hides the answer from a reader of the package, not from a determined one: the entries are small
    numbers. The grader does not use it: it compares with the expected values of the release."""
    v = normalize_entry(value)
    if not (type(v) is int or (type(v) is tuple and all(type(x) is int for x in v))):
        return ""  # only ints and tuples of ints can be right
    text = f"swin-edu/{exercise}/{int(index)}/{v!r}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def prediction_digests(exercise: str, answer: Sequence[Any]) -> tuple:
    """The ``answer_digests`` of a prediction exercise whose answer is ``answer`` (for authors)."""
    return tuple(entry_digest(exercise, i, v) for i, v in enumerate(answer))
