"""The build matrix: load ``matrix.yaml``, validate it, model its variants.

Every error names the variant and the key at fault, so a maintainer who
adds an entry learns exactly what is wrong with it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Literal, Optional, Tuple

import yaml

from . import UsageError

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_PATH = os.path.join(ROOT, "matrix.yaml")

_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)\Z")
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*\Z")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_BASE = re.compile(r"[a-z0-9./-]+:[A-Za-z0-9_.-]+\Z")
# <name>-<version>[-...].whl | <name>-<version>.tar.gz|.tgz|.zip (PEP 427 /
# sdist / upstream tarball names: Python-3.5.10.tgz, openssl-1.0.2u.tar.gz)
_DIST = re.compile(r"(?P<name>[A-Za-z0-9_.]+?)-(?P<version>[0-9][^-]*?)"
                   r"(?:-[^-]+-[^-]+-[^-]+\.whl|\.tar\.(?:gz|xz|bz2)|\.tgz|\.zip)\Z")

PIN_NAMES = ("pip", "setuptools", "wheel", "mod_wsgi")
ENTRY_KEYS = {"python", "base", "interpreter", "source", "openssl", "configure", "optimize",
              "pins", "aliases"}
REQUIRED = {"python", "base", "interpreter", "pins"}
# How the interpreter gets into the image: compiled from a pinned tarball, or
# the base distribution's own python3.X packages.
INTERPRETERS = ("compiled", "distribution")
Interpreter = Literal["compiled", "distribution"]
TARBALL_KEYS = {"file", "sha256", "url", "debian", "signature", "unsigned"}
SIGNATURE_KEYS = {"file", "sha256", "url", "debian", "fingerprint", "keyring"}
KEYRING_KEYS = {"file", "sha256", "debian", "member"}
_FINGERPRINT = re.compile(r"[0-9A-F]{40}\Z")


class MatrixError(UsageError):
    """A matrix entry is wrong; the message names the file, the variant and the key."""


def shown(path: str) -> str:
    """How a message names a matrix file: matrix.yaml for the repository's, else as given."""
    return "matrix.yaml" if os.path.abspath(path) == DEFAULT_PATH else path


def in_file(path: str, exc: MatrixError) -> MatrixError:
    """exc's message, prefixed with the file it is about."""
    return MatrixError("%s: %s" % (shown(path), exc))


@dataclass(frozen=True)
class Artifact:
    """A file fetched from outside and verified by sha256 before use."""

    file: str
    sha256: str
    url: Optional[str] = None
    debian: Optional[str] = None  # the same bytes as a Debian orig tarball
    project: Optional[str] = None  # a package-index project name, for index fetches
    constraint: Optional[str] = None  # versions `./build.py update` may move the pin to
    # An upstream OpenPGP signature, checked on the host before any build; or,
    # for a tarball that has none to be had, the matrix's reason why not.
    signature: Optional["Signature"] = None
    unsigned: Optional[str] = None

    @property
    def version(self) -> str:
        """The version in the file name (pins and tarballs alike)."""
        m = _DIST.match(self.file)
        if m is None:
            raise ValueError("no version in %r" % self.file)
        return m.group("version")


@dataclass(frozen=True)
class Signature:
    """An upstream OpenPGP signature of a tarball, and the key that must have made it.

    The key comes from a file whose sha256 is pinned (a Debian source
    package's debian/upstream/signing-key.asc), and only a signature by the
    primary key ``fingerprint`` is accepted.
    """

    asc: Artifact
    fingerprint: str
    keyring: Artifact
    member: Optional[str] = None  # the key file inside keyring, when it is an archive


