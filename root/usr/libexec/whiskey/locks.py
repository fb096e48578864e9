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
   A pin without a hash, a VCS or local-path source (a path or a file: URL,
   in every format; the project itself, ".", excepted) and a URL without a
   hash are refused: none can be installed exactly.  Every pin is validated
   before it is used (a PEP 508 name, a PEP 440 version, 64-hex sha256
   hashes, an http(s) URL of printable ASCII), so that nothing in a lock can
   add a line or an option to the requirements pip reads; a malformed lock is
   one line naming the file and the place in it.
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

import json
import numbers
import os
import re
import shutil
import subprocess
import sys
import tempfile

import say
import tomlfile
import wheelhouse
from installed import sha256_of
from tomlfile import TEXT
from wheelhouse import canonical


class LockError(say.Failed):
    """A lock that cannot be installed exactly: one line naming the file (and the place)."""


def packages(n):
    return "%d package%s" % (n, "" if n == 1 else "s")


log = say.step


# -- reading ------------------------------------------------------------------------
# A lock is untrusted input: every value is type-checked where it is read (the
# helpers below), and every pin is validated before it is used, since its name,
# version, hashes and URL end up as one line of a pip requirements file.  An
# error is one line naming the file and the place in it.

TABLE, LIST, STRING, BOOLEAN = "a table", "a list", "a string", "a boolean"
_TYPES = {TABLE: dict, LIST: list, STRING: TEXT, BOOLEAN: bool}
NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])\Z")  # PEP 508, ASCII only
SHA256 = re.compile(r"^[0-9a-fA-F]{64}\Z")
TOKEN = re.compile(r"^[!-~]+\Z")  # printable ASCII without spaces: all a pin's fields may hold
PYPROJECT = "pyproject.toml"


def _printable(text):
    """text with everything but printable ASCII escaped (one line, any encoding)."""
    def escape(match):
        code = ord(match.group())
        return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code if code < 0x10000 else "\\U%08x" % code
    return re.sub(u"[^ -~]", escape, text)


def _quote(text):
    """A value of the lock, quoted for a message: one line, at most 100 characters."""
    return '"%s"%s' % (_printable(text[:100]), "..." if len(text) > 100 else "")


def _show(value):
    """A value of the lock as is when it is a plain token, else quoted."""
    if not isinstance(value, TEXT):
        return _printable(repr(value))
    return value if TOKEN.match(value) and len(value) <= 200 else _quote(value)


def _message(exc, first_line=False):
    """An exception's message on one line (a parser's first line only: the rest points at the text)."""
    try:
        text = u"%s" % (exc,)
    except UnicodeError:  # Python 2: a message of non-ASCII bytes
        text = repr(exc)
    lines = text.strip().splitlines() or [type(exc).__name__]
    return _printable(lines[0] if first_line else " ".join(line.strip() for line in lines))


def _kind(value):
    if value is None:
        return "null"
    for kind in (BOOLEAN, TABLE, LIST, STRING):  # a boolean first: bool is an int
        if isinstance(value, _TYPES[kind]):
            return kind
    if isinstance(value, numbers.Integral):
        return "an integer"
    if isinstance(value, numbers.Number):
        return "a number"
    return "a %s" % type(value).__name__  # a TOML date or time


def _at(where, key):
    """The place of key (a name or a list index) in where: 'package six: wheels[0].hashes'."""
    if isinstance(key, int):
        return "%s[%d]" % (where, key)
    if not re.match(r"^[A-Za-z0-9_-]+\Z", key):
        return "%s[%s]" % (where, _quote(key))
    if not where:
        return key
    return where + (" " if where.endswith(":") else ".") + key


def _place(where):
    return where.rstrip(":") or "the top level"


def _where(name):
    """The place of a (validated) package's fields in messages."""
    return "package %s:" % name


def _check(lock, where, value, kind):
    """value, when it is of kind (TABLE, LIST, STRING or BOOLEAN)."""
    if not isinstance(value, _TYPES[kind]):
        raise LockError("%s: %s is %s, not %s" % (lock, _place(where), _kind(value), kind))
    return value


def _get(lock, where, table, key, kind, default=None):
    """table[key] checked to be of kind; default when it is absent."""
    if key not in table:
        return default
    return _check(lock, _at(where, key), table[key], kind)


