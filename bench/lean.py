#!/usr/bin/env python3
"""Image sizes, shared layers, matrix build times and incremental app builds, for two
revisions of whiskey side by side in one run (issue 11: lean images, fast builds).

    python3 bench/lean.py --before 8700592                    # every variant buildable here
    python3 bench/lean.py --before 8700592 python-2.7 python-3.11
    python3 bench/lean.py --report-only                       # lean.md again from lean.json

Each revision is checked out into a temporary git worktree and measured with
its own build.py and its own s2i emulation, against a private Docker engine
(started here, with its own data root, socket and bridge) so that "cold" means
an empty layer cache without touching the main engine's images.  For each
revision, in this order:

1. the engine is emptied and the base images are loaded from the main engine;
2. cold build: `./build.py build --jobs 2 VARIANTS`, timed, with each image's size;
3. one template line changed (the builder's ENV line naming the variant gets a
   second variable): the same command again, timed;
4. sizes and shared bytes from the engine's layers (bench/layers.py);
5. the Django sample app built on python-3.11 (and, where the revision has
   runtime images, with --runtime-image), its size;
6. tests/apps/compiled (a C extension compiled from an sdist) built clean and
   incremental on python-3.11, interleaved, ROUNDS times each.

Writes bench/results/lean.json (every sample) and bench/results/lean.md.
Needs root (a bridge and a second dockerd), git, and the main engine's bases.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import layers  # noqa: E402  (bench/layers.py)

RESULTS = os.path.join(HERE, "results", "lean.json")
REPORT = os.path.join(HERE, "results", "lean.md")
ENGINE = "unix:///run/whiskey-bench.sock"
DATA_ROOT = "/var/lib/whiskey-bench-engine"
EXEC_ROOT = "/run/whiskey-bench"
BRIDGE, BRIDGE_ADDR = "wbench0", "172.29.0.1/24"
REPO = "whiskey-bench"
ROUNDS = 3
EDIT = ("    WHISKEY_VARIANT={{ v.name }} \\\n", "    WHISKEY_VARIANT={{ v.name }} WHISKEY_BENCH_EDIT=1 \\\n")
CA = "/etc/ssl/certs/ca-certificates.crt"

# Runs in a revision's worktree (its own whiskey package): one app build, as JSON.
APP_BUILD = r"""
import json, sys, time, docker, inspect
from tests.support import s2i
client = docker.from_env(timeout=1200)
builder, src, tag, incremental, runtime = sys.argv[1:6]
kwargs = {}
if runtime:
    kwargs["runtime_image"] = runtime
start = time.time()
image, _ = s2i.build_app(client, builder, src, tag, incremental=incremental == "1",
                         ca_bundle=sys.argv[6] or None, **kwargs)
