"""The previous build's install, repeated from its saved wheels alone, without pip.

When requirements.txt (and the interpreter) is unchanged, the next build needs
exactly the distributions this one installed (record() lists them for the
manifest, wheelhouse.py).  Instead of running pip on the saved wheels (pip
starting and resolving is most of such a build's time), install() unpacks them
itself.  Nothing installed by the previous build is taken: every file comes out
of a wheel and must match that wheel's RECORD (check()), only into
site-packages and bin/; console scripts, metadata and byte code are made anew,
and the application's own files (src/) never come from the previous image.
What the wheels themselves are trusted for is said in the README ("What an
incremental build trusts").

Runs on every interpreter whiskey ships (2.7, 3.3 to 3.x): standard library only.
"""

import base64
import hashlib
import os
import py_compile
import re
import shutil
import sys
import sysconfig
import tempfile
import zipfile

# A wheel's file name: name-version(-build)?-python-abi-platform.whl, nothing else.
WHEEL_FILE = re.compile(r"^[A-Za-z0-9_.]+-[A-Za-z0-9_.!+]+(-[0-9][A-Za-z0-9_.]*)?"
                         r"-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+\.whl$")
_DIST_INFO = re.compile(r"^[A-Za-z0-9_.]+-[A-Za-z0-9_.!+]+\.dist-info$")
_ENTRY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
                    r":([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
                    r"\s*(\[[^\]]*\])?$")
_SCRIPT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


class Refused(ValueError):
    pass


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def site_packages():
    return sysconfig.get_paths()["purelib"]


def distributions(site):
    return sorted(n for n in os.listdir(site) if n.endswith((".dist-info", ".egg-info")))


def mod_wsgi(site):
    """(version, identity) of the mod_wsgi distribution in site, or None; the identity
    changes when it is installed again, even at the same version."""
    for name in distributions(site):
        if name.lower().startswith("mod_wsgi-"):
            st = os.stat(os.path.join(site, name))
            version = name.rsplit(".", 1)[0].split("-")[1]
            return version, (st.st_ino, st.st_mtime)
    return None


def _b64(digest):
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# -- reading a wheel -----------------------------------------------------------------

def dist_info_of(whl):
    """The one top-level ``*.dist-info`` directory of an open wheel."""
    found = set(n.split("/")[0] for n in whl.namelist()
                if n.split("/")[0].endswith(".dist-info") and n.endswith("/RECORD"))
    if len(found) != 1:
        raise Refused("it has %d .dist-info/RECORD files, not one" % len(found))
    name = found.pop()
    if not _DIST_INFO.match(name):
        raise Refused("its metadata directory %r is not a distribution's" % name)
    return name


def _wheel_record(whl, info):
    """{member: (algorithm, urlsafe-b64 digest) or None} from the wheel's RECORD."""
    record = {}
    text = whl.read(info + "/RECORD").decode("utf-8")
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.rsplit(",", 2)
        if len(parts) != 3 or not parts[0]:
            raise Refused("its RECORD has a line that is not path,hash,size: %r" % line)
        name, hashed = parts[0].strip('"'), parts[1]
        algorithm, _, digest = hashed.partition("=")
        record[name] = (algorithm.lower(), digest) if digest else None
    return record


def _safe_member(name):
    """A member path that stays inside where it is unpacked."""
    parts = name.split("/")
    if (not name or name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts)
            or any(ord(c) < 32 for c in name)):
        raise Refused("it has a file %r that would land outside its directory" % name)
    return parts


def destination(name, info, paths):
    """Where a wheel member goes: (scheme directory, path under it)."""
    parts = _safe_member(name)
    data = info[:-len(".dist-info")] + ".data"
    if parts[0] != data:
        return paths["root"], "/".join(parts)
    if len(parts) < 3:
        raise Refused("it has a file %r directly in its .data directory" % name)
    scheme = parts[1]
    if scheme in ("purelib", "platlib", "scripts"):
        return paths[scheme], "/".join(parts[2:])
    raise Refused("it installs %s files (%s), which only pip places" % (scheme, name))


