"""From samples to figures: medians, the serving summary, ratios and the target checks."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from .common import Result

Runs = dict[str, dict[str, dict[str, list[Result]]]]  # name -> path -> str(concurrency) -> kept runs
Check = tuple[str, str, bool]  # (target, measured, met)


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that are not None (None when there are none)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarise_cell(rs: Sequence[Result]) -> Result:
    """Medians of the kept runs of one (configuration, endpoint, concurrency) cell."""
    return {
        "rps": round(median([r["rps"] for r in rs]), 1),
        "p50_ms": round(median([r["p50_ms"] for r in rs]), 2),
        "p99_ms": round(median([r["p99_ms"] for r in rs]), 2),
        "memory_mib": median([r["memory_after"]["mib"] for r in rs]),
        "memory_during_mib": median([(r["memory_during"] or {}).get("mib") for r in rs]),
        "errors": sum(r["errors"] for r in rs),
        "runs": len(rs),
        "foreign_cpu_max": max(r["foreign_cpu"] for r in rs),
        "repeated": sum(len(r["discarded"]) for r in rs),
    }


def summarise(runs: Runs) -> Result:
    """runs[name][path][concurrency] -> list of runs, to the same shape of medians."""
    summary: Result = {}
    for name, by_path in runs.items():
        for path, by_conc in by_path.items():
            for conc, rs in by_conc.items():
                summary.setdefault(name, {}).setdefault(path, {})[conc] = summarise_cell(rs)
    return summary


def serving_noise(serving: Result) -> tuple[float, int]:
    """(the worst foreign CPU of a kept run, how many runs were repeated) over all cells."""
    allruns = [r for by_p in serving["runs"].values() for by_c in by_p.values()
               for rs in by_c.values() for r in rs]
    return max(r["foreign_cpu"] for r in allruns), sum(len(r["discarded"]) for r in allruns)


def whiskey_ratios(w: Result, gun1: Result, best: Result | None, fastest: Result | None = None,
                   peer: Result | None = None) -> Result:
    """One whiskey cell's req/s and memory against gunicorn-sync-1's, the best tuned gunicorn's,
    the fastest gunicorn's (sync-1 included) and the fastest peer's (pyuwsgi, Granian)."""
    r = {"rps_vs_gunicorn_sync_1": round(w["rps"] / gun1["rps"], 2),
         "memory_vs_gunicorn_sync_1": round(w["memory_mib"] / gun1["memory_mib"], 2)}
    if best:
        r["rps_vs_best_tuned"] = round(w["rps"] / best["rps"], 3)
        r["memory_vs_best_tuned"] = round(w["memory_mib"] / best["memory_mib"], 3)
    if fastest:
        r["rps_vs_fastest_gunicorn"] = round(w["rps"] / fastest["rps"], 3)
        r["memory_vs_fastest_gunicorn"] = round(w["memory_mib"] / fastest["memory_mib"], 3)
    if peer:
        r["rps_vs_fastest_peer"] = round(w["rps"] / peer["rps"], 3)
        r["memory_vs_fastest_peer"] = round(w["memory_mib"] / peer["memory_mib"], 3)
    return r


def best_tuned(cells: dict[str, Result | None]) -> str | None:
    """The gunicorn configuration other than gunicorn-sync-1 with the most req/s (first of equals)."""
    tuned = [n for n, c in cells.items() if n.startswith("gunicorn-") and n != "gunicorn-sync-1" and c]
    return max(tuned, key=lambda n: cells[n]["rps"]) if tuned else None


def ratios(summary: Result, names: Sequence[str], conc: str = "32", path: str = "/io") -> Result:
    """Each whiskey configuration against gunicorn-sync-1 and the best tuned gunicorn at one cell."""
    def cell(name: str) -> Result | None:
        return summary.get(name, {}).get(path, {}).get(conc)
    gun1 = cell("gunicorn-sync-1")
    best = best_tuned({n: cell(n) for n in names})
    best_cell = cell(best) if best else None
    fastest = fastest_gunicorn({n: cell(n) for n in names})
    fastest_cell = cell(fastest) if fastest else None
    peer = fastest_peer({n: cell(n) for n in names})
    peer_cell = cell(peer) if peer else None
    whiskeys = [n for n in names if n.startswith("whiskey") and cell(n)] if gun1 else []
    by_config = {n: whiskey_ratios(cell(n), gun1, best_cell, fastest_cell, peer_cell)
                 for n in whiskeys}
    return {"at": {"path": path, "concurrency": int(conc)}, "best_tuned_gunicorn": best,
            "fastest_gunicorn": fastest, "fastest_peer": peer, "by_config": by_config}


PEERS = ("pyuwsgi-", "granian-")


def fastest_peer(cells: dict[str, Result | None]) -> str | None:
    """The peer server configuration (PEERS) with the most req/s (first of equals)."""
    peers = [n for n, c in cells.items() if n.startswith(PEERS) and c]
    return max(peers, key=lambda n: cells[n]["rps"]) if peers else None


def fastest_gunicorn(cells: dict[str, Result | None]) -> str | None:
    """The gunicorn configuration with the most req/s, sync-1 included (first of equals)."""
    guns = [n for n, c in cells.items() if n.startswith("gunicorn-") and c]
    return max(guns, key=lambda n: cells[n]["rps"]) if guns else None


def _cpu_bound_targets(result: Result) -> list[Check]:
    """Issue 9, item 4: on /hello c=32, >= 1.0x the fastest gunicorn's req/s at <= its memory,
    by a whiskey configuration that keeps the /io lead over the best tuned gunicorn."""
    hello = result.get("ratios_hello", {})
    io = result.get("ratios", {}).get("by_config", {})
    by = hello.get("by_config", {})
    fastest = hello.get("fastest_gunicorn")
    if not by or not fastest or "rps_vs_fastest_gunicorn" not in next(iter(by.values())):
        return []
    checks: list[Check] = []
    for name, v in by.items():
        if name not in ("whiskey-default", "whiskey-daemon", "whiskey-embedded-4"):
            continue
        io_lead = io.get(name, {}).get("rps_vs_best_tuned")
        checks.append((f"/hello c=32: {name} >= 1.0x the fastest gunicorn ({fastest}) in req/s",
                       f"{v['rps_vs_fastest_gunicorn']:.2f}x", v["rps_vs_fastest_gunicorn"] >= 1.0))
        checks.append(("... at <= its memory", f"{v['memory_vs_fastest_gunicorn']:.2f}x",
                       v["memory_vs_fastest_gunicorn"] <= 1.0))
        if io_lead is not None:
            checks.append(("... and ahead of the best tuned gunicorn on /io c=32",
                           f"{io_lead:.2f}x", io_lead > 1.0))
    return checks




def _serving_targets(result: Result) -> list[Check]:
    rat = result.get("ratios", {}).get("by_config", {}).get("whiskey-default")
    if not rat:
        return []
    t = [("/io c=32: whiskey default >= 10x req/s of gunicorn 1 sync worker",
          f"{rat['rps_vs_gunicorn_sync_1']:.2f}x", rat["rps_vs_gunicorn_sync_1"] >= 10),
         ("/io c=32: ... at <= 1.5x its memory",
          f"{rat['memory_vs_gunicorn_sync_1']:.2f}x", rat["memory_vs_gunicorn_sync_1"] <= 1.5)]
    if "rps_vs_best_tuned" in rat:
        best = result["ratios"]["best_tuned_gunicorn"]
        t.append((f"/io c=32: within 20% of the best tuned gunicorn ({best}) in req/s",
                  f"{rat['rps_vs_best_tuned']:.2f}x", rat["rps_vs_best_tuned"] >= 0.8))
        t.append(("/io c=32: ... at less memory than it",
                  f"{rat['memory_vs_best_tuned']:.2f}x", rat["memory_vs_best_tuned"] < 1.0))
    return t


def _cold_start_targets(result: Result) -> list[Check]:
    cold = result.get("cold_start", {})
    cs = cold.get("whiskey-default")
    if not cs:
        return []
    checks = [("cold start (docker run to first 200) < 1.5 s", f"{cs['median']:.2f} s",
               cs["median"] < 1.5)]
    gun = cold.get("gunicorn-sync-1")
    if gun:  # issue 24
        checks.append(("cold start <= gunicorn-sync-1's", f"{cs['median'] / gun['median']:.2f}x",
                       cs["median"] <= gun["median"]))
    return checks


IO_SECONDS = 0.05  # bench/app's /io sleeps 50 ms: at c connections no server passes c / 0.05 req/s


def _default_targets(result: Result) -> list[Check]:
    """Issue 24: the default configuration as fast as the best Python servers."""
    med = result.get("serving", {}).get("median", {})

    def cell(name: str, path: str, conc: int) -> Result | None:
        return med.get(name, {}).get(path, {}).get(str(conc))
    w32, io32 = cell("whiskey-default", "/hello", 32), cell("whiskey-default", "/io", 32)
    if not w32 or not io32:
        return []
    names = list(med)
    checks: list[Check] = []
    fastest = fastest_gunicorn({n: cell(n, "/hello", 32) for n in names})
    if fastest:
        f = cell(fastest, "/hello", 32)
        # (its req/s against the fastest gunicorn is issue 9's row, above)
        checks.append((f"/hello c=32: whiskey-default at <= 1.2x the memory of {fastest}",
                       f"{w32['memory_mib'] / f['memory_mib']:.2f}x",
                       w32["memory_mib"] <= 1.2 * f["memory_mib"]))
    uwsgi = cell("pyuwsgi-1", "/hello", 32)
    if uwsgi:
        checks.append(("/hello c=32: whiskey-default >= pyuwsgi-1 (stretch)",
                       f"{w32['rps'] / uwsgi['rps']:.2f}x", w32["rps"] >= uwsgi["rps"]))
    ceiling = 32 / IO_SECONDS
    checks.append((f"/io c=32: whiskey-default >= 90% of the ceiling (32 / {IO_SECONDS} s = "
                   f"{ceiling:.0f} req/s)", f"{io32['rps'] / ceiling:.0%}",
                   io32["rps"] >= 0.9 * ceiling))
    best = best_tuned({n: cell(n, "/io", 32) for n in names})
    if best:
        b = cell(best, "/io", 32)
        checks.append((f"/io c=32: ... at <= the best tuned gunicorn's memory ({best})",
                       f"{io32['memory_mib'] / b['memory_mib']:.2f}x",
                       io32["memory_mib"] <= b["memory_mib"]))
    gthread = next((n for n in names if n.startswith("gunicorn-gthread-")), None)
    w256, g256 = cell("whiskey-default", "/io", 256), cell(gthread, "/io", 256) if gthread else None
    if w256 and g256:
        checks.append((f"/io c=256: whiskey-default p99 <= {gthread}'s",
                       f"{w256['p99_ms']:.0f} vs {g256['p99_ms']:.0f} ms",
                       w256["p99_ms"] <= g256["p99_ms"]))
    h256, s256 = cell("whiskey-default", "/hello", 256), cell("gunicorn-sync-1", "/hello", 256)
    if h256 and s256:
        checks.append(("/hello c=256: whiskey-default p99 <= 3x gunicorn-sync-1's",
                       f"{h256['p99_ms']:.0f} vs {s256['p99_ms']:.0f} ms",
                       h256["p99_ms"] <= 3 * s256["p99_ms"]))
    return checks


def _build_targets(result: Result) -> list[Check]:
    b = result.get("builds")
    if not b:
        return []
    return [("no-change rebuild of a variant < 10 s (`build.py build`, inputs hash)",
             f"{b['nochange']['median']:.2f} s", b["nochange"]["median"] < 10),
            ("... forced through Docker's layer cache (`build.py build --force`)",
             f"{b['nochange_forced']['median']:.2f} s", b["nochange_forced"]["median"] < 10)]


def targets(result: Result) -> list[Result]:
    """The targets of issues 5, 9 and 24, each with what this run measured and whether it is met."""
    checks = (_serving_targets(result) + _cpu_bound_targets(result) + _default_targets(result)
              + _cold_start_targets(result) + _build_targets(result))
    return [{"target": a, "measured": m, "met": ok} for a, m, ok in checks]
