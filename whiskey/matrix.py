"""The build matrix: load ``matrix.yaml``, validate it, model its variants.

Every error names the variant and the key at fault, so a maintainer who
adds an entry learns exactly what is wrong with it.
"""

import os
import re

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_PATH = os.path.join(ROOT, "matrix.yaml")

_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)\Z")
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*\Z")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_BASE = re.compile(r"[a-z0-9./-]+:[A-Za-z0-9_.-]+\Z")
# <name>-<version>[-...].whl | <name>-<version>.tar.gz (PEP 427 / sdist names)
_DIST = re.compile(r"(?P<name>[A-Za-z0-9_.]+?)-(?P<version>[0-9][^-]*?)"
                   r"(?:-[^-]+-[^-]+-[^-]+\.whl|\.tar\.gz|\.zip)\Z")

PIN_NAMES = ("pip", "setuptools", "wheel", "mod_wsgi")
ENTRY_KEYS = {"python", "base", "from", "source", "openssl", "configure", "pins", "aliases"}
REQUIRED = {"python", "base", "from", "pins"}
TARBALL_KEYS = {"file", "sha256", "url", "debian"}


class MatrixError(ValueError):
    """A matrix entry is wrong; the message names the variant and the key."""


class Artifact(object):
    """A file fetched from outside and verified by sha256 before use."""

    def __init__(self, file, sha256, url=None, debian=None, project=None):
        self.file = file
        self.sha256 = sha256
        self.url = url
        self.debian = debian
        self.project = project  # a package-index project name, for index fetches

    def __repr__(self):
        return "Artifact(%r)" % self.file

    def __eq__(self, other):
        return isinstance(other, Artifact) and vars(self) == vars(other)

    def __hash__(self):
        return hash((self.file, self.sha256))


class Variant(object):
    def __init__(self, name, python, base, kind, pins, source=None, openssl=None,
                 configure=(), aliases=()):
        self.name = name
        self.python = python
        self.base = base
        self.kind = kind
        self.pins = pins
        self.source = source
        self.openssl = openssl
        self.configure = list(configure)
        self.aliases = list(aliases)

    @property
    def version_info(self):
        return tuple(int(p) for p in self.python.split("."))

    @property
    def major_minor(self):
        return "%d.%d" % self.version_info[:2]

    @property
    def tags(self):
        return ["python-%s" % self.major_minor, "python-%s" % self.python] + self.aliases

    @property
    def artifacts(self):
        """Everything the image build needs from outside, in a stable order."""
        out = [a for a in (self.openssl, self.source) if a is not None]
        return out + [self.pins[n] for n in PIN_NAMES]

    def pin_version(self, name):
        return _DIST.match(self.pins[name].file).group("version")

    def __repr__(self):
        return "Variant(%r)" % self.name


def _err(variant, key, msg):
    return MatrixError("matrix.yaml: variant %r, key %r: %s" % (variant, key, msg))


def _sha(name, key, value):
    if not isinstance(value, str) or not _SHA256.match(value):
        raise _err(name, key, "sha256 must be 64 lower-case hex digits, got %r" % (value,))
    return value


def _tarball(name, key, spec):
    if not isinstance(spec, dict):
        raise _err(name, key, "must be a mapping with file, sha256 and url")
    unknown = set(spec) - TARBALL_KEYS
    if unknown:
        raise _err(name, "%s.%s" % (key, sorted(unknown)[0]), "unknown key")
    for k in ("file", "sha256", "url"):
        if not spec.get(k):
            raise _err(name, "%s.%s" % (key, k), "missing")
    _sha(name, key + ".sha256", spec["sha256"])
    if not spec["url"].startswith("https://"):
        raise _err(name, key + ".url", "must be an https:// URL")
    if not spec["url"].endswith("/" + spec["file"]):
        raise _err(name, key + ".url", "must end with the file name %r" % spec["file"])
    deb = spec.get("debian")
    if deb is not None and not re.match(r"[a-z0-9.+-]+_[^_/]+\.orig\.tar\.(gz|xz|bz2)\Z", deb):
        raise _err(name, key + ".debian", "must be a Debian orig tarball name "
                   "like python2.7_2.7.18.orig.tar.gz, got %r" % (deb,))
    return Artifact(spec["file"], spec["sha256"], url=spec["url"], debian=deb)