def check(whl):
    """Every member of an open wheel against its RECORD (a zip member is read
    whole, so its CRC is checked too); the wheel's dist-info name."""
    info = dist_info_of(whl)
    record = _wheel_record(whl, info)
    unsigned = (info + "/RECORD", info + "/RECORD.jws", info + "/RECORD.p7s")
    members = [m for m in whl.infolist() if not m.filename.endswith("/")]
    for member in members:
        _safe_member(member.filename)
        hashed = record.get(member.filename)
        if member.filename in unsigned:
            continue
        if hashed is None:
            raise Refused("%s is not in its RECORD with a hash" % member.filename)
        algorithm, digest = hashed
        if algorithm not in ("sha256", "sha384", "sha512"):
            raise Refused("%s is hashed with %s, which is not checked here"
                          % (member.filename, algorithm))
        h = hashlib.new(algorithm)
        try:
            with whl.open(member) as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except zipfile.BadZipfile:  # zipfile's word for a CRC mismatch
            raise Refused("%s fails its CRC check" % member.filename)
        if _b64(h.digest()) != digest:
            raise Refused("%s does not match its RECORD" % member.filename)
    listed = set(record) - set(unsigned)
    missing = listed - set(m.filename for m in members)
    if missing:
        raise Refused("its RECORD lists %s, which it does not hold" % sorted(missing)[0])
    return info


# -- record ---------------------------------------------------------------------------

def wheels_by_dist_info(wheelhouse):
    """{dist-info directory name: wheel file name} of the wheels in wheelhouse."""
    out = {}
    for name in sorted(os.listdir(wheelhouse)):
        if not name.endswith(".whl"):
            continue
        try:
            with zipfile.ZipFile(os.path.join(wheelhouse, name)) as whl:
                out[dist_info_of(whl)] = name
        except (zipfile.BadZipfile, Refused, IOError, OSError):
            continue
    return out


# A requirement that names a directory, a file or a URL (`.`, `-e .`,
# `git+https://...`, `name @ url`), or another requirements file (`-r`, `-c`):
# what it installs can change while requirements.txt stays the same, so such
# a build is never repeated from saved wheels.
_NOT_BY_NAME = re.compile(r"^\s*(-e|--editable|-r|--requirement|-c|--constraint|[./~])"
                          r"|://|\s@\s|^\s*[^#\s]*@", re.M)


def names_only_by_name(requirements):
    with open(requirements) as f:
        text = f.read()
    return _NOT_BY_NAME.search(re.sub(r"(?m)#.*$", "", text)) is None


def record(wheelhouse, before, site=None):
    """([(wheel file, asked for by name)] this build installed since before, None), or
    (None, why) when the install cannot be repeated from saved wheels alone."""
    site = site or site_packages()
    now = distributions(site)
    if not set(before) <= set(now):
        return None, "the previous build changed a distribution of the image's own"
    wheels = wheels_by_dist_info(wheelhouse)
    entries = []
    for dist in now:
        if dist in before:
            continue
        if dist not in wheels:
            return None, "the previous build installed %s without a saved wheel" % dist
        entries.append((wheels[dist], os.path.exists(os.path.join(site, dist, "REQUESTED"))))
    return entries, None


# -- install --------------------------------------------------------------------------

def _rewrite_shebang(data, executable):
    """A wheel's scripts/ file: ``#!python`` (or pythonw) becomes this interpreter."""
    first, newline, rest = data.partition(b"\n")
    match = re.match(br"^#!pythonw?(\s.*)?$", first.rstrip(b"\r"))
    if not match:
        return data
    return b"#!" + executable.encode("utf-8") + (match.group(1) or b"") + newline + rest