@dataclass(frozen=True)
class Variant:
    """One image of the matrix, with the facts derived from its entry."""

    name: str
    python: str
    base: str
    interpreter: Interpreter
    pins: Dict[str, Artifact] = field(hash=False)
    source: Optional[Artifact] = None
    openssl: Optional[Artifact] = None
    configure: Tuple[str, ...] = ()
    # (compiled) profile-guided and link-time optimisation, as official images build
    optimize: bool = True
    aliases: Tuple[str, ...] = ()
    version_info: Tuple[int, int, int] = field(init=False)

    def __post_init__(self) -> None:
        major, minor, micro = (int(p) for p in self.python.split("."))
        object.__setattr__(self, "version_info", (major, minor, micro))

    @property
    def compiled(self) -> bool:
        return self.interpreter == "compiled"

    @property
    def major_minor(self) -> str:
        return "%d.%d" % self.version_info[:2]

    @property
    def openssl_version(self) -> Optional[str]:
        """The private OpenSSL's version, or None when the distribution's is used."""
        return self.openssl.version if self.openssl else None

    @property
    def tags(self) -> List[str]:
        return ["python-%s" % self.major_minor, "python-%s" % self.python] + list(self.aliases)

    @property
    def artifacts(self) -> List[Artifact]:
        """Everything the image build needs from outside, in a stable order."""
        out = [a for a in (self.openssl, self.source) if a is not None]
        return out + [self.pins[n] for n in PIN_NAMES]

    def pin_version(self, name: str) -> str:
        return self.pins[name].version

    def __repr__(self) -> str:
        return "Variant(%r)" % self.name


def _err(variant, key, msg):
    return MatrixError("variant %r, key %r: %s" % (variant, key, msg))


def _sha(name, key, value):
    if not isinstance(value, str) or not _SHA256.match(value):
        raise _err(name, key, "sha256 must be 64 lower-case hex digits, got %r" % (value,))
    return value


def _mapping(name, key, spec, allowed, required):
    """Check spec is a mapping with only allowed keys and every required one set."""
    if not isinstance(spec, dict):
        raise _err(name, key, "must be a mapping with %s" % ", ".join(required))
    unknown = set(spec) - allowed
    if unknown:
        raise _err(name, "%s.%s" % (key, sorted(unknown)[0]), "unknown key")
    for k in required:
        if not spec.get(k):
            raise _err(name, "%s.%s" % (key, k), "missing")


def _tarball(name, key, spec):
    _mapping(name, key, spec, TARBALL_KEYS, ("file", "sha256", "url"))
    _sha(name, key + ".sha256", spec["sha256"])
    if not spec["url"].startswith("https://"):
        raise _err(name, key + ".url", "must be an https:// URL")
    if not spec["url"].endswith("/" + spec["file"]):
        raise _err(name, key + ".url", "must end with the file name %r" % spec["file"])
    if not _DIST.match(spec["file"]) or not re.search(r"\.(tar\.gz|tgz|tar\.xz)\Z", spec["file"]):
        raise _err(name, key + ".file", "%r is not a NAME-VERSION.tar.gz/.tgz/.tar.xz file name"
                   % spec["file"])
    deb = spec.get("debian")
    if deb is not None and not re.match(r"[a-z0-9.+-]+_[^_/]+\.orig\.tar\.(gz|xz|bz2)\Z", deb):
        raise _err(name, key + ".debian", "must be a Debian orig tarball name "
                   "like python2.7_2.7.18.orig.tar.gz, got %r" % (deb,))
    signature = spec.get("signature")
    unsigned = spec.get("unsigned")
    if (signature is None) == (unsigned is None):
        raise _err(name, key + ".signature", "give either signature (the upstream OpenPGP "
                   "signature and its key) or unsigned (why none can be checked)")
    if unsigned is not None and (not isinstance(unsigned, str) or not unsigned.strip()):
        raise _err(name, key + ".unsigned", "must say why no signature can be checked")
    return Artifact(spec["file"], spec["sha256"], url=spec["url"], debian=deb,
                    signature=None if signature is None else
                    _signature(name, key + ".signature", signature),
                    unsigned=unsigned)


