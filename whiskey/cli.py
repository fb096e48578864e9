"""The ./build.py command line: list, render, base, build, test, push, ci-matrix."""

import argparse
import json
import os
import ssl
import subprocess
import sys
from typing import NoReturn

from . import UsageError, matrix, settings, text

EXAMPLES = """\
examples:
  ./build.py list                      variants, tags, whether sources are obtainable here
  ./build.py sources                   each variant's source files: cached and verified, or from where
  ./build.py sources --from DIR        fill the source cache from a directory (or a mirror URL)
  ./build.py sbom python-3.5 -o sbom.json   CycloneDX SBOM of a built image
  ./build.py update --dry-run          newer pins each variant can run (pip, setuptools, wheel,
                                       mod_wsgi; Debian's Python for distribution variants)
  ./build.py render                    regenerate versions/ from templates/ and matrix.yaml
  ./build.py render --check            fail, naming each stale file, if versions/ is out of date
  ./build.py build python-2.7          build and tag whiskey:python-2.7(.18) and whiskey-runtime:...
  ./build.py build                     build every variant whose sources can be obtained
  ./build.py build --jobs 2            build what changed, two variants at a time
  ./build.py build --dry-run           say what a build would do, and why; do nothing
  ./build.py build --print python-3.5  the Dockerfile python-3.5 is built from
  ./build.py test                      unit tests, lint, behaviour tests (tox)
  ./build.py push python-3.11 --registry registry.example:5000/team
                                       push every tag of a built variant's two images
  ./build.py ci-matrix                 the CI job list (JSON for strategy.matrix)
  ./build.py --version                 this checkout's version (git describe)
"""


def _ca_bundle(args):
    """The extra CA bundle (--ca-bundle, else $WHISKEY_CA_BUNDLE), checked to load."""
    from . import sources
    bundle = settings.ca_bundle(getattr(args, "ca_bundle", None))
    if not bundle:
        return None
    said = "the CA bundle %s (--ca-bundle or $WHISKEY_CA_BUNDLE)" % bundle
    if not os.path.isfile(bundle):
        raise UsageError("%s is not a file" % said)
    try:
        sources.ssl_context(bundle)
    except ssl.SSLError:
        raise UsageError("%s holds no PEM certificate" % said) from None
    except OSError as exc:
        raise UsageError("%s cannot be read: %s" % (said, exc.strerror)) from None
    return bundle


def _positive(given):
    try:
        value = int(given)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1, got %r" % given)
    return value


def cmd_list(args):
    from . import sources
    variants = matrix.select(matrix.load(args.matrix), args.variants)
    ca_bundle = None if args.offline else _ca_bundle(args)
    if not args.offline:
        text.log("probing where the source files of %d variant%s can be obtained (--offline "
                 "skips this)" % (len(variants), "" if len(variants) == 1 else "s"))
    rows = [("VARIANT", "PYTHON", "INTERPRETER", "BASE", "TAGS", "SOURCES HERE")]
    data = []
    for v in variants:
        if not args.offline:
            text.log("%s: %d files" % (v.name, len(v.artifacts)))
        ok, why = (True, "") if args.offline else sources.availability(v, ca_bundle)
        rows.append((v.name, v.python, v.interpreter, v.base, ",".join(v.tags),
                     "-" if args.offline else ("yes" if ok else "no: " + why)))
        data.append({"variant": v.name, "python": v.python, "interpreter": v.interpreter,
                     "base": v.base, "tags": v.tags,
                     "sources": None if args.offline else {"obtainable": ok, "why": why or None}})
    text.out(json.dumps(data, indent=1) if args.json else text.table(rows))
    return 0


