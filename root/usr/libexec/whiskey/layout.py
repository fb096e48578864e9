"""What an application declares, read by assemble: its Python and its layout.

``python layout.py check-python [SRC]`` compares every Python version the
application declares (.python-version, runtime.txt, requires-python in
pyproject.toml and pylock.toml, Pipfile's [requires], Poetry's python
constraint) with the image's interpreter.  A mismatch is one line naming the
file, the constraint and the image to use; exit status 1.

``python layout.py kind [SRC]`` prints how assemble installs the application,
the first that applies of: ``lock`` (pylock.toml, uv.lock, poetry.lock or
Pipfile.lock, installed by locks.py), ``requirements`` (requirements.txt),
``project`` (pyproject.toml with a [build-system] or [project] table, or
setup.py) or ``none``.  $WHISKEY_LOCK_FILE chooses a lock file (or
requirements.txt) explicitly; naming a file that is not there is an error.

Runs on every interpreter whiskey ships (Python 2.7 to 3.x): standard library
and pip's own vendored ``packaging`` only.  TOML is read with tomllib where
the interpreter has it (3.11+); before that, with the small reader below,
which understands the one-line ``key = "string"`` entries these checks need.
"""

import os
import re

import tomlfile
from tomlfile import TEXT


class Mismatch(Exception):
    pass


def read_toml(path):
    """{table: {key: value}} with dotted table names (the top level is ""): tomlfile.tables."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return tomlfile.tables(data.decode("utf-8"))
    except ValueError as exc:  # TOMLDecodeError, UnicodeDecodeError
        raise Mismatch("%s is not valid TOML: %s" % (os.path.basename(path), exc))


def _version_prefix(text):
    """'3.11' -> '==3.11.*', '3.11.4' -> '==3.11.4' (a version named alone)."""
    text = text.strip()
    if re.match(r"^[0-9]+(\.[0-9]+)?$", text):
        return "==%s.*" % text
    if re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", text):
        return "==" + text
    return None


def poetry_to_pep440(constraint):
    """Poetry's python constraint as a list of PEP 440 specifier sets (any may match)."""
    alternatives = []
    for branch in constraint.split("||"):
        specs = []
        branch = re.sub(r"([<>=!~^]=?)\s+", r"\1", branch.strip())  # ">= 3.8" is ">=3.8"
        for part in re.split(r"[,\s]+(?=[<>=!~^*0-9])", branch):
            part = part.strip().rstrip(",").strip()
            if not part or part == "*":
                continue
            caret = re.match(r"^\^\s*([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?$", part)
            tilde = re.match(r"^~(?!=)\s*([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?$", part)
            if caret:
                nums = [int(n) for n in caret.groups() if n is not None]
                first = next((i for i, n in enumerate(nums) if n), len(nums) - 1)
                upper = nums[:first + 1]
                upper[-1] += 1
                specs += [">=" + ".".join(map(str, nums)), "<" + ".".join(map(str, upper))]
            elif tilde:
                nums = [int(n) for n in tilde.groups() if n is not None]
                upper = nums[:2] if len(nums) > 1 else nums[:1]
                upper[-1] += 1
                specs += [">=" + ".".join(map(str, nums)), "<" + ".".join(map(str, upper))]
            elif re.match(r"^[0-9]", part):
                specs.append(_version_prefix(part) or "==" + part)  # "3.11": any 3.11.x
            else:
                specs.append(part)
        alternatives.append(",".join(specs))
    return alternatives


