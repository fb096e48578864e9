"""Lock files, read by assemble: which one applies, and exactly what it pins.

``python locks.py install WHEELHOUSE [SRC]`` installs the application in SRC
(default: the working directory) from its lock file:

1. the lock is chosen: $WHISKEY_LOCK_FILE if set, else the first present of
   pylock.toml, uv.lock, poetry.lock, Pipfile.lock.  When several are
   present, each is read; they must pin the same versions for this
   interpreter, or the build stops naming the first difference.
2. the lock is read into pins: name, version and the sha256 hashes of its
   files, for the production set only (no dev groups, no develop section, no
   optional extras), with environment markers evaluated for this interpreter.
   A pin without a hash, a VCS or local-path source (other than the project
   itself) and a URL without a hash are refused: none can be installed
   exactly.
3. wheels saved by the previous build (WHEELHOUSE) are reused for the pins
   they match (see ``reusable``); the rest are downloaded by pip in
   hash-checking mode (--require-hashes), sdists are built into wheels here.
4. every pinned wheel is installed with --no-index --no-deps, together with
   the project itself (built with --no-deps) when the lock says it is a
   package.

``python locks.py pins [SRC]`` prints the chosen lock's pins, one
``name==version`` a line (for checks by hand).

Runs on every interpreter whiskey ships (Python 2.7, 3.3 to 3.x) with the
image's own pip: standard library, and pip's vendored ``packaging`` (markers,
versions) and TOML parser (tomllib on 3.11+; pip's tomli, toml or pytoml
before that).  No uv, Poetry or pipenv is needed.  Errors are one line,
``whiskey: ERROR: ...``, and exit status 1.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

LOCK_FILES = ("pylock.toml", "uv.lock", "poetry.lock", "Pipfile.lock")
MANIFEST = ".locked"  # in the wheelhouse: which wheels were built here from which sdist
TEXT = (str, type(u""))


class LockError(Exception):
    pass


def packages(n):
    return "%d package%s" % (n, "" if n == 1 else "s")


def log(message):
    sys.stderr.write("---> %s\n" % message)
    sys.stderr.flush()


def warn(message):
    sys.stderr.write("whiskey: WARNING: %s\n" % message)
    sys.stderr.flush()


# -- reading ------------------------------------------------------------------------

def toml_loads(text):
    """A dict from TOML text, with the best parser this interpreter has."""
    try:
        import tomllib as parser  # novermin: 3.11+; the fallbacks are pip's own
    except ImportError:
        parser = None
        for name in ("pip._vendor.tomli", "pip._vendor.toml", "pip._vendor.pytoml"):
            try:
                parser = __import__(name, fromlist=["loads"])
                break
            except ImportError:
                continue
        if parser is None:
            raise LockError("no TOML parser in this image (tomllib or pip's vendored one)")
    return parser.loads(text)


def read_lock(path):
    """The parsed lock at path (JSON for Pipfile.lock, TOML for the others)."""
    name = os.path.basename(path)
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    try:
        return json.loads(text) if name == "Pipfile.lock" else toml_loads(text)
    except Exception as exc:  # each parser has its own error class
        raise LockError("%s cannot be read: %s" % (name, str(exc).splitlines()[0] if str(exc) else exc))


def canonical(name):
    """PEP 503 name: 'Flask_Login' -> 'flask-login'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def same_version(a, b):
    from pip._vendor.packaging.version import InvalidVersion, Version
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


_GROUP_TEST = re.compile(r"""(['"])([^'"]*)\1\s+(not\s+in|in)\s+(extras|dependency_groups)""")


def marker_holds(marker, extras=(), groups=()):
    """Whether a PEP 508 marker holds for this interpreter.

    ``extra == "x"`` is false (no extras are installed); PEP 751's
    ``'x' in extras`` / ``'x' in dependency_groups`` test the given sets.
    They are replaced by a literal test first, so that the old ``packaging``
    of pip 10 (which does not know those names) can evaluate the rest.
    """
    if not marker or not marker.strip():
        return True
    from pip._vendor.packaging.markers import InvalidMarker, Marker

    def literal(match):
        chosen = extras if match.group(4) == "extras" else groups
        found = canonical(match.group(2)) in [canonical(x) for x in chosen]
        if match.group(3) != "in":
            found = not found
        return 'python_version %s "0"' % (">=" if found else "<")
    try:
        return Marker(_GROUP_TEST.sub(literal, marker)).evaluate({"extra": ""})
    except InvalidMarker as exc:
        raise LockError("cannot evaluate the marker '%s': %s" % (marker, exc))


