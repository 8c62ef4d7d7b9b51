"""Run by tests/test_redteam_install.py in the interpreter of an install mode (a wheel in a virtual environment, the
container's layout): a graded cell that takes the stubbed copy off ``sys.path``, forgets every ``swin_edu``
module and imports the package again from wherever this Python has it installed. Prints one JSON line."""

import copy
import json
import os
import sys
import tempfile

ATTACK = r'''
import glob, importlib, os, sys
def window_partition_mine(x, M):
    dirs = [p for p in sys.path if "swin-edu" not in p]
    for prefix in {sys.prefix, sys.base_prefix, "/usr", "/usr/local"}:
        for pattern in ("lib*/python3*/*-packages", "lib/python3/dist-packages", "local/lib*/python3*/*-packages"):
            dirs += glob.glob(os.path.join(prefix, pattern))
    sys.path[:] = dirs
    for name in [m for m in sys.modules if m.startswith("swin_edu")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    from swin_edu import numpy_ref
    return numpy_ref.window_partition(x, M)
'''


def main() -> None:
    import swin_edu
    from swin_edu.classroom import codec
    from swin_edu.classroom.bwrap import Limits, Sandbox
    from swin_edu.classroom.stubs import PackageCopies
    from swin_edu.classroom.verdict import run_verdict
    from swin_edu.exercises import EXERCISES

    ex = EXERCISES["window_partition"]
    cases = []
    for case in ex.cases():
        args = copy.deepcopy(case.args)
        cases.append({"label": str(case.label), "hidden": False, "args": codec.encode(tuple(case.args)),
                      "kwargs": codec.encode({}), "expected": codec.encode(ex.reference(*args))})
    spec = {"grade_id": "wp_check", "points": 2.0, "exercise": "window_partition", "function": "window_partition_mine",
            "answer_ids": ["wp_answer"], "prelude": ex.prelude, "forbidden": list(ex.forbidden),
            "guards": list(ex.guards), "cases": cases}
    work = tempfile.mkdtemp(prefix="swin-edu-install-attack-")
    os.chmod(work, 0o755)
    box = Sandbox()
    try:
        verdict = run_verdict(spec, [{"id": "wp_answer", "source": ATTACK}], sandbox=box, copies=PackageCopies(work),
                              limits=Limits(wall=120))
    finally:
        box.close()
    print(json.dumps({"passed": verdict.passed, "message": verdict.message, "package": swin_edu.__file__,
                      "prefix": sys.prefix, "base_prefix": sys.base_prefix,
                      "masks": getattr(box, "masks", None)}))


if __name__ == "__main__":
    main()