def _need(lock, where, table, key, kind):
    """table[key] checked to be of kind; an error when it is absent."""
    if key not in table:
        raise LockError('%s: %s has no "%s"' % (lock, _place(where), key))
    return _check(lock, _at(where, key), table[key], kind)


def _strings(lock, where, values):
    for i, value in enumerate(values):
        _check(lock, _at(where, i), value, STRING)
    return values


def _packages(lock, data, key):
    """The tables of the list data[key], each with a valid "name"."""
    tables = []
    for i, table in enumerate(_get(lock, "", data, key, LIST, [])):
        table = _check(lock, _at(key, i), table, TABLE)
        _name(lock, _need(lock, _at(key, i), table, "name", STRING))
        tables.append(table)
    return tables


def _name(lock, name):
    if not NAME.match(name):  # \Z, not $: "six\n" is not a name
        raise LockError("%s: %s is not a valid package name (PEP 508)" % (lock, _quote(name)))
    return name


def _version(lock, where, version):
    if TOKEN.match(version):  # Version() itself allows surrounding whitespace and a newline
        Version, InvalidVersion = _vendored("version", "Version", "InvalidVersion")
        try:
            Version(version)
            return version
        except InvalidVersion:
            pass
    raise LockError("%s: %s %s is not a valid version (PEP 440)"
                    % (lock, _at(where, "version"), _quote(version)))


def _pin_version(lock, where, version, url):
    """A pin's version: required unless it comes from a URL."""
    if version is None:
        if url:
            return ""
        raise LockError('%s: %s has no "version"' % (lock, _place(where)))
    return _version(lock, where, version)


def _sha256(lock, where, value):
    if not SHA256.match(value):
        raise LockError("%s: %s %s is not a sha256 (64 hex digits)" % (lock, where, _quote(value)))
    return value.lower()


def _url(lock, name, where, url):
    """A direct URL, which pip fetches: http or https; file: URLs and paths are local paths."""
    if not TOKEN.match(url):
        raise LockError("%s: %s %s is not a URL (spaces or characters other than printable ASCII)"
                        % (lock, where, _quote(url)))
    if re.match(r"^https?://", url, re.IGNORECASE):
        return url
    if re.match(r"^file:", url, re.IGNORECASE) or not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url):
        _refuse(lock, name, "the local path %s" % url)
    _refuse(lock, name, "the URL %s (only http and https are fetched)" % url)


def _vendored(module, *names):
    """Names from pip's vendored packaging.<module> (pip 10 and later have it)."""
    try:
        found = __import__("pip._vendor.packaging." + module, fromlist=list(names))
    except ImportError:
        raise LockError("this image's pip has no vendored packaging.%s (pip 10 or later is needed)" % module)
    return [getattr(found, name) for name in names]


def read_lock(path):
    """The parsed lock at path (JSON for Pipfile.lock, TOML for the others): a table."""
    name = os.path.basename(path)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LockError("%s cannot be read: it is not UTF-8 text (byte 0x%02x at offset %d)"
                        % (name, bytearray(raw[exc.start:exc.start + 1])[0], exc.start))
    try:
        loads = json.loads if name == "Pipfile.lock" else tomlfile.parser().loads
    except tomlfile.NoParser as exc:
        raise LockError(str(exc))
    try:
        data = loads(text)
    except Exception as exc:  # the parser only: each has its own error class (pytoml's is no ValueError)
        raise LockError("%s cannot be read: %s" % (name, _message(exc, first_line=True)))
    if not isinstance(data, dict):
        raise LockError("%s: the top level is %s, not a table" % (name, _kind(data)))
    return data


def same_version(a, b):
    Version, InvalidVersion = _vendored("version", "Version", "InvalidVersion")
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
    found = _vendored("markers", "Marker", "InvalidMarker", "UndefinedComparison", "UndefinedEnvironmentName")
    Marker, errors = found[0], tuple(found[1:])

    def literal(match):
        chosen = extras if match.group(4) == "extras" else groups
        found = canonical(match.group(2)) in [canonical(x) for x in chosen]
        if match.group(3) != "in":
            found = not found
        return 'python_version %s "0"' % (">=" if found else "<")
    try:
        return Marker(_GROUP_TEST.sub(literal, marker)).evaluate({"extra": ""})
    except errors as exc:
        raise LockError("cannot evaluate the marker %s: %s"
                        % (_quote(marker), _message(exc, first_line=True)))


