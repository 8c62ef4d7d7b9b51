"""What a submitted notebook may put into a page that the instructor or the student opens.

nbgrader makes two kinds of page from the notebook that autograde writes (``autograded/``): the feedback
(``feedback/STUDENT/ASSIGNMENT/*.html``) and the formgrader's view of a submission, which runs in the
instructor's Jupyter session. Their templates render a markdown cell's source as HTML without cleaning it, and
nbconvert writes raw cells into the page as they are: a ``<script>`` or an ``onerror=`` in a student's
markdown would run there (``HTMLExporter.sanitize_html`` does not reach nbgrader's templates). So the grader
cleans the notebook itself, before autograde writes it (:func:`sanitize_submission`, called by
:class:`~swin_edu.classroom.SandboxedExecute`):

* a markdown or raw cell is the instructor's when its source is exactly one of the release's cells of that
  kind (it keeps the release's attachments, the course's figures); any other one is the student's and
  becomes a markdown cell that shows its text verbatim, as an indented code block (escaped by every markdown
  renderer, skipped by MathJax): no HTML, no link, no image, no math of the student's reaches a page;
* code cells keep their source (the pages highlight it as text); their outputs are replaced by the grader's
  own (text, and PNG/JPEG whose base64 is checked);
* cell ids that are not plain names are replaced, cell metadata other than nbgrader's is dropped (tags become
  class names in the page), so is the notebook's metadata other than its kernel's name and language; cells
  that pretend to be the grader's notes are removed.
"""

from __future__ import annotations

import re
import uuid
from typing import Optional

import nbformat

__all__ = ["sanitize_submission", "verbatim", "clean_image", "SAFE_ID"]

#: a cell id nbformat allows and that is safe inside an HTML attribute
SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_NBGRADER_KEYS = {"grade": bool, "solution": bool, "locked": bool, "task": bool, "points": (int, float),
                  "grade_id": str, "schema_version": int, "checksum": str, "cell_type": str}


def verbatim(text: str) -> str:
    """Markdown that shows ``text`` exactly as written: every line indented into one code block."""
    lines = str(text).splitlines() or [""]
    return "\n".join("    " + line.expandtabs(4) for line in lines)


def clean_image(value) -> Optional[str]:
    """The base64 of a PNG/JPEG output, or None when it is not plain base64 (it goes into ``src=``)."""
    if isinstance(value, str) and len(value) < 50_000_000 and _BASE64.fullmatch(value):
        return value
    return None


def _trusted(release_nb) -> dict:
    """(cell type, source) -> the release cell, for the release's markdown and raw cells."""
    out = {}
    for cell in (release_nb.cells if release_nb is not None else []):
        if cell.cell_type in ("markdown", "raw"):
            out.setdefault((cell.cell_type, str(cell.source)), cell)
    return out


def _clean_nbgrader(meta) -> Optional[dict]:
    if not isinstance(meta, dict):
        return None
    out = {k: v for k, v in meta.items() if k in _NBGRADER_KEYS and isinstance(v, _NBGRADER_KEYS[k])
           and not (k in ("grade", "solution", "locked", "task") and not isinstance(v, bool))}
    if "grade_id" in out and not SAFE_ID.fullmatch(out["grade_id"]):
        return None
    return out


def sanitize_submission(nb, release_nb=None) -> None:
    """Clean ``nb`` in place for the pages made from it (see the module docstring). ``release_nb``: the
    student version of the release (its markdown and raw cells are the instructor's)."""
    trusted = _trusted(release_nb)
    cells, ids = [], set()
    for cell in nb.cells:
        meta = cell.get("metadata", {}) if isinstance(cell.get("metadata"), dict) else {}
        if isinstance(meta.get("swin_edu"), dict) and meta["swin_edu"].get("grader_note"):
            continue  # only the grader writes its notes (after this step)
        kind = cell.get("cell_type")
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        nbgrader = _clean_nbgrader(meta.get("nbgrader"))
        if kind == "code":
            new = nbformat.v4.new_code_cell(source)
            new.outputs = [o for o in cell.get("outputs", []) if isinstance(o, dict)]
            count = cell.get("execution_count")
            new.execution_count = count if isinstance(count, int) else None
        elif kind in ("markdown", "raw") and (kind, source) in trusted:
            original = trusted[(kind, source)]
            new = (nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_raw_cell)(source)
            if original.get("attachments"):
                new.attachments = nbformat.from_dict(original.attachments)
            if kind == "raw" and "raw_mimetype" in original.get("metadata", {}):
                new.metadata["raw_mimetype"] = original.metadata["raw_mimetype"]
        else:  # the student's own text (or a cell of an unknown type): shown verbatim, never rendered
            new = nbformat.v4.new_markdown_cell(verbatim(source) if source.strip() else "")
        if nbgrader is not None:
            new.metadata["nbgrader"] = nbgrader
        cid = cell.get("id")
        if isinstance(cid, str) and SAFE_ID.fullmatch(cid) and cid not in ids:
            new.id = cid
        else:
            new.id = uuid.uuid4().hex[:8]
        ids.add(new.id)
        cells.append(new)
    nb.cells = cells
    meta = nb.get("metadata", {}) if isinstance(nb.get("metadata"), dict) else {}
    release_meta = release_nb.metadata if release_nb is not None else {}
    clean = {"kernelspec": dict(release_meta.get("kernelspec") or _KERNELSPEC)}  # never the student's
    info = meta.get("language_info")
    name = info.get("name") if isinstance(info, dict) else None
    if isinstance(name, str) and re.fullmatch(r"[\w+-]{1,32}", name):
        clean["language_info"] = {"name": info["name"]}
    nb.metadata = nbformat.from_dict(clean)


_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