def cmd_sources(args):
    from . import sources
    variants = matrix.select(matrix.load(args.matrix), args.variants)
    results = {}
    if args.origin:
        artifacts = [a for v in variants for a in v.artifacts]
        results = sources.fill_from(args.origin, artifacts, _ca_bundle(args))
        for name, result in sorted(results.items()):
            text.log("%s: %s" % (name, result))
    rows = sources.status(variants)
    if args.json:
        text.out(json.dumps([r.as_dict() for r in rows], indent=1))
    else:
        table = [("VARIANT", "FILE", "STATE", "SHA256", "WHERE", "SIGNATURE")]
        table += [(r.variant, r.artifact.file, r.state, r.artifact.sha256[:12], r.where,
                   r.signature) for r in rows]
        text.out(text.table(table))
        for v in variants:
            if not v.compiled:
                text.out("%s: the interpreter is Debian's python%s package on %s: no tarball; "
                         "apt checks it against the archive's OpenPGP-signed Release file"
                         % (v.name, v.major_minor, v.base))
    # A file the origin lacks may still come from its usual places; a file
    # whose bytes are not the pinned ones is an error, and so is an origin
    # that provided nothing while files are still missing.
    rejected = [n for n, r in sorted(results.items()) if r.startswith(sources.REJECTED)]
    for name in rejected:
        text.error("%s from %s: %s" % (name, args.origin, results[name]))
    useless = (args.origin and not any(r in ("added", "cached") for r in results.values())
               and any(r.state != "verified" for r in rows))
    if useless:
        text.error("%s provided none of the missing files" % args.origin)
    return 1 if rejected or useless else 0


def cmd_update(args):
    from . import render, sources, update
    variants = matrix.select(matrix.load(args.matrix), args.variants)
    try:
        listing = update.index_listing(variants, _ca_bundle(args))
    except sources._FETCH_ERRORS as exc:
        raise sources.SourceError("cannot read the package index (%s)"
                                  % getattr(exc, "reason", exc)) from None
    changes = update.plan(variants, listing)
    mirror = settings.debian_mirror()
    interpreters = update.interpreter_plan(
        variants, [mirror] if mirror else sources.debian_mirrors(),
        update.http_fetch(_ca_bundle(args)))
    rows = [("VARIANT", "PIN", "FROM", "TO")]
    rows += [(c.variant, c.pin, c.old.file, c.new_file) for c in changes]
    rows += [(c.variant, "python", c.old, "%s (%s)" % (c.new, c.package)) for c in interpreters]
    if args.json:
        text.out(json.dumps(
            [{"variant": c.variant, "pin": c.pin, "from": c.old.file, "to": c.new_file,
              "sha256": c.new_sha256, "package": None} for c in changes]
            + [{"variant": c.variant, "pin": "python", "from": c.old, "to": c.new,
                "sha256": None, "package": c.package} for c in interpreters], indent=1))
    else:
        text.out(text.table(rows) if len(rows) > 1 else "every pin is the newest its variant allows")
    if len(rows) == 1 or args.dry_run:
        return 0
    with open(args.matrix, encoding="utf-8") as f:
        try:
            new_text = update.rewrite_python(update.rewrite(f.read(), changes), interpreters)
        except matrix.MatrixError as exc:
            raise matrix.in_file(args.matrix, exc) from None
    matrix.parse_text(new_text, args.matrix)  # the result must still be a valid matrix
    with open(args.matrix, "w") as f:
        f.write(new_text)
    text.log("%s: %d pins updated" % (args.matrix, len(rows) - 1))
    if os.path.abspath(args.matrix) == os.path.abspath(matrix.DEFAULT_PATH):
        render.write(matrix.load(args.matrix))
        text.log("versions/ rendered again: review and commit matrix.yaml and versions/")
    return 0


def cmd_sbom(args):
    from . import images, sbom
    (variant,) = matrix.select(matrix.load(args.matrix), [args.variant])
    repository = images.check_repository(args.repository)
    doc = sbom.for_image(images.client(), variant, repository, runtime=args.runtime)
    text_out = json.dumps(doc, indent=1) + "\n"
    if args.output:
        with open(args.output, "w") as f:
            f.write(text_out)
        text.log("%s: %d components" % (args.output, len(doc["components"])))
    else:
        text.out(text_out, end="")
    return 0


def cmd_render(args):
    from . import render
    variants = matrix.load(args.matrix)
    if args.check:
        problems = render.check(variants)
        for p in problems:
            text.log(p)
        if problems:
            text.error("versions/ is stale: run ./build.py render and commit the result")
            return 1
        text.out("versions/ matches templates/ and matrix.yaml (%d variants)" % len(variants))
        return 0
    written = render.write(variants)
    text.out("rendered %d files for %d variants into versions/" % (len(written), len(variants)))
    return 0