def _holds(lock, where, marker, groups=()):
    """marker_holds, its error naming the lock and the place."""
    try:
        return marker_holds(marker, groups=groups)
    except LockError as exc:
        raise LockError("%s: %s: %s" % (lock, _place(where), exc))


class Pin(object):
    """One locked distribution: name, version, allowed sha256 hashes, and
    a direct URL when it is not fetched from the index."""

    def __init__(self, name, version, hashes, url=None):
        self.name = canonical(name)
        self.version = version
        self.hashes = set(hashes)
        self.url = url

    def requirement(self):
        """The line for a pip requirements file in hash-checking mode.

        The readers validate every field; this is the last guard: one line,
        one requirement, no option but the hashes."""
        what = self.url or "%s==%s" % (self.name, self.version)
        if not TOKEN.match(what) or what.startswith("-") or not all(SHA256.match(h) for h in self.hashes):
            raise LockError("%s cannot be written as one requirement" % _quote(what))
        return " ".join([what] + ["--hash=sha256:%s" % h for h in sorted(self.hashes)])


def _file_hashes(lock, files):
    """The sha256 hashes (hex) of a lock's file entries, [(place, table)]:
    hash = 'sha256:<hex>' (uv, Poetry) or hashes = {sha256 = '<hex>'} (pylock).
    Other algorithms are ignored."""
    found = set()
    for where, entry in files:
        entry = _check(lock, where, entry, TABLE)
        hashes = _get(lock, where, entry, "hashes", TABLE, {})
        if "sha256" in hashes:
            at = _at(_at(where, "hashes"), "sha256")
            found.add(_sha256(lock, at, _check(lock, at, hashes["sha256"], STRING)))
        found |= _hash_texts(lock, where, [_get(lock, where, entry, "hash", STRING)], "hash")
    return found


def _hash_texts(lock, where, texts, key):
    """The sha256 hashes (hex) of 'sha256:<hex>' texts; None and other algorithms are ignored."""
    found = set()
    for text in texts:
        if text is not None and text.startswith("sha256:"):
            found.add(_sha256(lock, _at(where, key), text[len("sha256:"):]))
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
# The local paths refused are the same in each: a path or file: URL source, but
# the project itself (".").

def uv_pins(data, lock="uv.lock"):
    """uv.lock: walk the dependency graph from the project, markers evaluated,
    without its dev-dependencies and optional-dependencies."""
    packages = _packages(lock, data, "package")
    by_name, roots = {}, []
    for p in packages:
        source = _get(lock, _where(p["name"]), p, "source", TABLE, {})
        if "." in (source.get("editable"), source.get("virtual"), source.get("directory")):
            roots.append(p)
        by_name.setdefault(canonical(p["name"]), []).append(p)
    if not roots:
        raise LockError("%s has no package for the project itself (source = { editable = \".\" }, "
                        "{ directory = \".\" } or { virtual = \".\" })" % lock)
    root = roots[0]

    def target(where, dep):
        name = _name(lock, _need(lock, where, dep, "name", STRING))
        version = _get(lock, where, dep, "version", STRING)
        source = _get(lock, where, dep, "source", TABLE)
        candidates = by_name.get(canonical(name), [])
        if len(candidates) > 1:
            candidates = [p for p in candidates
                          if (version is None or p.get("version") == version)
                          and (source is None or p.get("source") == source)]
        if len(candidates) != 1:
            raise LockError("%s: cannot tell which %s a dependency means" % (lock, name))
        return candidates[0]

    pins, names, seen, todo = [], set(), set(), [(root, ())]
    while todo:
        package, extras = todo.pop()
        key = (id(package), tuple(sorted(extras)))
        if key in seen:
            continue
        seen.add(key)
        where = _where(package["name"])
        deps = list(enumerate(_get(lock, where, package, "dependencies", LIST, [])))
        deps = [(_at(_at(where, "dependencies"), i), dep) for i, dep in deps]
        optional = _get(lock, where, package, "optional-dependencies", TABLE, {})
        for extra in extras:
            at = _at(_at(where, "optional-dependencies"), extra)
            deps += [(_at(at, i), dep) for i, dep in
                     enumerate(_get(lock, _at(where, "optional-dependencies"), optional, extra, LIST, []))]
        for at, dep in deps:
            dep = _check(lock, at, dep, TABLE)
            if _holds(lock, at, _get(lock, at, dep, "marker", STRING)):
                extra = _strings(lock, _at(at, "extra"), _get(lock, at, dep, "extra", LIST, []))
                todo.append((target(at, dep), tuple(extra)))
        if package is not root and canonical(package["name"]) not in names:
            names.add(canonical(package["name"]))
            pins.append(_uv_pin(package, lock))
    return pins, root["source"].get("virtual") != "."


