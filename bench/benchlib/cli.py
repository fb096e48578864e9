"""The command line of bench/run.py: options, then a measuring run or a report from a results file."""

from __future__ import annotations

import argparse
import os
import sys

from . import report
from .common import RESULTS, log
from .context import Settings

DESCRIPTION = "Benchmark one whiskey variant: serving, cold start, image sizes, builds."
PARTS = ("serving", "cold-start", "images", "builds")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=DESCRIPTION)
    ap.add_argument("--variant", default="python-3.11")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: six configurations (seven with --before), c=1 and 32, "
                         "1 run of 2 s, 1 build run")
    ap.add_argument("--cpus", type=float, default=1.0, help="container CPU limit (default 1.0)")
    ap.add_argument("--memory", default="512m", help="container memory limit (default 512m)")
    ap.add_argument("--skip", action="append", default=[], choices=PARTS)
    ap.add_argument("--keep-images", action="store_true", help="keep the bench app image")
    ap.add_argument("--before", metavar="BUILDER",
                    help="a builder image of an earlier revision (tag it before rebuilding): the "
                         "bench app is built on it too, and its default configuration measured "
                         "beside this one's as whiskey-default-before")
    ap.add_argument("--output-dir", default=RESULTS)
    ap.add_argument("--render", metavar="JSON",
                    help="only write the .md and the plot again from an earlier results file")
    ap.add_argument("--report-only", action="store_true",
                    help="only write <variant>.md (and the plot, if matplotlib is importable) again from "
                         "<output-dir>/<variant>.json (<variant>-quick.json with --quick); no Docker")
    return ap


def settings_from(args: argparse.Namespace) -> Settings:
    """The options, with the sizes of a --quick (smoke) or a full run."""
    if args.quick:
        concurrency, runs, duration, warmup, cold_runs, build_runs = (1, 32), 1, 2, 1, 2, 1
    else:
        concurrency, runs, duration, warmup, cold_runs, build_runs = (1, 8, 32, 64, 256), 3, 4, 2, 9, 3
    return Settings(variant=args.variant, quick=args.quick, cpus=args.cpus, memory=args.memory,
                    skip=tuple(args.skip), keep_images=args.keep_images, output_dir=args.output_dir,
                    before=args.before,
                    concurrency=concurrency, runs=runs, duration=duration, warmup=warmup,
                    cold_runs=cold_runs, build_runs=build_runs)


def render(json_path: str) -> int:
    """Write the report (and the plot, if matplotlib is importable) again from a results file."""
    if not os.path.exists(json_path):
        sys.exit(f"bench: no results file {json_path} (run the benchmark first)")
    written = report.write_outputs(json_path)
    log(f"wrote {', '.join(written)} from {json_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.render:
        return render(args.render)
    if args.report_only:
        stem = args.variant + ("-quick" if args.quick else "")
        return render(os.path.join(args.output_dir, stem + ".json"))
    # Only a measuring run needs Docker, wrk and whiskey (from the repository root).
    from . import session
    command = "python3 bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    return session.run(settings_from(args), command)