def cmd_base(args):
    from concurrent.futures import ThreadPoolExecutor

    from . import baseimage, images
    bases = sorted({v.base for v in matrix.select(matrix.load(args.matrix), args.variants)})
    images.client()  # no engine: one error, before any thread
    # One thread and Docker client per base: a debootstrap mostly waits on the
    # archive, so a new machine's three take about as long as the longest.
    with ThreadPoolExecutor(max(1, len(bases))) as pool:
        hows = list(pool.map(
            lambda base: baseimage.ensure(images.client(), base, pull=not args.no_pull), bases))
    for base, how in zip(bases, hows, strict=True):
        text.out("%s: %s" % (base, how))
    return 0


def cmd_build(args):
    from . import images, orchestrate, outcome, render
    variants = matrix.select(matrix.load(args.matrix), args.variants)
    if args.print:
        for v in variants:
            text.out(render.render_variant(v)["Dockerfile"], end="")
        return 0
    repository = images.check_repository(args.repository)
    outcomes = orchestrate.build_many(
        variants, explicit=bool(args.variants), repository=repository, ca_bundle=_ca_bundle(args),
        jobs=args.jobs, force=args.force, verbose=args.verbose, pull=args.pull,
        dry_run=args.dry_run)
    if args.json:
        text.out(json.dumps([o.as_dict() for o in outcomes], indent=1))
    else:
        text.out(orchestrate.summary(outcomes))
    return 1 if any(o.result in outcome.FAILED for o in outcomes) else 0


def _test_tools() -> None:
    """tox, which runs the suites: installed from requirements-test.txt (hash-checked)
    into build.py's own .venv/ when missing; elsewhere, say how to get it."""
    try:
        import tox  # noqa: F401
        return
    except ImportError:
        pass
    locked = os.path.join(matrix.ROOT, "requirements-test.txt")
    if os.path.abspath(sys.prefix) != os.path.join(matrix.ROOT, ".venv"):
        raise SystemExit(text.ERROR + "tox is not installed; install the test tools with "
                         "`pip install --require-hashes -r %s`" % locked)
    text.log("build.py: adding the test tools to .venv/ (requirements-test.txt)")
    if subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", "--require-hashes",
                        "-r", locked]) != 0:
        raise SystemExit(text.ERROR + "could not install requirements-test.txt into .venv/ "
                         "(pip's message is above)")


def cmd_test(args):
    matrix.select(matrix.load(args.matrix), args.variants)  # a typo fails now, not after lint
    _test_tools()
    env = dict(os.environ)
    if args.variants:
        env["WHISKEY_VARIANTS"] = ",".join(args.variants)
    envs = args.env or "unit,lint,behaviour"
    cmd = [sys.executable, "-m", "tox", "-e", envs] + (["--"] + args.pytest_args
                                                      if args.pytest_args else [])
    text.log("+ " + " ".join(cmd))
    return subprocess.call(cmd, cwd=matrix.ROOT, env=env)


def cmd_push(args: argparse.Namespace) -> int:
    from . import images, publish
    variants = matrix.select(matrix.load(args.matrix), args.variants)
    repository = images.check_repository(
        images.DEFAULT_REPOSITORY if args.repository is None else args.repository)
    outcomes = publish.push(variants, args.registry, repository=repository,
                            tag_suffix=args.tag_suffix, dated=args.dated)
    text.out(json.dumps([o.as_dict() for o in outcomes], indent=1) if args.json
             else publish.summary(outcomes))
    problems = publish.problems(outcomes, explicit=bool(args.variants))
    for p in problems:
        text.error(p)
    return 1 if problems else 0