def _uv_pin(package, lock):
    name = package["name"]
    where = _where(name)
    source = _get(lock, where, package, "source", TABLE, {})
    at = _at(where, "source")
    if "git" in source:
        _refuse(lock, name, "git (%s)" % _show(_get(lock, at, source, "git", STRING)))
    for kind in ("path", "directory", "editable", "virtual"):
        if kind in source:
            _refuse(lock, name, "the local path %s" % _show(_get(lock, at, source, kind, STRING)))
    url = _get(lock, at, source, "url", STRING)
    if url is not None:
        _url(lock, name, _at(at, "url"), url)
    files = [(_at(where, "sdist"), package["sdist"])] if "sdist" in package else []
    files += [(_at(_at(where, "wheels"), i), wheel)
              for i, wheel in enumerate(_get(lock, where, package, "wheels", LIST, []))]
    pin = Pin(name, _pin_version(lock, where, _get(lock, where, package, "version", STRING), url),
              _file_hashes(lock, files), url=url)
    if pin.url and not pin.hashes:
        _refuse(lock, name, "the URL %s without a hash" % pin.url)
    return _need_hashes(pin, lock)


def _poetry_project(pyproject):
    """(tool.poetry, project) tables of pyproject.toml."""
    tool = _get(PYPROJECT, "", pyproject, "tool", TABLE, {})
    return (_get(PYPROJECT, "tool", tool, "poetry", TABLE, {}),
            _get(PYPROJECT, "", pyproject, "project", TABLE, {}))


def poetry_pins(data, lock="poetry.lock", pyproject=None):
    """poetry.lock: lock format 2.1 marks each package with its groups and
    markers; 1.1 and 2.0 are walked from the project's main dependencies
    (pyproject.toml), markers on each edge evaluated."""
    pyproject = pyproject or {}
    packages = _packages(lock, data, "package")
    metadata = _get(lock, "", data, "metadata", TABLE, {})
    old_files = _get(lock, "metadata", metadata, "files", TABLE, {})  # 1.1: hashes kept apart
    chosen = []
    if any("groups" in p for p in packages):
        for p in packages:
            where = _where(p["name"])
            groups = _strings(lock, _at(where, "groups"), _get(lock, where, p, "groups", LIST, []))
            markers = p.get("markers")
            if isinstance(markers, dict):
                markers = _get(lock, _at(where, "markers"), markers, "main", STRING)
            elif markers is not None:
                _check(lock, _at(where, "markers"), markers, STRING)
            if "main" in groups and _holds(lock, where, markers):
                chosen.append(p)
    else:
        chosen = _poetry_walk(packages, pyproject, lock)
    pins = []
    for p in chosen:
        name = p["name"]
        where = _where(name)
        source = _get(lock, where, p, "source", TABLE, {})
        at = _at(where, "source")
        kind = _get(lock, at, source, "type", STRING)
        url = _get(lock, at, source, "url", STRING)
        if kind == "git":
            _refuse(lock, name, "git (%s)" % _show(url))
        if kind in ("directory", "file"):
            _refuse(lock, name, "the local path %s" % _show(url))
        if kind == "url":
            _url(lock, name, _at(at, "url"), _need(lock, at, source, "url", STRING))
        else:
            url = None
        if "files" in p:
            files = _at(where, "files"), _get(lock, where, p, "files", LIST)
        else:
            key = name if name in old_files else canonical(name)
            files = _at("metadata.files", key), _get(lock, "metadata.files", old_files, key, LIST, [])
        pin = Pin(name, _version(lock, where, _need(lock, where, p, "version", STRING)),
                  _file_hashes(lock, [(_at(files[0], i), f) for i, f in enumerate(files[1])]), url=url)
        if pin.url and not pin.hashes:
            _refuse(lock, name, "the URL %s without a hash" % pin.url)
        pins.append(_need_hashes(pin, lock))
    poetry = _poetry_project(pyproject)[0]
    package_mode = _get(PYPROJECT, "tool.poetry", poetry, "package-mode", BOOLEAN, True)
    return pins, "build-system" in pyproject and package_mode