print(json.dumps({"seconds": round(time.time() - start, 2), "size_mb": round(image.attrs["Size"] / 1e6, 1)}))
"""


def log(message: str) -> None:
    sys.stderr.write("[lean] %s\n" % message)
    sys.stderr.flush()


def sh(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=True, **kwargs)


class Engine:
    """A private dockerd for cold builds; the main engine is never touched."""

    def __init__(self) -> None:
        self.proc: Any = None

    def start(self) -> None:
        if subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True).returncode:
            sh("ip", "link", "add", "name", BRIDGE, "type", "bridge")
            sh("ip", "addr", "add", BRIDGE_ADDR, "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        if self.ping():
            return
        os.makedirs(DATA_ROOT, exist_ok=True)
        os.makedirs(EXEC_ROOT, exist_ok=True)
        self.proc = subprocess.Popen(
            ["dockerd", "--data-root", DATA_ROOT, "--exec-root", EXEC_ROOT,
             "--pidfile", os.path.join(EXEC_ROOT, "dockerd.pid"), "-H", ENGINE,
             "--bridge", BRIDGE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(60):
            if self.ping():
                return
            time.sleep(1)
        raise RuntimeError("the private Docker engine did not start")

    def ping(self) -> bool:
        return subprocess.run(["docker", "-H", ENGINE, "info"], capture_output=True).returncode == 0

    def empty(self, bases: List[str]) -> None:
        """No container, no image, no build cache; then the bases from the main engine."""
        ids = subprocess.run(["docker", "-H", ENGINE, "ps", "-aq"], capture_output=True,
                             text=True, check=True).stdout.split()
        if ids:
            sh("docker", "-H", ENGINE, "rm", "-f", *ids, stdout=subprocess.DEVNULL)
        sh("docker", "-H", ENGINE, "system", "prune", "-af", stdout=subprocess.DEVNULL)
        for base in bases:
            save = subprocess.Popen(["docker", "save", base], stdout=subprocess.PIPE)
            sh("docker", "-H", ENGINE, "load", stdin=save.stdout, stdout=subprocess.DEVNULL)
            save.wait()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=60)


def worktree(rev: str) -> str:
    path = tempfile.mkdtemp(prefix="whiskey-bench-%s-" % rev[:7])
    os.rmdir(path)
    sh("git", "-C", ROOT, "worktree", "add", "--detach", path, rev, stdout=subprocess.DEVNULL,
       stderr=subprocess.DEVNULL)
    return path


def build_py(tree: str, variants: List[str]) -> Dict[str, Any]:
    """`./build.py build --jobs 2 --json VARIANTS` in tree against the private engine."""
    env = dict(os.environ, DOCKER_HOST=ENGINE, WHISKEY_REPOSITORY=REPO)
    start = time.time()
    p = subprocess.run([sys.executable, "build.py", "build", "--jobs", "2", "--json"] + variants,
                       cwd=tree, env=env, capture_output=True, text=True)
    seconds = round(time.time() - start, 1)
    if p.returncode != 0:
        raise RuntimeError("build.py build failed in %s:\n%s" % (tree, p.stderr[-3000:]))
    return {"seconds": seconds, "variants": json.loads(p.stdout)}


def app_build(tree: str, builder: str, app: str, tag: str, incremental: bool = False,
              runtime: str = "") -> Dict[str, Any]:
    env = dict(os.environ, DOCKER_HOST=ENGINE, PYTHONPATH=tree)
    p = subprocess.run([sys.executable, "-c", APP_BUILD, builder, os.path.join(tree, "tests", "apps", app),
                        tag, "1" if incremental else "0", runtime, CA if os.path.exists(CA) else ""],
                       cwd=tree, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("building %s failed:\n%s" % (app, p.stderr[-3000:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


def sharing(names: List[str]) -> Dict[str, Any]:
    import docker
    client = docker.DockerClient(base_url=ENGINE)
    per = {n: layers.layers(client, n) for n in names}
    alone = sum(sum(size for _, size in ls) for ls in per.values())
    together = sum(dict(layer for ls in per.values() for layer in ls).values())
    return {"images": names, "one_by_one_mb": round(alone / 1e6, 1),
            "together_mb": round(together / 1e6, 1)}


def shared_bytes(a: str, b: str) -> float:
    import docker
    client = docker.DockerClient(base_url=ENGINE)
    la, lb = dict(layers.layers(client, a)), dict(layers.layers(client, b))
    return round(sum(size for digest, size in la.items() if digest in lb) / 1e6, 1)


def measure_revision(rev: str, variants: List[str], engine: Engine, bases: List[str],
                     rounds: int = ROUNDS) -> Dict[str, Any]:
    """Every figure for one revision; variants empty: every variant buildable here."""
    tree = worktree(rev)
    try:
        out: Dict[str, Any] = {"revision": subprocess.run(
            ["git", "-C", tree, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
            check=True).stdout.strip()}
        engine.empty(bases)
        log("%s: cold build of %s" % (rev, " ".join(variants) or "every buildable variant"))
        out["cold"] = build_py(tree, variants)
        template = os.path.join(tree, "templates", "Dockerfile.j2")
        with open(template) as f:
            text = f.read()
        if EDIT[0] not in text:
            raise RuntimeError("%s: the template line to change is not there" % rev)
        with open(template, "w") as f:
            f.write(text.replace(EDIT[0], EDIT[1], 1))
        log("%s: one template line changed" % rev)
        out["one_line"] = build_py(tree, variants)
        with open(template, "w") as f:
            f.write(text)
        built = {v["variant"]: v for v in out["cold"]["variants"] if v["result"] == "built"}
        has_runtime = any(v.get("runtime_size_mb") for v in built.values())
        bookworm = [n for n in built if n in ("python-2.7", "python-3.3", "python-3.4",
                                              "python-3.5", "python-3.11")]
        out["sizes"] = {n: {"builder_mb": built[n]["size_mb"],
                            "runtime_mb": built[n].get("runtime_size_mb") or None} for n in built}
        out["bookworm_builders"] = sharing(["%s:%s" % (REPO, n) for n in bookworm])
        if has_runtime:
            out["bookworm_runtimes"] = sharing(["%s-runtime:%s" % (REPO, n) for n in bookworm])
        if "python-2.7" in built and "python-3.11" in built:
            out["shared_2_7_3_11_mb"] = shared_bytes("%s:python-2.7" % REPO, "%s:python-3.11" % REPO)
        builder = "%s:python-3.11" % REPO
        log("%s: apps on python-3.11" % rev)
        out["django"] = {"builder": app_build(tree, builder, "django-hello-world",
                                              "whiskey-bench/django:builder")}
        if has_runtime:
            out["django"]["runtime"] = app_build(tree, builder, "django-hello-world",
                                                 "whiskey-bench/django:runtime",
                                                 runtime="%s-runtime:python-3.11" % REPO)
        clean, incremental = [], []
        for _ in range(rounds):
            clean.append(app_build(tree, builder, "compiled", "whiskey-bench/compiled:x")["seconds"])
            incremental.append(app_build(tree, builder, "compiled", "whiskey-bench/compiled:x",
                                         incremental=True)["seconds"])
        out["compiled_app"] = {"clean": clean, "incremental": incremental,
                               "clean_median": statistics.median(clean),
                               "incremental_median": statistics.median(incremental),
                               "ratio": round(statistics.median(clean) / statistics.median(incremental), 2)}
        return out
    finally:
        sh("git", "-C", ROOT, "worktree", "remove", "--force", tree, stdout=subprocess.DEVNULL)


def report(data: Dict[str, Any]) -> str:
    before, after = data["before"], data["after"]
    lines = ["# Lean images and fast builds: %s (before) and %s (after), side by side"
             % (before["revision"], after["revision"]), "",
             "Measured %s by `%s`; a private Docker engine, emptied before each revision's cold build."
             % (data["date"], data["command"]), "",
             "| variant | builder before (MB) | builder after (MB) | runtime after (MB) |",
             "|---|---:|---:|---:|"]
    for name in data["variants"]:
        b, a = before["sizes"].get(name, {}), after["sizes"].get(name, {})
        lines.append("| %s | %s | %s | %s |" % (name, b.get("builder_mb", "-"), a.get("builder_mb", "-"),
                                              a.get("runtime_mb") or "-"))
    lines += ["", "| figure | before | after |", "|---|---:|---:|"]

    def row(label: str, get: Any) -> None:
        def value(d: Dict[str, Any]) -> str:
            try:
                return str(get(d))
            except (KeyError, TypeError):
                return "-"
        lines.append("| %s | %s | %s |" % (label, value(before), value(after)))
    row("cold build, `--jobs 2`, all variants above (s)", lambda d: d["cold"]["seconds"])
    row("one template line changed, rebuild (s)", lambda d: d["one_line"]["seconds"])
    row("bytes shared by python-2.7 and python-3.11 builders (MB)", lambda d: d["shared_2_7_3_11_mb"])
    row("bookworm builders, one by one (MB)", lambda d: d["bookworm_builders"]["one_by_one_mb"])
    row("bookworm builders, together (MB)", lambda d: d["bookworm_builders"]["together_mb"])
    row("bookworm runtime images, together (MB)", lambda d: d["bookworm_runtimes"]["together_mb"])
    row("Django app on python-3.11, from the builder (MB)", lambda d: d["django"]["builder"]["size_mb"])
    row("Django app on python-3.11, with the runtime image (MB)", lambda d: d["django"]["runtime"]["size_mb"])
    row("compiled app, clean build, median (s)", lambda d: d["compiled_app"]["clean_median"])
    row("compiled app, incremental build, median (s)", lambda d: d["compiled_app"]["incremental_median"])
    row("clean / incremental", lambda d: d["compiled_app"]["ratio"])
    lines += ["", "Per-variant build times (s), cold and after the one-line change:", "",
              "| variant | cold before | cold after | one line before | one line after |",
              "|---|---:|---:|---:|---:|"]
    def secs(d: Dict[str, Any], key: str, name: str) -> str:
        for v in d[key]["variants"]:
            if v["variant"] == name and v["result"] == "built":
                return str(v["seconds"])
        return "-"
    for name in data["variants"]:
        lines.append("| %s | %s | %s | %s | %s |" % (
            name, secs(before, "cold", name), secs(after, "cold", name),
            secs(before, "one_line", name), secs(after, "one_line", name)))
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help="default: every variant buildable here")
    parser.add_argument("--before", help="the revision to compare HEAD with")
    parser.add_argument("--rounds", type=int, default=ROUNDS,
                        help="clean and incremental app builds per revision (default %(default)s)")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if args.report_only:
        with open(RESULTS) as f:
            data = json.load(f)
    else:
        if not args.before:
            parser.error("--before REV is needed to measure")
        sys.path.insert(0, ROOT)
        from whiskey import matrix
        chosen = matrix.select(matrix.load(), args.variants)
        names = [v.name for v in chosen]
        bases = sorted(set(v.base for v in chosen))
        engine = Engine()
        engine.start()
        try:
            data = {"date": time.strftime("%Y-%m-%d"), "variants": names,
                    "command": ("python3 bench/lean.py --before %s %s"
                                % (args.before, " ".join(args.variants))).strip(),
                    "before": measure_revision(args.before, args.variants, engine, bases,
                                               args.rounds),
                    "after": measure_revision("HEAD", args.variants, engine, bases, args.rounds)}
        finally:
            engine.stop()
        os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
        with open(RESULTS, "w") as f:
            json.dump(data, f, indent=1)
    text = report(data)
    with open(REPORT, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