def cmd_dated_tag(args: argparse.Namespace) -> int:
    from . import images, publish
    (variant,) = matrix.select(matrix.load(args.matrix), [args.variant])
    registry = publish.parse_registry(args.registry)
    digests = publish.parse_digests(args.digest)
    if not digests:
        raise UsageError("give the digest of each image to date, e.g. --digest whiskey=sha256:...")
    day = publish.parse_day(args.day)
    lookup = publish.registry_lookup(images.client())
    text.out(publish.immutable_tag(
        publish.dated_tag(variant, day),
        {"%s/%s" % (registry, name): d for name, d in digests.items()}, lookup))
    return 0


def cmd_outdated(args: argparse.Namespace) -> int:
    from . import outdated
    variants = matrix.select(matrix.load(args.matrix), args.variants)
    verdicts = outdated.check_all(variants, args.registry)
    text.out(json.dumps([v.as_dict() for v in verdicts], indent=1) if args.json
             else outdated.summary(verdicts))
    return 0


def cmd_ci_matrix(args):
    from . import ci
    text.out(ci.matrix_json(matrix.select(matrix.load(args.matrix), args.variants)))
    return 0


def _variants_argument(s: argparse.ArgumentParser) -> None:
    s.add_argument("variants", nargs="*", metavar="VARIANT")