def _poetry_walk(packages, pyproject, lock):
    from layout import Mismatch, poetry_to_pep440, satisfies
    python = "%d.%d.%d" % sys.version_info[:3]
    by_name = {}
    for p in packages:
        by_name.setdefault(canonical(p["name"]), []).append(p)

    def fits(source, where, constraint):
        """Whether this interpreter satisfies a Poetry python constraint."""
        try:
            return satisfies(python, poetry_to_pep440(constraint))
        except Mismatch as exc:
            raise LockError("%s: %s: %s" % (source, _place(where), _message(exc)))

    def edges(source, where, spec):
        """[(place, markers, python constraint, optional)] of one dependency's alternatives."""
        out = []
        for i, alt in enumerate(spec if isinstance(spec, list) else [spec]):
            at = _at(where, i) if isinstance(spec, list) else where
            if isinstance(alt, dict):
                out.append((at, _get(source, at, alt, "markers", STRING),
                            _get(source, at, alt, "python", STRING),
                            _get(source, at, alt, "optional", BOOLEAN, False)))
            else:
                out.append((at, None, None, False))
        return out

    def follow(source, where, dependencies):
        """The names of a table of dependencies that apply here."""
        names = []
        for name in dependencies:
            if canonical(name) == "python":
                continue
            _name(source, name)
            for at, markers, constraint, optional in edges(source, _at(where, name), dependencies[name]):
                if optional or (constraint and not fits(source, at, constraint)):
                    continue
                if _holds(source, at, markers):
                    names.append(name)
        return names

    def pick(name):
        candidates = by_name.get(canonical(name), [])
        fitting = [p for p in candidates
                   if fits(lock, _where(p["name"]),
                           _get(lock, _where(p["name"]), p, "python-versions", STRING, "*"))]
        return (fitting or candidates or [None])[0]

    poetry, project = _poetry_project(pyproject)
    todo = follow(PYPROJECT, "tool.poetry.dependencies",
                  _get(PYPROJECT, "tool.poetry", poetry, "dependencies", TABLE, {}))
    Requirement, InvalidRequirement = _vendored("requirements", "Requirement", "InvalidRequirement")
    for i, text in enumerate(_get(PYPROJECT, "project", project, "dependencies", LIST, [])):
        at = _at("project.dependencies", i)
        try:
            req = Requirement(_check(PYPROJECT, at, text, STRING))
        except InvalidRequirement as exc:
            raise LockError("%s: %s %s is not a valid requirement: %s"
                            % (PYPROJECT, at, _quote(text), _message(exc, first_line=True)))
        if req.marker is None or _holds(PYPROJECT, at, str(req.marker)):
            todo.append(_name(PYPROJECT, req.name))
    chosen, seen = [], set()
    while todo:
        name = canonical(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        package = pick(name)
        if package is None:
            raise LockError("%s does not lock %s, which the project depends on" % (lock, name))
        where = _where(package["name"])
        if _get(lock, where, package, "category", STRING, "main") != "main":
            continue
        chosen.append(package)
        todo += follow(lock, _at(where, "dependencies"),
                       _get(lock, where, package, "dependencies", TABLE, {}))
    return chosen


def pipfile_pins(data, lock="Pipfile.lock", project_name=None):
    """Pipfile.lock: the "default" section only (never "develop").  The project itself is
    {"path": ".", "editable": true}, or (as current pipenv writes it) an entry of the
    project's own name (project_name) with a version and no hash."""
    pins, project = [], False
    default = _get(lock, "", data, "default", TABLE, {})
    for name in sorted(default):
        entry = _check(lock, _at("default", name), default[name], TABLE)
        where = _where(_name(lock, name))
        if not _holds(lock, where, _get(lock, where, entry, "markers", STRING)):
            continue
        for vcs in ("git", "hg", "svn", "bzr"):
            if vcs in entry:
                _refuse(lock, name, "%s (%s)" % (vcs, _show(_get(lock, where, entry, vcs, STRING))))
        path = _get(lock, where, entry, "path", STRING)
        if path in (".", "./"):
            project = True
            continue
        if (project_name and canonical(name) == canonical(project_name) and path is None
                and not entry.get("hashes") and "file" not in entry):
            project = True  # current pipenv's form: "name": {"version": "==0.1"}
            continue
        if path is not None:
            _refuse(lock, name, "the local path %s" % _show(path))
        url = _get(lock, where, entry, "file", STRING)
        if url is not None:
            _url(lock, name, _at(where, "file"), url)
        version = _get(lock, where, entry, "version", STRING)
        if version is not None and version.startswith("=="):
            version = version[2:]
        hashes = _strings(lock, _at(where, "hashes"), _get(lock, where, entry, "hashes", LIST, []))
        pin = Pin(name, _pin_version(lock, where, version, url), _hash_texts(lock, where, hashes, "hashes"),
                  url=url)
        if url and not pin.hashes:
            _refuse(lock, name, "the URL %s without a hash" % url)
        pins.append(_need_hashes(pin, lock))
    return pins, project


def pylock_pins(data, lock="pylock.toml"):
    """pylock.toml (PEP 751): each package's marker evaluated with no extras
    and the lock's default-groups as the dependency groups."""
    groups = _strings(lock, "default-groups", _get(lock, "", data, "default-groups", LIST, []))
    pins, project = [], False
    for p in _packages(lock, data, "packages"):
        name = p["name"]
        where = _where(name)
        if not _holds(lock, where, _get(lock, where, p, "marker", STRING), groups=groups):
            continue
        if "vcs" in p:
            vcs, at = _get(lock, where, p, "vcs", TABLE), _at(where, "vcs")
            _refuse(lock, name, "%s (%s)" % (_show(_get(lock, at, vcs, "type", STRING, "a VCS")),
                                             _show(_get(lock, at, vcs, "url", STRING,
                                                        _get(lock, at, vcs, "path", STRING)))))
        if "directory" in p:
            directory = _get(lock, where, p, "directory", TABLE)
            path = _get(lock, _at(where, "directory"), directory, "path", STRING)
            if path in (".", "./"):
                project = True
                continue
            _refuse(lock, name, "the local path %s" % _show(path))
        url = None
        if "archive" in p:
            archive, at = _get(lock, where, p, "archive", TABLE), _at(where, "archive")
            url = _get(lock, at, archive, "url", STRING)
            if url is None:
                _refuse(lock, name, "the local path %s" % _show(_get(lock, at, archive, "path", STRING)))
            _url(lock, name, _at(at, "url"), url)
            hashes = _file_hashes(lock, [(at, archive)])
            if not hashes:
                _refuse(lock, name, "the URL %s without a hash" % url)
        else:
            files = [(_at(_at(where, "wheels"), i), wheel)
                     for i, wheel in enumerate(_get(lock, where, p, "wheels", LIST, []))]
            files += [(_at(where, "sdist"), p["sdist"])] if "sdist" in p else []
            hashes = _file_hashes(lock, files)
        version = _pin_version(lock, where, _get(lock, where, p, "version", STRING), url)
        pins.append(_need_hashes(Pin(name, version, hashes, url), lock))
    return pins, project


def lock_pins(src, name):
    """(pins, project) of the lock file `name` in src."""
    data = read_lock(os.path.join(src, name))
    if name == "uv.lock":
        return uv_pins(data, name)
    if name == "poetry.lock":
        pyproject = {}
        if os.path.isfile(os.path.join(src, PYPROJECT)):
            pyproject = read_lock(os.path.join(src, PYPROJECT))
        return poetry_pins(data, name, pyproject)
    if name == "Pipfile.lock":
        from layout import project_name
        return pipfile_pins(data, name, project_name(src))
    return pylock_pins(data, name)


# -- choosing -----------------------------------------------------------------------

def choose(src, env):
    """The lock file to install (a name in src), or None when there is none or
    requirements.txt is chosen (layout.chosen_file decides what is chosen).

    Raises LockError when $WHISKEY_LOCK_FILE names a missing or unknown file,
    or when the lock files present disagree.
    """
    from layout import REQUIREMENTS, Mismatch, chosen_file, present_locks
    try:
        chosen = chosen_file(src, env)
    except Mismatch as exc:
        raise LockError(str(exc))
    if chosen:
        return None if chosen == REQUIREMENTS else chosen
    found = present_locks(src)
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

def reusable(pin, path, built):
    """Whether the saved wheel at path installs pin exactly: same name and
    version, and either its own sha256 is in the lock, or it was built here
    from an sdist whose sha256 is in the lock (built: the manifest's)."""
    found = wheelhouse.name_version(os.path.basename(path))
    if found is None or found[0] != pin.name or not same_version(found[1], pin.version):
        return False
    return sha256_of(path) in pin.hashes or built.get(os.path.basename(path)) in pin.hashes


def plan(pins, house, manifest, lock):
    """({pin name: saved wheel path}, [pins to fetch]), saying per distribution what is
    reused and which saved wheel is not, and why.  manifest: what the previous build
    handed on (wheelhouse.restore); wheels another interpreter saved are not reused."""
    saved = []
    if manifest.get("interpreter"):
        saved = [os.path.join(house, f) for f in manifest.get("checked", [])]
    built = manifest.get("built") or {}
    reuse, fetch = {}, []
    for pin in pins:
        match = [path for path in saved if reusable(pin, path, built)]
        if match:
            reuse[pin.name] = match[0]
            log("Reused: %s (pinned by %s)" % (os.path.basename(match[0]), lock))
            continue
        fetch.append(pin)
        for path in saved:
            found = wheelhouse.name_version(os.path.basename(path))
            if found and found[0] == pin.name:
                log("Not reused: %s (%s pins %s %s%s)"
                    % (os.path.basename(path), lock, pin.name, pin.version,
                       " with other hashes" if same_version(found[1], pin.version) else ""))
    return reuse, fetch


def pip(*args, **options):
    """Run this interpreter's pip (env=: its environment); LockError naming what failed."""
    command = [sys.executable, "-m", "pip"] + list(args)
    if subprocess.call(command, env=options.get("env")) != 0:
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
        if wheelhouse.compiled_here(wheel):
            log("Compiled from source: %s" % wheel)
        wheels[pin.name] = os.path.join(out, wheel)
        built[wheel] = sha256_of(path)
    missing = [pin.name for pin in pins if pin.name not in wheels]
    if missing:
        raise LockError("pip did not download %s pinned by %s" % (", ".join(missing), lock))
    return wheels, built


def save(house, wheels, built, source):
    """Make the wheelhouse exactly these wheels (no stale versions) plus the manifest
    (built: {wheel file: sdist sha256}, this build's and the previous one's)."""
    keep = set(os.path.basename(path) for path in wheels.values())
    if not os.path.isdir(house):
        os.makedirs(house)
    for filename in os.listdir(house):
        if filename not in keep:
            path = os.path.join(house, filename)
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
    placed = []
    for path in wheels.values():
        target = os.path.join(house, os.path.basename(path))
        if os.path.abspath(path) != os.path.abspath(target):
            shutil.copyfile(path, target)
        placed.append(target)
    wheelhouse.save(house, source, None, "a lock is installed by pip every time", built)
    return sorted(placed)


def install(src, house, env, manifest):
    """Install what the lock pins, reusing the saved wheels that match (manifest: what
    the previous build handed on, wheelhouse.restore) and saving them for the next."""
    from layout import LOCK_FILES
    lock = choose(src, env)
    if lock is None:
        raise LockError("there is no lock file to install from (%s)" % ", ".join(LOCK_FILES))
    pins, project = lock_pins(src, lock)
    reuse, missing = plan(pins, house, manifest, lock)
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
        previous = dict(manifest.get("built") or {}) if manifest.get("interpreter") else {}
        previous.update(built)
        wheels = save(house, reuse, previous, wheelhouse.source(os.path.join(src, lock)))
        if project:
            log("Building the project itself (%s says it is a package)" % lock)
            out = os.path.join(work, "project")
            pip("wheel", "--no-cache-dir", "--no-deps", "--wheel-dir", out, src)
            wheels += [os.path.join(out, f) for f in sorted(os.listdir(out)) if f.endswith(".whl")]
        log("Installing %s from %s" % (packages(len(wheels)), lock))
        if wheels:
            pip("install", "--no-cache-dir", "--no-index", "--no-deps", *wheels,
                env=wheelhouse.installing_env())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    """`whiskey.py pins [SRC]`: what the lock a build would install pins, one per line (for
    looking into an image; assemble.py calls install())."""
    if not argv or argv[0] != "pins":
        sys.stderr.write("usage: whiskey.py pins [SRC]\n")
        return 2
    try:
        src = argv[1] if len(argv) > 1 else os.getcwd()
        lock = choose(src, os.environ)
        if lock is None:
            raise LockError("there is no lock file in %s" % src)
        pins, project = lock_pins(src, lock)
        for pin in sorted(pins, key=lambda p: p.name):
            print("%s==%s" % (pin.name, pin.version))
        if project:
            print("(the project itself)")
    except LockError as exc:
        say.error(str(exc))
        return 1
    return 0