class Pin(object):
    """One locked distribution: name, version, allowed sha256 hashes, and
    a direct URL when it is not fetched from the index."""

    def __init__(self, name, version, hashes, url=None):
        self.name = canonical(name)
        self.version = version
        self.hashes = set(hashes)
        self.url = url

    def requirement(self):
        """The line for a pip requirements file in hash-checking mode."""
        what = self.url or "%s==%s" % (self.name, self.version)
        return " ".join([what] + ["--hash=sha256:%s" % h for h in sorted(self.hashes)])


def _sha256s(values):
    """The sha256 hashes (hex) of a lock's file entries: 'sha256:<hex>' strings
    (Pipfile.lock), {hash = 'sha256:<hex>'} (uv, Poetry) or
    {hashes = {sha256 = '<hex>'}} (pylock).  Other algorithms are ignored."""
    found = set()
    for value in values:
        if isinstance(value, dict):
            hashes = value.get("hashes")
            if isinstance(hashes, dict) and hashes.get("sha256"):
                found.add(hashes["sha256"].lower())
                continue
            value = value.get("hash")
        if isinstance(value, TEXT) and value.startswith("sha256:"):
            found.add(value[len("sha256:"):].lower())
    return found


def _need_hashes(pin, lock):
    if not pin.hashes:
        raise LockError("%s pins %s %s without a sha256 hash: it cannot be installed exactly "
                        "(lock it again with hashes)" % (lock, pin.name, pin.version))
    return pin


def _refuse(lock, name, what):
    raise LockError("%s: %s comes from %s, which cannot be installed exactly from a lock; "
                    "pin it from the package index instead" % (lock, name, what))


# -- the four formats ---------------------------------------------------------------
# Each returns (pins, project): project is True when the application itself is
# a package the lock installs (built from the source directory, --no-deps).

def uv_pins(data, lock="uv.lock"):
    """uv.lock: walk the dependency graph from the project, markers evaluated,
    without its dev-dependencies and optional-dependencies."""
    packages = data.get("package", [])
    roots = [p for p in packages if p.get("source", {}).get("editable") == "."
             or p.get("source", {}).get("virtual") == "."]
    if not roots:
        raise LockError("%s has no package for the project itself (source = { editable = \".\" } "
                        "or { virtual = \".\" })" % lock)
    root = roots[0]
    by_name = {}
    for p in packages:
        by_name.setdefault(canonical(p["name"]), []).append(p)

    def target(dep):
        candidates = by_name.get(canonical(dep["name"]), [])
        if len(candidates) > 1:
            candidates = [p for p in candidates
                          if ("version" not in dep or p.get("version") == dep["version"])
                          and ("source" not in dep or p.get("source") == dep["source"])]
        if len(candidates) != 1:
            raise LockError("%s: cannot tell which %s a dependency means" % (lock, dep["name"]))
        return candidates[0]

    pins, names, seen, todo = [], set(), set(), [(root, ())]
    while todo:
        package, extras = todo.pop()
        key = (id(package), tuple(sorted(extras)))
        if key in seen:
            continue
        seen.add(key)
        deps = list(package.get("dependencies", []))
        for extra in extras:
            deps += package.get("optional-dependencies", {}).get(extra, [])
        for dep in deps:
            if marker_holds(dep.get("marker")):
                todo.append((target(dep), tuple(dep.get("extra", ()))))
        if package is not root and canonical(package["name"]) not in names:
            names.add(canonical(package["name"]))
            pins.append(_uv_pin(package, lock))
    return pins, root["source"].get("editable") == "."


