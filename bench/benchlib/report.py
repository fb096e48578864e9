"""<variant>.md (and <variant>-serving.png) from a results file, through templates/report.md.j2.

Nothing here measures or needs Docker: the report is a function of the
results file alone, so it can be rendered again at any time.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2

from .common import BENCH_REPO, TEMPLATES, Result, log
from .noise import FOREIGN_CPU_LIMIT
from .stats import median, serving_noise, targets

TEMPLATE = "report.md.j2"


def fmt(value: Any, spec: str) -> str:
    """printf-style formatting as a filter: {{ x|fmt("%.1f") }}."""
    return spec % (value,)


def in_order(mapping: Mapping[str, Any], configurations: Sequence[Sequence[str]]) -> list[tuple[str, Any]]:
    """(name, value) of the mapping's configurations, in the order they were measured."""
    return [(name, mapping[name]) for name, _desc in configurations if name in mapping]


def prune_and_build(variant: str) -> str:
    """The command a cold build of the variant is timed with (by hand)."""
    return f"docker builder prune -af && python3 build.py build {variant}"


def cold_build_rows(builds: Result, variant: str) -> list[dict[str, Any]]:
    """Rows of the cold builds timed by hand (bench/cold-builds.json); "runs" None: no runs cell."""
    cold = builds["cold"]
    if not cold:
        return [{"what": "cold build", "command": prune_and_build(variant),
                 "median": "not measured in this run", "runs": None}]
    rows = []
    for name, v in sorted(cold.items()):
        if isinstance(v, dict):
            secs = v.get("seconds")
            several = isinstance(secs, list)
            rows.append({"what": f"cold build {name}", "command": v.get("command", prune_and_build(name)),
                         "median": median(secs) if several else secs, "runs": secs if several else ""})
        else:
            rows.append({"what": f"cold build {name}", "command": prune_and_build(name),
                         "median": v, "runs": None})
    return rows


def template_values(result: Result) -> dict[str, Any]:
    """What the template gets: the results file and the few figures derived from it."""
    result = dict(result, targets=targets(result))  # today's target list, for earlier files too
    values: dict[str, Any] = {"r": result, "p": result["parameters"], "m": result["machine"],
                              "nan": float("nan"), "bench_repo": BENCH_REPO, "cold_rows": []}
    if "serving" in result:
        worst, repeated = serving_noise(result["serving"])
        limit = result["parameters"].get("foreign_cpu_limit", FOREIGN_CPU_LIMIT)
        values["noise"] = {"worst": worst, "repeated": repeated, "limit": limit}
        values["plot_file"] = os.path.basename(result["plot"])
    if "builds" in result:
        values["cold_rows"] = cold_build_rows(result["builds"], result["variant"])
    return values


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["fmt"] = fmt
    env.filters["in_order"] = in_order
    return env


def markdown(result: Result) -> str:
    """The whole text of <variant>.md for ``result``."""
    return environment().get_template(TEMPLATE).render(template_values(result))


def can_plot() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def write_outputs(json_path: str, need_plot: bool = False) -> list[str]:
    """Write <stem>.md, and <stem>-serving.png when there are serving figures, from <stem>.json.

    Without matplotlib the plot is skipped (said on stderr) unless ``need_plot``.
    Returns the paths written.
    """
    with open(json_path) as f:
        result = json.load(f)
    stem = json_path[:-len(".json")]
    written = []
    if "serving" in result:
        png = stem + "-serving.png"
        if need_plot or can_plot():
            from .plot import plot
            plot(result, png)
            written.append(png)
        else:
            log(f"matplotlib is missing: {png} left as it was")
    with open(stem + ".md", "w") as f:
        f.write(markdown(result))
    written.append(stem + ".md")
    return written