def _pins(name, pins):
    if not isinstance(pins, dict):
        raise _err(name, "pins", "must be a mapping of %s" % ", ".join(PIN_NAMES))
    out = {}
    for pin in PIN_NAMES:
        key = "pins." + pin
        spec = pins.get(pin)
        if not spec:
            raise _err(name, key, "missing pin")
        if not isinstance(spec, dict) or set(spec) != {"file", "sha256"}:
            raise _err(name, key, "must be {file: ..., sha256: ...}")
        m = _DIST.match(str(spec["file"]))
        if not m or m.group("name").lower().replace("-", "_") != pin:
            raise _err(name, key + ".file", "%r is not a distribution file of %s"
                       % (spec["file"], pin))
        out[pin] = Artifact(spec["file"], _sha(name, key + ".sha256", spec["sha256"]),
                            project=pin)
    unknown = set(pins) - set(PIN_NAMES)
    if unknown:
        raise _err(name, "pins." + sorted(unknown)[0], "unknown pin")
    return out


def parse_variant(name, entry):
    if not isinstance(name, str) or not _NAME.match(name):
        raise MatrixError("matrix.yaml: variant name %r must be lower-case letters, "
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
    kind = entry["from"]
    if kind not in ("source", "debian"):
        raise _err(name, "from", "must be 'source' or 'debian', got %r" % (kind,))
    source = openssl = None
    if kind == "source":
        if "source" not in entry:
            raise _err(name, "source", "missing (required with from: source)")
        source = _tarball(name, "source", entry["source"])
        if "openssl" in entry:
            openssl = _tarball(name, "openssl", entry["openssl"])
    else:
        for key in ("source", "openssl", "configure"):
            if key in entry:
                raise _err(name, key, "only allowed with from: source")
    configure = entry.get("configure", [])
    if not isinstance(configure, list) or not all(
            isinstance(a, str) and a.startswith("--") for a in configure):
        raise _err(name, "configure", "must be a list of --options")
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(
            isinstance(a, str) and _TAG.match(a) for a in aliases):
        raise _err(name, "aliases", "must be a list of valid tags")
    return Variant(name, python, base, kind, _pins(name, entry["pins"]),
                   source=source, openssl=openssl, configure=configure, aliases=aliases)


def parse(data):
    if not isinstance(data, dict) or set(data) != {"variants"}:
        raise MatrixError("matrix.yaml: the top level must hold exactly one key, 'variants'")
    entries = data["variants"]
    if not isinstance(entries, dict) or not entries:
        raise MatrixError("matrix.yaml: 'variants' must be a non-empty mapping")
    variants = [parse_variant(name, entry) for name, entry in entries.items()]
    seen = {}
    for v in variants:
        for tag in v.tags:
            if tag in seen:
                raise _err(v.name, "aliases" if tag in v.aliases else "python",
                           "tag %r is also a tag of variant %r" % (tag, seen[tag]))
            seen[tag] = v.name
    return variants


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that rejects a key given twice (YAML would keep the last)."""


def _construct_mapping(loader, node, deep=False):
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise MatrixError("matrix.yaml line %d: key %r appears twice"
                              % (key_node.start_mark.line + 1, key))
        keys.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_mapping)


def load(path=DEFAULT_PATH):
    with open(path) as f:
        try:
            data = yaml.load(f, Loader=_UniqueKeyLoader)
        except yaml.YAMLError as exc:
            raise MatrixError("%s is not valid YAML: %s" % (path, exc))
    return parse(data)


def select(variants, names):
    """The variants named (all when ``names`` is empty); unknown names are an error."""
    if not names:
        return list(variants)
    by_name = {v.name: v for v in variants}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise MatrixError("unknown variant %s (known: %s)"
                          % (", ".join(unknown), ", ".join(by_name)))
    return [by_name[n] for n in names]