def _uv_pin(package, lock):
    name, source = package["name"], package.get("source", {})
    if "git" in source:
        _refuse(lock, name, "git (%s)" % source["git"])
    for kind in ("path", "directory", "editable", "virtual"):
        if kind in source:
            _refuse(lock, name, "the local path %s" % source[kind])
    files = [package["sdist"]] if "sdist" in package else []
    files += package.get("wheels", [])
    pin = Pin(name, package.get("version", ""), _sha256s(files),
              url=source.get("url"))
    if pin.url and not pin.hashes:
        _refuse(lock, name, "the URL %s without a hash" % pin.url)
    return _need_hashes(pin, lock)


def poetry_pins(data, lock="poetry.lock", pyproject=None):
    """poetry.lock: lock format 2.1 marks each package with its groups and
    markers; 1.1 and 2.0 are walked from the project's main dependencies
    (pyproject.toml), markers on each edge evaluated."""
    packages = data.get("package", [])
    metadata = data.get("metadata", {})
    old_files = metadata.get("files", {})  # 1.1: hashes kept apart from the packages
    chosen = []
    if any("groups" in p for p in packages):
        for p in packages:
            markers = p.get("markers")
            if isinstance(markers, dict):
                markers = markers.get("main")
            if "main" in p.get("groups", []) and marker_holds(markers):
                chosen.append(p)
    else:
        chosen = _poetry_walk(packages, pyproject or {}, lock)
    pins = []
    for p in chosen:
        source = p.get("source") or {}
        kind = source.get("type")
        if kind == "git":
            _refuse(lock, p["name"], "git (%s)" % source.get("url"))
        if kind in ("directory", "file"):
            _refuse(lock, p["name"], "the local path %s" % source.get("url"))
        files = p.get("files", old_files.get(p["name"], old_files.get(canonical(p["name"]), [])))
        pin = Pin(p["name"], p["version"], _sha256s(files),
                  url=source.get("url") if kind == "url" else None)
        if pin.url and not pin.hashes:
            _refuse(lock, p["name"], "the URL %s without a hash" % pin.url)
        pins.append(_need_hashes(pin, lock))
    poetry = (pyproject or {}).get("tool", {}).get("poetry", {})
    project = "build-system" in (pyproject or {}) and poetry.get("package-mode", True) is not False
    return pins, project