def _entry_points(text):
    """[(script name, module, attribute)] of console_scripts and gui_scripts."""
    out, section = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]").strip()
            continue
        if section not in ("console_scripts", "gui_scripts") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name, value = name.strip(), value.strip()
        match = _ENTRY.match(value)
        if not _SCRIPT_NAME.match(name) or not match:
            raise Refused("its entry point %r = %r is not module:attribute" % (name, value))
        out.append((name, match.group(1), match.group(2)))
    return out


SCRIPT = """#!%(executable)s
# -*- coding: utf-8 -*-
import re
import sys
from %(module)s import %(first)s
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit(%(attribute)s())
"""


def _cached(path):
    """Where the byte code of a .py file goes (PEP 3147 from 3.2 on)."""
    if sys.version_info[0] == 2:
        return path + "c"
    try:
        from importlib.util import cache_from_source  # novermin: 3.4+; 3.3 takes the except
    except ImportError:
        from imp import cache_from_source  # novermin: 3.3 only
    return cache_from_source(path)


class Plan(object):
    """The files of one installation, staged before any is put in place."""

    def __init__(self, site, bin_dir, staging):
        self.site, self.bin_dir, self.staging = site, bin_dir, staging
        self.files = []  # (staged path, final path)

    def stage(self, final, data, mode):
        staged = os.path.join(self.staging, str(len(self.files)))
        with open(staged, "wb") as f:
            f.write(data)
        os.chmod(staged, mode)
        self.files.append((staged, final))
        return final


def _stage_wheel(path, requested, plan, hashes, checked):
    """Stage one wheel's files, scripts and metadata; its dist-info name.  Every member
    is checked against the wheel's RECORD unless the wheel is `checked` already."""
    if hashes is not None and sha256_of(path) not in hashes:
        raise Refused("%s is not one of the hashes requirements.txt pins" % os.path.basename(path))
    paths = {"purelib": plan.site, "platlib": plan.site, "scripts": plan.bin_dir}
    executable = sys.executable
    written = []  # (final path, data, sha256 digest from the wheel's RECORD or None)
    try:
        whl = zipfile.ZipFile(path)
    except (zipfile.BadZipfile, IOError, OSError) as exc:
        raise Refused("%s is not a readable wheel (%s)" % (os.path.basename(path), exc))
    with whl:
        info = dist_info_of(whl) if checked else check(whl)
        recorded = _wheel_record(whl, info)
        wheel_meta = whl.read(info + "/WHEEL").decode("utf-8")
        purelib = re.search(r"(?im)^Root-Is-Purelib:\s*true\s*$", wheel_meta) is not None
        paths["root"] = paths["purelib" if purelib else "platlib"]
        skip = (info + "/RECORD", info + "/RECORD.jws", info + "/RECORD.p7s", info + "/INSTALLER",
                info + "/REQUESTED")
        for member in whl.infolist():
            if member.filename.endswith("/") or member.filename in skip:
                continue
            directory, rel = destination(member.filename, info, paths)
            data = whl.read(member)
            mode, digest = 0o644, recorded.get(member.filename)
            if directory == plan.bin_dir:
                data, mode, digest = _rewrite_shebang(data, executable), 0o755, None
            elif (member.external_attr >> 16) & 0o111:
                mode = 0o755
            if digest and digest[0] != "sha256":
                digest = None
            final = plan.stage(os.path.join(directory, *rel.split("/")), data, mode)
            written.append((final, data, digest and digest[1]))
        entry_points = info + "/entry_points.txt"
        scripts = _entry_points(whl.read(entry_points).decode("utf-8")) \
            if entry_points in whl.namelist() else []
    for name, module, attribute in scripts:
        data = (SCRIPT % {"executable": executable, "module": module,
                          "first": attribute.split(".")[0], "attribute": attribute}).encode("utf-8")
        written.append((plan.stage(os.path.join(plan.bin_dir, name), data, 0o755), data, None))
    extra = [("INSTALLER", b"pip\n")] + ([("REQUESTED", b"")] if requested else [])
    for name, data in extra:
        written.append((plan.stage(os.path.join(plan.site, info, name), data, 0o644), data, None))
    lines = []
    for final, data, digest in written:
        rel = os.path.relpath(final, plan.site).replace(os.sep, "/")
        lines.append("%s,sha256=%s,%d" % (rel, digest or _b64(hashlib.sha256(data).digest()),
                                          len(data)))
        if final.endswith(".py") and final.startswith(plan.site + os.sep):
            lines.append("%s,," % os.path.relpath(_cached(final), plan.site).replace(os.sep, "/"))
    lines.append("%s/RECORD,," % info)
    record_data = ("\n".join(lines) + "\n").encode("utf-8")
    plan.stage(os.path.join(plan.site, info, "RECORD"), record_data, 0o644)
    return info


