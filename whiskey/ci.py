"""What CI needs from the matrix: the GitHub Actions build matrix.

`./build.py ci-matrix` prints it as one line of JSON, the form a workflow
step writes to $GITHUB_OUTPUT and a later job reads with fromJSON(), so the
workflow never lists variants itself and matrix.yaml stays the only list.
"""

import json

from . import matrix


def include(variants):
    """One ``strategy.matrix.include`` entry per variant, in matrix order."""
    return [{"variant": v.name, "python": v.python, "base": v.base, "tags": " ".join(v.tags)}
            for v in variants]


def matrix_json(variants=None):
    """``{"include": [...]}`` as compact one-line JSON (default: every variant of matrix.yaml)."""
    if variants is None:
        variants = matrix.load()
    return json.dumps({"include": include(variants)}, separators=(",", ":"))