def _poetry_walk(packages, pyproject, lock):
    from layout import poetry_to_pep440, satisfies
    python = "%d.%d.%d" % sys.version_info[:3]
    by_name = {}
    for p in packages:
        by_name.setdefault(canonical(p["name"]), []).append(p)

    def edges(spec):
        """[(markers, python constraint, optional)] of one dependency's alternatives."""
        out = []
        for alt in spec if isinstance(spec, list) else [spec]:
            if isinstance(alt, dict):
                out.append((alt.get("markers"), alt.get("python"), alt.get("optional", False)))
            else:
                out.append((None, None, False))
        return out

    def applies(markers, python_constraint):
        if python_constraint and not satisfies(python, poetry_to_pep440(python_constraint)):
            return False
        return marker_holds(markers)

    def pick(name):
        candidates = by_name.get(canonical(name), [])
        fitting = [p for p in candidates
                   if satisfies(python, poetry_to_pep440(p.get("python-versions", "*")))]
        return (fitting or candidates or [None])[0]

    todo = []
    for name, spec in pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}).items():
        if canonical(name) != "python":
            todo += [name for m, py, opt in edges(spec) if not opt and applies(m, py)]
    from pip._vendor.packaging.requirements import Requirement
    for text in pyproject.get("project", {}).get("dependencies", []):
        req = Requirement(text)
        if req.marker is None or marker_holds(str(req.marker)):
            todo.append(req.name)
    chosen, seen = [], set()
    while todo:
        name = canonical(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        package = pick(name)
        if package is None:
            raise LockError("%s does not lock %s, which the project depends on" % (lock, name))
        if package.get("category", "main") != "main":
            continue
        chosen.append(package)
        for dep, spec in package.get("dependencies", {}).items():
            todo += [dep for m, py, opt in edges(spec) if not opt and applies(m, py)]
    return chosen


def pipfile_pins(data, lock="Pipfile.lock"):
    """Pipfile.lock: the "default" section only (never "develop")."""
    pins, project = [], False
    for name, entry in sorted(data.get("default", {}).items()):
        if not marker_holds(entry.get("markers")):
            continue
        if "git" in entry or "hg" in entry or "svn" in entry or "bzr" in entry:
            vcs = [k for k in ("git", "hg", "svn", "bzr") if k in entry][0]
            _refuse(lock, name, "%s (%s)" % (vcs, entry[vcs]))
        if "path" in entry:
            if entry["path"] in (".", "./"):
                project = True
                continue
            _refuse(lock, name, "the local path %s" % entry["path"])
        url = entry.get("file")
        if url and not re.match(r"^https?://", url):
            _refuse(lock, name, "the local file %s" % url)
        version = entry.get("version", "")
        pin = Pin(name, version[2:] if version.startswith("==") else version,
                  _sha256s(entry.get("hashes", [])), url=url)
        if url and not pin.hashes:
            _refuse(lock, name, "the URL %s without a hash" % url)
        pins.append(_need_hashes(pin, lock))
    return pins, project


def pylock_pins(data, lock="pylock.toml"):
    """pylock.toml (PEP 751): each package's marker evaluated with no extras
    and the lock's default-groups as the dependency groups."""
    groups = data.get("default-groups", [])
    pins, project = [], False
    for p in data.get("packages", []):
        name = p["name"]
        if not marker_holds(p.get("marker"), extras=(), groups=groups):
            continue
        if "vcs" in p:
            _refuse(lock, name, "%s (%s)" % (p["vcs"].get("type", "a VCS"), p["vcs"].get("url")))
        if "directory" in p:
            if p["directory"].get("path") in (".", "./"):
                project = True
                continue
            _refuse(lock, name, "the local path %s" % p["directory"].get("path"))
        url = None
        files = p.get("wheels", []) + ([p["sdist"]] if "sdist" in p else [])
        if "archive" in p:
            archive = p["archive"]
            url = archive.get("url")
            if not url:
                _refuse(lock, name, "the local archive %s" % archive.get("path"))
            files = [archive]
            if not _sha256s(files):
                _refuse(lock, name, "the URL %s without a hash" % url)
        pins.append(_need_hashes(Pin(name, p.get("version", ""), _sha256s(files), url),
                                 lock))
    return pins, project


def lock_pins(src, name):
    """(pins, project) of the lock file `name` in src."""
    path = os.path.join(src, name)
    data = read_lock(path)
    if name == "uv.lock":
        return uv_pins(data, name)
    if name == "poetry.lock":
        pyproject = {}
        if os.path.isfile(os.path.join(src, "pyproject.toml")):
            with open(os.path.join(src, "pyproject.toml"), "rb") as f:
                pyproject = toml_loads(f.read().decode("utf-8"))
        return poetry_pins(data, name, pyproject)
    if name == "Pipfile.lock":
        return pipfile_pins(data, name)
    return pylock_pins(data, name)


# -- choosing -----------------------------------------------------------------------

def is_lock_name(name):
    return name in LOCK_FILES or re.match(r"^pylock\.[^./]+\.toml$", name) is not None


def present(src):
    return [name for name in LOCK_FILES if os.path.isfile(os.path.join(src, name))]


def choose(src, env):
    """The lock file to install (a name in src), or None when there is none.

    Raises LockError when $WHISKEY_LOCK_FILE names a missing or unknown file,
    or when the lock files present disagree.
    """
    chosen = env.get("WHISKEY_LOCK_FILE", "").strip()
    if chosen:
        if not os.path.isfile(os.path.join(src, chosen)):
            raise LockError("WHISKEY_LOCK_FILE=%s, and there is no %s in the source" % (chosen, chosen))
        if chosen == "requirements.txt":
            return None
        if not is_lock_name(chosen):
            raise LockError("WHISKEY_LOCK_FILE=%s is not a lock file whiskey reads (%s, "
                            "pylock.<name>.toml or requirements.txt)" % (chosen, ", ".join(LOCK_FILES)))
        return chosen
    found = present(src)
    if not found:
        return None
    if len(found) > 1:
        first = versions(lock_pins(src, found[0])[0])
        for other in found[1:]:
            difference = disagreement(first, versions(lock_pins(src, other)[0]))
            if difference:
                raise LockError("%s and %s disagree (%s); set WHISKEY_LOCK_FILE to the one to install"
                                % (found[0], other, difference))
        log("%s pin the same %s; installing from %s"
            % (" and ".join(found), packages(len(first)), found[0]))
    return found[0]


def versions(pins):
    return dict((pin.name, pin.version) for pin in pins)


def disagreement(a, b):
    """'' when the two {name: version} agree, else the first difference."""
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b or not same_version(a[name], b[name]):
            return "%s %s vs %s" % (name, a.get(name, "not pinned"), b.get(name, "not pinned"))
    return ""


# -- the wheelhouse -----------------------------------------------------------------

def interpreter():
    """What a saved wheel must have been made for (the manifest records it)."""
    return "%s %s %s" % (sys.version.split()[0], sys.platform, getattr(sys, "abiflags", ""))


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_name_version(filename):
    """('flask', '3.1.0') from 'flask-3.1.0-py3-none-any.whl'; None if not a wheel."""
    parts = filename[:-len(".whl")].split("-") if filename.endswith(".whl") else []
    if len(parts) < 5:
        return None
    return canonical(parts[0]), parts[1]


def read_manifest(wheelhouse):
    """{wheel file: sha256 of the sdist it was built from} if made by this interpreter."""
    try:
        with open(os.path.join(wheelhouse, MANIFEST)) as f:
            manifest = json.load(f)
    except (IOError, OSError, ValueError):
        return None
    if manifest.get("interpreter") != interpreter():
        return None
    return manifest.get("built", {})


def reusable(pin, path, built):
    """Whether the saved wheel at path installs pin exactly: same name and
    version, and either its own sha256 is in the lock, or it was built here
    from an sdist whose sha256 is in the lock (built: the manifest)."""
    found = wheel_name_version(os.path.basename(path))
    if found is None or found[0] != pin.name or not same_version(found[1], pin.version):
        return False
    return sha256_of(path) in pin.hashes or built.get(os.path.basename(path)) in pin.hashes


def plan(pins, wheelhouse):
    """({pin name: saved wheel path}, [pins to fetch])."""
    built = read_manifest(wheelhouse)
    saved = []
    if built is not None and os.path.isdir(wheelhouse):
        saved = sorted(os.path.join(wheelhouse, f) for f in os.listdir(wheelhouse) if f.endswith(".whl"))
    reuse, fetch = {}, []
    for pin in pins:
        match = [path for path in saved if reusable(pin, path, built)]
        if match:
            reuse[pin.name] = match[0]
        else:
            fetch.append(pin)
    return reuse, fetch


def pip(*args):
    """Run this interpreter's pip; LockError naming what failed."""
    command = [sys.executable, "-m", "pip"] + list(args)
    if subprocess.call(command) != 0:
        raise LockError("pip %s failed (its message is above)" % args[0])


def fetch(pins, lock, work):
    """Download pins in hash-checking mode; sdists are built into wheels.

    Returns ({pin name: wheel path}, {wheel file: sdist sha256}).
    """
    requirements = os.path.join(work, "locked.txt")
    with open(requirements, "w") as f:
        f.write("".join(pin.requirement() + "\n" for pin in pins))
    downloads = os.path.join(work, "downloads")
    log("Downloading %s pinned by %s (hash-checked)" % (packages(len(pins)), lock))
    pip("download", "--no-cache-dir", "--no-deps", "--require-hashes", "--dest", downloads,
        "-r", requirements)
    by_hash = dict((h, pin) for pin in pins for h in pin.hashes)
    wheels, built = {}, {}
    for filename in sorted(os.listdir(downloads)):
        path = os.path.join(downloads, filename)
        pin = by_hash.get(sha256_of(path))
        if pin is None:  # pip checked every hash; this is not one of ours
            raise LockError("pip downloaded %s, whose sha256 is not in %s" % (filename, lock))
        if filename.endswith(".whl"):
            wheels[pin.name] = path
            continue
        out = tempfile.mkdtemp(dir=work)
        log("Building a wheel for %s %s from its sdist" % (pin.name, pin.version))
        pip("wheel", "--no-cache-dir", "--no-deps", "--wheel-dir", out, path)
        wheel = [f for f in os.listdir(out) if f.endswith(".whl")][0]
        if "-linux_" in wheel:
            log("Compiled from source: %s" % wheel)
        wheels[pin.name] = os.path.join(out, wheel)
        built[wheel] = sha256_of(path)
    missing = [pin.name for pin in pins if pin.name not in wheels]
    if missing:
        raise LockError("pip did not download %s pinned by %s" % (", ".join(missing), lock))
    return wheels, built


def save(wheelhouse, wheels, built):
    """Make the wheelhouse exactly these wheels (no stale versions) plus the manifest."""
    keep = set(os.path.basename(path) for path in wheels.values())
    old = read_manifest(wheelhouse) or {}
    if not os.path.isdir(wheelhouse):
        os.makedirs(wheelhouse)
    for filename in os.listdir(wheelhouse):
        if filename not in keep:
            path = os.path.join(wheelhouse, filename)
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
    placed = []
    for path in wheels.values():
        target = os.path.join(wheelhouse, os.path.basename(path))
        if os.path.abspath(path) != os.path.abspath(target):
            shutil.copyfile(path, target)
        placed.append(target)
    record = dict((f, old[f]) for f in keep if f in old)
    record.update(built)
    with open(os.path.join(wheelhouse, MANIFEST), "w") as f:
        json.dump({"interpreter": interpreter(), "built": record}, f, indent=1, sort_keys=True)
    return sorted(placed)


def install(src, wheelhouse, env):
    lock = choose(src, env)
    if lock is None:
        raise LockError("there is no lock file to install from (%s)" % ", ".join(LOCK_FILES))
    if os.path.isfile(os.path.join(src, "requirements.txt")):
        warn("requirements.txt is not used: %s is installed (set WHISKEY_LOCK_FILE=requirements.txt "
             "to install requirements.txt instead)" % lock)
    pins, project = lock_pins(src, lock)
    reuse, missing = plan(pins, wheelhouse)
    if missing:
        log("Installing from %s: %s, %d of them reused from the previous build"
            % (lock, packages(len(pins)), len(reuse)))
    else:
        log("%s is unchanged since the previous build: its %s installed from saved "
            "wheels without the network" % (lock, packages(len(pins))))
    work = tempfile.mkdtemp()
    try:
        fresh, built = fetch(missing, lock, work) if missing else ({}, {})
        reuse.update(fresh)
        wheels = save(wheelhouse, reuse, built)
        if project:
            log("Building the project itself (%s says it is a package)" % lock)
            out = os.path.join(work, "project")
            pip("wheel", "--no-cache-dir", "--no-deps", "--wheel-dir", out, src)
            wheels += [os.path.join(out, f) for f in sorted(os.listdir(out)) if f.endswith(".whl")]
        log("Installing %s from %s" % (packages(len(wheels)), lock))
        if wheels:
            pip("install", "--no-cache-dir", "--no-index", "--no-deps", *wheels)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    if not argv or argv[0] not in ("install", "pins") or (argv[0] == "install" and len(argv) < 2):
        sys.stderr.write("usage: locks.py install WHEELHOUSE [SRC] | locks.py pins [SRC]\n")
        return 2
    try:
        if argv[0] == "pins":
            src = argv[1] if len(argv) > 1 else os.getcwd()
            lock = choose(src, os.environ)
            if lock is None:
                raise LockError("there is no lock file in %s" % src)
            pins, project = lock_pins(src, lock)
            for pin in sorted(pins, key=lambda p: p.name):
                print("%s==%s" % (pin.name, pin.version))
            if project:
                print("(the project itself)")
            return 0
        install(argv[2] if len(argv) > 2 else os.getcwd(), argv[1], os.environ)
    except LockError as exc:
        sys.stderr.write("whiskey: ERROR: %s\n" % exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main(sys.argv[1:]))