def project_name(src):
    """The name the application gives itself as a package (pyproject.toml's [project] or
    [tool.poetry] name, setup.cfg's [metadata] name, setup.py's name="..."), or None."""
    if os.path.isfile(os.path.join(src, "pyproject.toml")):
        tables = read_toml(os.path.join(src, "pyproject.toml"))
        for table in ("project", "tool.poetry"):
            name = tables.get(table, {}).get("name")
            if isinstance(name, TEXT):
                return name
    for name, pattern in (("setup.cfg", r"(?ms)^\[metadata\].*?^name\s*=\s*([\w.-]+)\s*$"),
                          ("setup.py", r"""\bname\s*=\s*["']([\w.-]+)["']""")):
        path = os.path.join(src, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                found = re.search(pattern, f.read().decode("utf-8", "replace"))
            if found:
                return found.group(1)
    return None


def declared(src):
    """[(file, constraint as written, [PEP 440 specifier sets, any of which must hold])]."""
    found = []

    def first_line(name):
        path = os.path.join(src, name)
        if not os.path.isfile(path):
            return None
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    return line
        return None

    value = first_line(".python-version")
    if value and value != "system":
        spec = _version_prefix(value[len("python"):] if value.startswith("python") else value)
        found.append((".python-version", value, [spec or "===" + value]))
    value = first_line("runtime.txt")
    if value:
        spec = _version_prefix(value[len("python-"):]) if value.startswith("python-") else None
        found.append(("runtime.txt", value, [spec or "===" + value]))
    if os.path.isfile(os.path.join(src, "pyproject.toml")):
        tables = read_toml(os.path.join(src, "pyproject.toml"))
        requires = tables.get("project", {}).get("requires-python")
        if isinstance(requires, TEXT):
            found.append(("pyproject.toml", "requires-python = '%s'" % requires, [requires]))
        poetry = tables.get("tool.poetry.dependencies", {}).get("python")
        if isinstance(poetry, TEXT):
            found.append(("pyproject.toml", "[tool.poetry.dependencies] python = '%s'" % poetry,
                          poetry_to_pep440(poetry)))
    if os.path.isfile(os.path.join(src, "pylock.toml")):
        requires = read_toml(os.path.join(src, "pylock.toml")).get("", {}).get("requires-python")
        if isinstance(requires, TEXT):
            found.append(("pylock.toml", "requires-python = '%s'" % requires, [requires]))
    if os.path.isfile(os.path.join(src, "Pipfile")):
        required = read_toml(os.path.join(src, "Pipfile")).get("requires", {})
        if isinstance(required.get("python_full_version"), TEXT):
            value = required["python_full_version"]
            found.append(("Pipfile", "python_full_version = '%s'" % value, ["==" + value]))
        elif isinstance(required.get("python_version"), TEXT):
            value = required["python_version"]
            found.append(("Pipfile", "python_version = '%s'" % value,
                          [_version_prefix(value) or "===" + value]))
    return found


def satisfies(version, alternatives):
    from pip._vendor.packaging.specifiers import InvalidSpecifier, SpecifierSet
    for spec in alternatives:
        try:
            if SpecifierSet(spec).contains(version, prereleases=True):
                return True
        except InvalidSpecifier:
            raise Mismatch("cannot read '%s' as a version constraint" % spec)
    return False


def suggested_variant(alternatives):
    """The variant name a declaration asks for, when it names one X.Y only
    (``==3.9.*``, ``~=3.9.2``, ``python-3.9``), else None.  An image knows no
    other variant (so that changing one changes no other image): it can only
    name the tag."""
    found = set()
    for spec in alternatives:
        found.update(re.findall(r"(?:===|==|~=)\s*v?([0-9]+\.[0-9]+)", spec))
    return "python-" + found.pop() if len(found) == 1 else None


def check_python(src, version, env):
    """Raise Mismatch naming the first declaration the interpreter does not satisfy."""
    for name, written, alternatives in declared(src):
        try:
            ok = satisfies(version, alternatives)
        except Mismatch as exc:
            raise Mismatch("%s: %s: %s" % (name, written, exc))
        if not ok:
            wanted = suggested_variant(alternatives)
            raise Mismatch(
                "%s declares Python %s, and this image (%s) has Python %s; %s"
                % (name, written, env.get("WHISKEY_VARIANT", "whiskey"), version,
                   "build with whiskey's %s image" % wanted if wanted
                   else "build with a whiskey image whose Python satisfies it (tags python-X.Y; "
                        "`./build.py list` names every variant)"))


# The lock files assemble installs from (locks.py), in the order they are looked for;
# a pylock.<name>.toml only when WHISKEY_LOCK_FILE names it.  Which dependency file
# a build installs is decided here alone: assemble asks kind(), locks.py choose().
LOCK_FILES = ("pylock.toml", "uv.lock", "poetry.lock", "Pipfile.lock")
REQUIREMENTS = "requirements.txt"


def is_lock_name(name):
    return name in LOCK_FILES or re.match(r"^pylock\.[^./]+\.toml$", name) is not None


def present_locks(src):
    """The lock files of LOCK_FILES that src has, in order."""
    return [name for name in LOCK_FILES if os.path.isfile(os.path.join(src, name))]


def chosen_file(src, env):
    """The file $WHISKEY_LOCK_FILE names (requirements.txt or a lock), or None when unset.

    Raises Mismatch when it names a file the source lacks, or one whiskey does not read.
    """
    chosen = env.get("WHISKEY_LOCK_FILE", "").strip()
    if not chosen:
        return None
    if not os.path.isfile(os.path.join(src, chosen)):
        raise Mismatch("WHISKEY_LOCK_FILE=%s, and there is no %s in the source" % (chosen, chosen))
    if chosen != REQUIREMENTS and not is_lock_name(chosen):
        raise Mismatch("WHISKEY_LOCK_FILE=%s is not a lock file whiskey reads (%s, "
                       "pylock.<name>.toml or %s)" % (chosen, ", ".join(LOCK_FILES), REQUIREMENTS))
    return chosen


def kind(src, env=None):
    """How assemble installs the application: lock, requirements, project or none."""
    chosen = chosen_file(src, os.environ if env is None else env)
    if chosen:
        return "requirements" if chosen == REQUIREMENTS else "lock"
    if present_locks(src):
        return "lock"
    if os.path.isfile(os.path.join(src, REQUIREMENTS)):
        return "requirements"
    if os.path.isfile(os.path.join(src, "setup.py")):
        return "project"
    if os.path.isfile(os.path.join(src, "pyproject.toml")):
        tables = read_toml(os.path.join(src, "pyproject.toml"))
        if "build-system" in tables or "project" in tables:
            return "project"
    return "none"


def unused(src, env):
    """A warning for each dependency file src has that this build does not install."""
    chosen = chosen_file(src, env)
    if chosen == REQUIREMENTS:
        return ["%s is not used: WHISKEY_LOCK_FILE chooses %s" % (lock, REQUIREMENTS)
                for lock in present_locks(src)]
    lock = chosen or next(iter(present_locks(src)), None)
    if lock and os.path.isfile(os.path.join(src, REQUIREMENTS)):
        return ["%s is not used: %s is installed (set WHISKEY_LOCK_FILE=%s to install %s "
                "instead)" % (REQUIREMENTS, lock, REQUIREMENTS, REQUIREMENTS)]
    return []
