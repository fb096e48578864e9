"""<variant>-serving.png: requests/s and memory against concurrency, from a results file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .common import Result

if TYPE_CHECKING:
    from matplotlib.axes import Axes

RPS_PANELS = (("/io", "/io (sleep 50 ms): requests/s"), ("/hello", "/hello: requests/s"))


def style(name: str) -> str:
    """whiskey solid with circles, gunicorn dashed with squares."""
    return "-o" if name.startswith("whiskey") else "--s"


def concurrency_axis(ax: Axes, concs: list[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(concs)
    ax.set_xticklabels([str(c) for c in concs])
    ax.set_xlabel("concurrent connections (wrk -c)")


def rps_panel(ax: Axes, result: Result, endpoint: str, title: str) -> None:
    med = result["serving"]["median"]
    concs = result["parameters"]["concurrency"]
    for name, _d in result["configurations"]:
        ax.plot(concs, [med[name][endpoint][str(c)]["rps"] for c in concs], style(name), label=name)
    concurrency_axis(ax, concs)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)


def memory_panel(ax: Axes, result: Result) -> None:
    med = result["serving"]["median"]
    concs = result["parameters"]["concurrency"]
    for name, _d in result["configurations"]:
        ax.plot(concs, [med[name]["/io"][str(c)]["memory_mib"] for c in concs], style(name), label=name)
    concurrency_axis(ax, concs)
    ax.set_title("/io: container memory after the run (MiB)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)


def plot(result: Result, path: str) -> None:
    """Draw the serving figures of ``result`` into the PNG ``path`` (needs matplotlib)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    for i, (endpoint, title) in enumerate(RPS_PANELS):
        rps_panel(axes[i], result, endpoint, title)
    memory_panel(axes[2], result)
    axes[0].legend(fontsize=8)
    p = result["parameters"]
    fig.suptitle(f"whiskey {result['variant']} vs gunicorn, same image, --cpus {p['cpus']} "
                 f"--memory {p['memory']} (median of {p['runs']:d} runs)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