def install(wheelhouse, entries, hashes=None, checked=(), site=None, bin_dir=None):
    """Install the wheels of entries ([(wheel file, asked for by name)]) from wheelhouse,
    and compile their byte code.  Refused (nothing changed) unless every one is there,
    sound (members of the wheels in checked were checked already) and, given a set of
    sha256 hashes (a hash-pinned requirements.txt), one of them."""
    site = site or site_packages()
    bin_dir = bin_dir or sysconfig.get_paths()["scripts"]
    installed = set(distributions(site))
    staging = tempfile.mkdtemp(prefix=".whiskey-staging-", dir=os.path.dirname(wheelhouse))
    try:
        plan = Plan(site, bin_dir, staging)
        for name, requested in entries:
            path = os.path.join(wheelhouse, name)
            if not os.path.isfile(path) or os.path.islink(path):
                raise Refused("%s was not saved" % name)
            info = _stage_wheel(path, requested, plan, hashes, name in checked)
            if info in installed:
                raise Refused("%s is installed already" % info)
        _place(plan.files)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    compile_all([final for _, final in plan.files
                 if final.endswith(".py") and final.startswith(site + os.sep)])


def compile_all(paths):
    """Byte-compile paths as pip does (a file this Python cannot compile stays source
    only), spread over one forked process per processor: most of the time an unchanged
    install takes, and it parallelises."""
    try:
        jobs = max(1, min(int(os.sysconf("SC_NPROCESSORS_ONLN")), 8, len(paths) // 200))
    except (ValueError, OSError):
        jobs = 1
    sys.stdout.flush()
    sys.stderr.flush()  # a child must not write the parent's buffered output again
    children = []
    for job in range(1, jobs):
        pid = os.fork()
        if pid == 0:
            try:
                _compile(paths[job::jobs])
            finally:
                os._exit(0)
        children.append(pid)
    _compile(paths[0::jobs])
    for pid in children:
        os.waitpid(pid, 0)


def _compile(paths):
    for path in paths:
        try:
            py_compile.compile(path, doraise=True)
        except (py_compile.PyCompileError, SyntaxError, IOError, OSError, UnicodeError):
            pass


def _place(files):
    """Rename every staged file into place, or none: what was placed is removed
    again on the first failure (so pip can install the same wheels afterwards)."""
    placed = []
    try:
        for staged, final in files:
            parent = os.path.dirname(final)
            if not os.path.isdir(parent):
                os.makedirs(parent)
            if os.path.islink(final) or os.path.isdir(final):
                raise Refused("%s is in the way" % final)
            os.rename(staged, final)
            placed.append(final)
    except (IOError, OSError, Refused):
        for final in placed:
            try:
                os.remove(final)
            except OSError:
                pass
        raise


def requirement_hashes(path):
    """The sha256 values a requirements file pins (--hash=sha256:...), or None."""
    with open(path) as f:
        found = re.findall(r"--hash[=\s]+sha256:([0-9a-fA-F]{64})", f.read())
    return set(h.lower() for h in found) or None


# What makes install() refuse the saved wheels (pip installs them instead).
REFUSALS = (IOError, OSError, ValueError, UnicodeError, zipfile.BadZipfile)