def _signature(name, key, spec):
    _mapping(name, key, spec, SIGNATURE_KEYS, ("file", "sha256", "fingerprint", "keyring"))
    if not (spec.get("url") or spec.get("debian")):
        raise _err(name, key, "needs url or debian: where the signature comes from")
    if not _FINGERPRINT.match(str(spec["fingerprint"])):
        raise _err(name, key + ".fingerprint", "must be 40 upper-case hex digits (the primary "
                   "key's fingerprint), got %r" % (spec["fingerprint"],))
    ring = spec["keyring"]
    if not isinstance(ring, dict) or not {"file", "sha256", "debian"} <= set(ring) <= KEYRING_KEYS:
        raise _err(name, key + ".keyring", "must be {file, sha256, debian[, member]}: the "
                   "file that carries the public key")
    asc = Artifact(spec["file"], _sha(name, key + ".sha256", spec["sha256"]),
                   url=spec.get("url"), debian=spec.get("debian"))
    keyring = Artifact(ring["file"], _sha(name, key + ".keyring.sha256", ring["sha256"]),
                       debian=ring["debian"])
    return Signature(asc, spec["fingerprint"], keyring, ring.get("member"))


def _pins(name, pins):
    if not isinstance(pins, dict):
        raise _err(name, "pins", "must be a mapping of %s" % ", ".join(PIN_NAMES))
    out = {}
    for pin in PIN_NAMES:
        key = "pins." + pin
        spec = pins.get(pin)
        if not spec:
            raise _err(name, key, "missing pin")
        if not isinstance(spec, dict) or not {"file", "sha256"} <= set(spec) <= {
                "file", "sha256", "constraint"}:
            raise _err(name, key, "must be {file: ..., sha256: ...[, constraint: ...]}")
        constraint = spec.get("constraint")
        if constraint is not None:
            from packaging.specifiers import InvalidSpecifier, SpecifierSet
            try:
                SpecifierSet(str(constraint))
            except InvalidSpecifier:
                raise _err(name, key + ".constraint", "%r is not a version specifier like "
                           "'<4.8'" % (constraint,)) from None
        m = _DIST.match(str(spec["file"]))
        if not m or m.group("name").lower().replace("-", "_") != pin:
            raise _err(name, key + ".file", "%r is not a distribution file of %s"
                       % (spec["file"], pin))
        out[pin] = Artifact(spec["file"], _sha(name, key + ".sha256", spec["sha256"]),
                            project=pin, constraint=constraint)
    unknown = set(pins) - set(PIN_NAMES)
    if unknown:
        raise _err(name, "pins." + sorted(unknown)[0], "unknown pin")
    return out


def parse_variant(name, entry):
    if not isinstance(name, str) or not _NAME.match(name):
        raise MatrixError("variant name %r must be lower-case letters, "
                          "digits, dots and dashes" % (name,))
    if not isinstance(entry, dict):
        raise _err(name, "-", "entry must be a mapping")
    unknown = set(entry) - ENTRY_KEYS
    if unknown:
        raise _err(name, sorted(unknown)[0], "unknown key (known: %s)" % ", ".join(sorted(ENTRY_KEYS)))
    for key in sorted(REQUIRED - set(entry)):
        raise _err(name, key, "missing")
    python = str(entry["python"])
    if not _VERSION.match(python):
        raise _err(name, "python", "must be an exact X.Y.Z version, got %r" % python)
    base = entry["base"]
    if not isinstance(base, str) or not _BASE.match(base):
        raise _err(name, "base", "must be an image reference like debian:bookworm-slim")
    interpreter = entry["interpreter"]
    if interpreter not in INTERPRETERS:
        raise _err(name, "interpreter", "must be one of %s, got %r"
                   % (", ".join(INTERPRETERS), interpreter))
    source = openssl = None
    if interpreter == "compiled":
        if "source" not in entry:
            raise _err(name, "source", "missing (required with interpreter: compiled)")
        source = _tarball(name, "source", entry["source"])
        if "openssl" in entry:
            openssl = _tarball(name, "openssl", entry["openssl"])
    else:
        for key in ("source", "openssl", "configure", "optimize"):
            if key in entry:
                raise _err(name, key, "only allowed with interpreter: compiled")
    configure = entry.get("configure", [])
    if not isinstance(configure, list) or not all(
            isinstance(a, str) and a.startswith("--") for a in configure):
        raise _err(name, "configure", "must be a list of --options")
    optimize = entry.get("optimize", True)
    if not isinstance(optimize, bool):
        raise _err(name, "optimize", "must be true or false, got %r" % (optimize,))
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(
            isinstance(a, str) and _TAG.match(a) for a in aliases):
        raise _err(name, "aliases", "must be a list of valid tags")
    if source is not None and source.version != python:
        raise _err(name, "source.file", "%r is not the tarball of Python %s" % (source.file, python))
    if re.match(r"python-\d+\.\d+\Z", name) and name != "python-" + python.rsplit(".", 1)[0]:
        raise _err(name, "python", "%s does not belong in variant %s (tagged python-%s)"
                   % (python, name, python.rsplit(".", 1)[0]))
    return Variant(name, python, base, interpreter, _pins(name, entry["pins"]),
                   source=source, openssl=openssl, configure=tuple(configure),
                   optimize=optimize, aliases=tuple(aliases))


