"""TOML as the image's programs read it: one home for both of their needs.

- ``loads``, for lock files, which need all of TOML: tomllib where Python has it
  (3.11+), else the parser the image's own pip vendors (tomli, toml or pytoml,
  by pip's age).
- ``tables``, for declarations (pyproject.toml, Pipfile, pylock.toml's
  requires-python), which need string values only: tomllib, else a line
  reader of one-line string entries.  The old pips' parsers reject TOML that
  current tools write, and a build must not fail on a table it never reads.
"""

import re

try:
    import tomllib  # novermin: 3.11+; the readers below serve the others
except ImportError:
    tomllib = None

TEXT = (str, type(u""))  # unicode is str on Python 3; TOML values are unicode on 2
VENDORED = ("pip._vendor.tomli", "pip._vendor.toml", "pip._vendor.pytoml")


class NoParser(Exception):
    pass


def parser():
    """The best TOML parser this interpreter has (a module with loads); NoParser if none."""
    if tomllib is not None:
        return tomllib
    for name in VENDORED:
        try:
            return __import__(name, fromlist=["loads"])
        except ImportError:
            continue
    raise NoParser("no TOML parser in this image (tomllib or pip's vendored one)")


def loads(text):
    """A dict from TOML text; each parser raises its own error for bad text."""
    return parser().loads(text)


def _lines(text):
    """{table: {key: string}} from the one-line string entries of TOML text."""
    tables = {"": {}}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = re.match(r"^\[\[?\s*([^\[\]]+?)\s*\]\]?$", line)  # [table] or [[array]]
        if header:
            current = ".".join(part.strip().strip('"') for part in header.group(1).split("."))
            tables.setdefault(current, {})
            continue
        entry = re.match(r"""^([A-Za-z0-9_.-]+|"[^"]+")\s*=\s*("([^"\\]*)"|'([^']*)')\s*(#.*)?$""",
                         line)
        if entry:
            key = entry.group(1).strip('"')
            value = entry.group(3) if entry.group(3) is not None else entry.group(4)
            tables.setdefault(current, {})[key] = value
    return tables


def tables(text):
    """{table: {key: value}} with dotted table names (the top level is "").

    Raises ValueError for text that tomllib rejects."""
    if tomllib is None:
        return _lines(text)
    found = {}

    def walk(prefix, node):
        found[prefix] = node
        for key, value in node.items():
            if isinstance(value, dict):
                walk(prefix + "." + key if prefix else key, value)
    walk("", tomllib.loads(text))
    return found