def _ca_bundle_option(s: argparse.ArgumentParser, used_for: str) -> None:
    """--ca-bundle, read through _ca_bundle() (which also takes $WHISKEY_CA_BUNDLE)."""
    s.add_argument("--ca-bundle", help="extra CA bundle for %s (also $WHISKEY_CA_BUNDLE)" % used_for)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors (every command's) carry the one error prefix."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, text.ERROR + message + "\n")


class _Version(argparse.Action):
    """--version: `build.py <git describe>` on stdout (git runs only when asked)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from . import checkout
        text.out("build.py %s" % checkout.version())
        parser.exit()


def parser():
    p = _Parser(
        prog="build.py", description="Render, build and test the whiskey S2I builder images.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action=_Version, nargs=0,
                   help="print build.py's version (git describe of this checkout) and exit")
    p.add_argument("--matrix", default=matrix.DEFAULT_PATH, help="the matrix file (default: %(default)s)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("list", help="list variants, their tags and whether sources are obtainable")
    _variants_argument(s)
    s.add_argument("--offline", action="store_true", help="do not probe source availability")
    s.add_argument("--json", action="store_true", help="print the list as JSON")
    _ca_bundle_option(s, "HTTPS")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("sources", help="list each variant's source files and fill the source cache",
                       description="For every file a variant's build needs: whether the source "
                                   "cache (%s, or $WHISKEY_SOURCE_CACHE) holds it with the pinned "
                                   "sha256, else where a build would fetch it from.  With --from, "
                                   "first copy missing files from a directory or download them "
                                   "from a base URL (air-gapped machines, mirrors); only files "
                                   "with the pinned sha256 enter the cache."
                                   % "~/.cache/whiskey/sources")
    _variants_argument(s)
    s.add_argument("--from", dest="origin", metavar="DIR|URL",
                   help="fill the cache from this directory or base URL (FILE is looked up as "
                        "DIR/FILE or URL/FILE)")
    s.add_argument("--json", action="store_true", help="print the list as JSON")
    _ca_bundle_option(s, "--from URL")
    s.set_defaults(func=cmd_sources)

    s = sub.add_parser("update", help="move pins to the newest files each variant's Python can run",
                       description="For each pin (pip, setuptools, wheel, mod_wsgi) of the named "
                                   "variants (default: all), find the newest final release of the "
                                   "same kind of file on the package index pip uses whose "
                                   "Requires-Python admits the variant's Python and that meets the "
                                   "pin's `constraint`; and for each variant on Debian's Python, "
                                   "a newer upstream release of python3.X in its base's suite "
                                   "(read from the host's Debian mirrors or "
                                   "$WHISKEY_DEBIAN_MIRROR).  Rewrite matrix.yaml with the new "
                                   "files, sha256s and versions and render versions/ again.")
    _variants_argument(s)
    s.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
    s.add_argument("--json", action="store_true", help="print the changes as JSON")
    _ca_bundle_option(s, "HTTPS")
    s.set_defaults(func=cmd_update)

    s = sub.add_parser("sbom", help="print a CycloneDX SBOM of a built builder or runtime image",
                       description="Describe a built image as CycloneDX 1.5 JSON: its Debian "
                                   "packages and Python distributions as the image itself lists "
                                   "them, plus what was compiled from pinned sources (CPython, "
                                   "OpenSSL) with their sha256.")
    s.add_argument("variant", metavar="VARIANT")
    s.add_argument("--repository", default=settings.repository(),
                   help="image repository the variant was built into (default: %(default)s)")
    s.add_argument("--runtime", action="store_true",
                   help="describe the variant's runtime image instead of its builder")
    s.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    s.set_defaults(func=cmd_sbom)

    s = sub.add_parser("render", help="write versions/ from templates/ and matrix.yaml")
    s.add_argument("--check", action="store_true",
                   help="change nothing; exit 1 naming every stale file")
    s.set_defaults(func=cmd_render)

    s = sub.add_parser("base", help="make sure base images exist (pull, else debootstrap)")
    _variants_argument(s)
    s.add_argument("--no-pull", action="store_true", help="do not try a registry first")
    s.set_defaults(func=cmd_base)

    s = sub.add_parser("build", help="build and tag builder images",
                       description="Build the named variants (default: every variant whose "
                                   "sources can be obtained here; the others are skipped with the "
                                   "reason).  A variant whose image already carries the hash of its "
                                   "current inputs (rendered files, pinned sources, base) is not "
                                   "built again.  Full logs go to build-logs/<variant>.log.")
    _variants_argument(s)
    s.add_argument("--repository", default=settings.repository(),
                   help="image repository to tag into (default: %(default)s)")
    _ca_bundle_option(s, "fetching sources")
    s.add_argument("-j", "--jobs", type=_positive, default=1,
                   help="build this many variants at once (default: %(default)s)")
    s.add_argument("--force", action="store_true",
                   help="build even variants whose image already has the current inputs hash")
    s.add_argument("--json", action="store_true",
                   help="print the results (image ids, sizes, tags) as JSON instead of the table")
    s.add_argument("--pull", action="store_true",
                   help="get every base image anew first (pull, else debootstrap): variants on a "
                        "base that changed (e.g. security updates) are rebuilt")
    s.add_argument("-v", "--verbose", action="store_true",
                   help="show every line of build output, not one line per step")
    what = s.add_mutually_exclusive_group()
    what.add_argument("-n", "--dry-run", action="store_true",
                      help="say what the build would do (build, retag, skip, fail) and why; fetch, "
                           "pull, tag, build and write nothing")
    what.add_argument("--print", action="store_true",
                      help="print the Dockerfile each variant would be built from; no engine needed")
    s.set_defaults(func=cmd_build)

    s = sub.add_parser("test", help="run the test suites through tox",
                       description="Run tox envs unit, lint and behaviour. Behaviour tests build "
                                   "the variants they test; select them by name (default: "
                                   "$WHISKEY_VARIANTS, else every variant).  Arguments after -- go "
                                   "to pytest, e.g. `test python-2.7 -e behaviour -- -k proxy`.")
    _variants_argument(s)
    s.add_argument("-e", "--env", help="tox envs (default: unit,lint,behaviour)")
    s.set_defaults(pytest_args=[])  # everything after `--`, split off in main()
    s.set_defaults(func=cmd_test)

    s = sub.add_parser("push", help="tag built images for a registry and push them",
                       description="Tag each variant's local images as REGISTRY/whiskey:<tag> "
                                   "and REGISTRY/whiskey-runtime:<tag> (<tag><SUFFIX> with "
                                   "--tag-suffix) for every tag of the variant and push them "
                                   "(default: every "
                                   "variant; one with no current local image is skipped, which is "
                                   "an error for a variant named here).  When "
                                   "$WHISKEY_REGISTRY_USER and $WHISKEY_REGISTRY_PASSWORD are "
                                   "set, logs in with them first; otherwise the engine's "
                                   "credentials (docker login) apply.")
    _variants_argument(s)
    s.add_argument("--registry", required=True,
                   help="HOST[:PORT]/NAMESPACE to push to, e.g. registry.example:5000/team")
    s.add_argument("--repository",
                   help="local image repository to push from (default: $WHISKEY_REPOSITORY, "
                        "else whiskey)")
    s.add_argument("--tag-suffix", default="", metavar="SUFFIX",
                   help="append SUFFIX to every pushed tag, e.g. --tag-suffix=-arm64 pushes "
                        "whiskey:python-3.11-arm64 (CI pushes each architecture so, then joins "
                        "them into multi-arch tags); write it with `=` when it starts with '-'")
    s.add_argument("--dated", action="store_true",
                   help="also push each image as python-X.Y.Z-YYYYMMDD (its build day), a tag "
                        "that never moves: .1, .2, ... is added when that tag names other "
                        "images already (README, \"Tags\")")
    s.add_argument("--json", action="store_true",
                   help="print the results (references pushed, digests) as JSON instead of the "
                        "table")
    s.set_defaults(func=cmd_push)

    s = sub.add_parser("dated-tag", help="print the dated tag a pushed build gets",
                       description="Print the immutable tag (python-X.Y.Z-YYYYMMDD, or with .1, "
                                   ".2, ... when taken) under which the images given by digest "
                                   "are to be published in REGISTRY, asking the registry which "
                                   "tags exist.  CI dates each multi-arch image so; a one-engine "
                                   "publisher uses `push --dated`.")
    s.add_argument("variant", metavar="VARIANT")
    s.add_argument("--registry", required=True, help="HOST[:PORT]/NAMESPACE published to")
    s.add_argument("--digest", action="append", default=[], metavar="IMAGE=DIGEST",
                   help="an image and the digest its dated tag must name, e.g. "
                        "whiskey=sha256:...; repeat for whiskey-runtime")
    s.add_argument("--day", required=True, metavar="YYYYMMDD", help="the build day (UTC)")
    s.set_defaults(func=cmd_dated_tag)

    s = sub.add_parser("outdated", help="say which published variants need a new build, and why",
                       description="Pull each variant's published builder from REGISTRY and "
                                   "say whether it is outdated: not published, built on another "
                                   "base than its base tag names now, built from other inputs "
                                   "than this checkout's, or holding a Debian package its suite "
                                   "has a newer version of (apt, in a throwaway container).  "
                                   "Exits 0 either way; 1 when it cannot tell.")
    _variants_argument(s)
    s.add_argument("--registry", required=True, help="HOST[:PORT]/NAMESPACE published to")
    s.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    s.set_defaults(func=cmd_outdated)

    s = sub.add_parser("ci-matrix", help="print the GitHub Actions build matrix as JSON",
                       description="Print {\"include\": [{variant, python, base, tags}, ...]} "
                                   "on one line, in matrix.yaml order, for a workflow's "
                                   "strategy.matrix (default: every variant).")
    _variants_argument(s)
    s.set_defaults(func=cmd_ci_matrix)
    return p


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # `test ... -- ARGS`: ARGS go to pytest untouched (argparse would take
    # them for variant names).
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser().parse_args(argv[:cut])
    if cut < len(argv):
        if args.command != "test":
            args = parser().parse_args(argv)  # argparse's own meaning of --, or its error
        else:
            args.pytest_args = argv[cut + 1:]
    from .baseimage import BaseImageError
    from .images import BuildError
    from .publish import PushError
    from .sources import SourceError
    try:
        return args.func(args)
    except UsageError as exc:  # the matrix's errors too
        text.error(str(exc))
        return 2
    except (BuildError, SourceError, BaseImageError, PushError) as exc:
        text.error(str(exc))
        return 1
    except KeyboardInterrupt:
        text.error("interrupted")
        return 130
    except BrokenPipeError:  # output piped into head and the like
        _stdout_to_devnull()
        return 0
    except text.OutputError as exc:
        _stdout_to_devnull()
        text.error(str(exc))
        return 1
    except OSError as exc:  # whatever else the machine refuses, named in one line
        text.error("%s%s" % (exc.strerror or exc, ": %s" % exc.filename if exc.filename else ""))
        return 1


def _stdout_to_devnull() -> None:
    """What is left in stdout's buffer goes nowhere, so that exiting does not fail again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