def parse(data, path: str = DEFAULT_PATH) -> List[Variant]:
    """The variants of a matrix file's data; a MatrixError names path, variant and key."""
    try:
        return _parse(data)
    except MatrixError as exc:
        raise in_file(path, exc) from None


def _parse(data):
    if not isinstance(data, dict) or set(data) != {"variants"}:
        raise MatrixError("the top level must hold exactly one key, 'variants'")
    entries = data["variants"]
    if not isinstance(entries, dict) or not entries:
        raise MatrixError("'variants' must be a non-empty mapping")
    variants = [parse_variant(name, entry) for name, entry in entries.items()]
    # The source cache is keyed by file name: one name, one content.
    files: Dict[str, Tuple[str, str]] = {}
    for v in variants:
        for a in v.artifacts:
            first = files.setdefault(a.file, (a.sha256, v.name))
            if first[0] != a.sha256:
                raise _err(v.name, a.file, "sha256 %s differs from variant %r's %s for the same "
                           "file name" % (a.sha256, first[1], first[0]))
    seen: Dict[str, str] = {}
    for v in variants:
        for tag in v.tags:
            if tag in seen:
                raise _err(v.name, "aliases" if tag in v.aliases else "python",
                           "tag %r is also a tag of variant %r" % (tag, seen[tag]))
            seen[tag] = v.name
    return list(variants)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that rejects a key given twice (YAML would keep the last)."""


def _construct_mapping(loader, node, deep=False):
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise MatrixError("line %d: key %r appears twice"
                              % (key_node.start_mark.line + 1, key))
        keys.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_mapping)


def load(path: str = DEFAULT_PATH) -> List[Variant]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise MatrixError("cannot read the matrix file %s: %s" % (path, exc.strerror)) from None
    except UnicodeDecodeError as exc:
        raise MatrixError("%s: not UTF-8 text (byte 0x%02x at offset %d)"
                          % (shown(path), exc.object[exc.start], exc.start)) from None
    return parse_text(text, path)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line, its place in the file's terms (never "<unicode string>")."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is not None and problem:
        return "line %d, column %d: %s" % (mark.line + 1, mark.column + 1, problem)
    return str(exc).splitlines()[0]


def parse_text(text: str, path: str = DEFAULT_PATH) -> List[Variant]:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise MatrixError("%s: not valid YAML: %s" % (shown(path), _yaml_problem(exc))) from None
    except MatrixError as exc:
        raise in_file(path, exc) from None
    return parse(data, path)


def select(variants, names):
    """The variants named (all when ``names`` is empty); unknown names are an error."""
    if not names:
        return list(variants)
    by_name = {v.name: v for v in variants}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise MatrixError("unknown variant %s (known: %s)"
                          % (", ".join(unknown), ", ".join(by_name)))
    return [by_name[n] for n in dict.fromkeys(names)]  # each once, in the order given
