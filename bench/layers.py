#!/usr/bin/env python3
"""What the builder images on one base share, in bytes: layer by layer, from the engine.

    python3 bench/layers.py                      # every variant's whiskey:python-X.Y image
    python3 bench/layers.py whiskey:python-2.7 whiskey:python-3.11
    python3 bench/layers.py --json ...           # the figures as JSON

For each image: its size and its layers (by content digest, as the engine
stores them once).  For the set: the bytes the images would take one by one,
the bytes they take together (each layer counted once), and for each pair on
the same base the bytes they share.  Nothing is built or pulled.
"""

import argparse
import json
import sys
from typing import Any, Dict, List, Tuple


def layers(client: Any, name: str) -> List[Tuple[str, int]]:
    """[(diff id, bytes)] from the base up: RootFS layers matched to history's non-empty steps."""
    info = client.api.inspect_image(name)
    diff_ids = info["RootFS"]["Layers"]
    steps = [h for h in reversed(client.api.history(name)) if h["Size"] > 0 or
             "#(nop)" not in h.get("CreatedBy", "")]
    sizes = [h["Size"] for h in steps]
    if len(sizes) != len(diff_ids):  # an empty RUN still makes a layer; fall back to sizes in order
        sizes = [h["Size"] for h in reversed(client.api.history(name))][-len(diff_ids):]
    return list(zip(diff_ids, sizes, strict=False))  # history may be shorter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import docker
    client = docker.from_env()
    names = args.images
    if not names:
        sys.path.insert(0, __file__.rsplit("/bench/", 1)[0])
        from whiskey import matrix
        names = ["whiskey:python-%s" % v.major_minor for v in matrix.load()]
    per: Dict[str, List[Tuple[str, int]]] = {n: layers(client, n) for n in names}
    unique: Dict[str, int] = {}
    for ls in per.values():
        unique.update(dict(ls))
    out: Dict[str, Any] = {
        "images": {n: {"bytes": sum(s for _, s in ls), "layers": len(ls)} for n, ls in per.items()},
        "one_by_one": sum(sum(s for _, s in ls) for ls in per.values()),
        "together": sum(unique.values()),
        "shared": {},
    }
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = set(d for d, _ in per[a]) & set(d for d, _ in per[b])
            shared = sum(s for d, s in per[a] if d in common)
            if shared:
                out["shared"]["%s + %s" % (a, b)] = shared
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    mb = 1e6
    for n, i in out["images"].items():
        print("%-28s %7.1f MB in %d layers" % (n, i["bytes"] / mb, i["layers"]))
    print("one by one: %.1f MB; together: %.1f MB" % (out["one_by_one"] / mb, out["together"] / mb))
    for pair, shared in out["shared"].items():
        print("shared by %s: %.1f MB" % (pair, shared / mb))
    return 0


if __name__ == "__main__":
    sys.exit(main())
