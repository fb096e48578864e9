"""`./build.py outdated`: which published variants need a new build, and why.

A scheduled CI run publishes only what this finds outdated (README, "Tags").
A variant's published builder image (REGISTRY/whiskey:python-X.Y.Z) is
outdated when

- the registry does not have it;
- its base tag names another image now than the one it was built on (its
  org.opencontainers.image.base.digest label against the registry's digest
  of the base, else the engine's: see baseimage.digest);
- it was built from other inputs than this checkout's (whiskey.inputs-hash);
- or apt, run in a throwaway container of it, finds a newer version of one
  of its Debian packages in its suite (Apache's included: they are in
  dpkg's database).

The runtime image is built with the builder from the same inputs and holds a
subset of its Debian packages, so the builder speaks for both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import baseimage, context, images, publish, text
from .matrix import Variant

# Simulated: nothing is installed, and the lists apt fetches die with the container.
APT_CHECK = "apt-get update -qq >/dev/null && apt-get --simulate -q dist-upgrade"

# `Inst libssl3 [3.0.15-1~deb12u1] (3.0.17-1~deb12u2 Debian-Security:12/stable-security [amd64])`;
# a package that is new (a dependency of an upgrade) has no [installed version].
_INST = re.compile(r"^Inst (\S+) \[([^\]]+)\] \((\S+)", re.M)


@dataclass
class Verdict:
    variant: Variant
    reference: str
    reasons: List[str] = field(default_factory=list)  # empty: current
    upgrades: List[Tuple[str, str, str]] = field(default_factory=list)  # (package, old, new)

    def as_dict(self) -> Dict[str, object]:
        return {"variant": self.variant.name, "image": self.reference,
                "outdated": bool(self.reasons), "reasons": self.reasons,
                "upgrades": [{"package": p, "installed": old, "newer": new}
                             for p, old, new in self.upgrades]}


def upgrades(simulated: str) -> List[Tuple[str, str, str]]:
    """(package, installed version, newer version) from `apt-get --simulate` output."""
    return _INST.findall(simulated)


def current_base(client: Any, base: str, log: images.Log = text.log) -> str:
    """Pull the base's tag anew where a registry has it; the digest it names now
    (baseimage.digest: made here, the engine's image is the current one)."""
    import docker.errors
    try:
        client.images.pull(base)
    except docker.errors.APIError as exc:
        log("cannot pull %s (%s): comparing with the engine's" % (base, publish.first_line(exc)))
    return baseimage.digest(client, base)


def _apt_upgrades(client: Any, image: Any) -> List[Tuple[str, str, str]]:
    import docker.errors
    try:
        out = client.containers.run(image.id, ["sh", "-c", APT_CHECK], user="0", remove=True,
                                    stderr=True)
    except docker.errors.ContainerError as exc:
        said = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise images.BuildError("apt in %s failed (exit %s): %s" % (
            image.short_id, exc.exit_status, said[-1] if said else "no output")) from None
    return upgrades(out.decode("utf-8", "replace"))


def check(client: Any, variant: Variant, registry: str, base_digest: str, inputs_hash: str,
          log: images.Log = text.log) -> Verdict:
    """Pull the variant's published builder and say whether, and why, it is outdated.

    Raises images.BuildError when the question cannot be answered (apt fails)."""
    import docker.errors
    reference = publish.target(registry, variant.tags[1])
    verdict = Verdict(variant, reference)
    repo, tag = reference.rsplit(":", 1)
    log("[%s] pulling %s" % (variant.name, reference))
    try:
        image = client.images.pull(repo, tag=tag)
    except docker.errors.APIError as exc:
        verdict.reasons.append("not published (%s)" % publish.first_line(exc))
        return verdict
    labels = image.labels or {}
    built_on = labels.get(images.LABEL_BASE_DIGEST, "")
    if built_on != base_digest:
        verdict.reasons.append("%s is %s now, built on %s" % (
            variant.base, base_digest[:19] or "unknown", built_on[:19] or "an unrecorded base"))
    elif labels.get(images.LABEL_INPUTS) != inputs_hash:  # the base's id is in the hash
        verdict.reasons.append("built from other inputs than this checkout's")
    newer = verdict.upgrades = _apt_upgrades(client, image)
    if newer:
        shown = ", ".join("%s %s -> %s" % u for u in newer[:5])
        verdict.reasons.append("%d Debian package%s with a newer version: %s%s" % (
            len(newer), "" if len(newer) == 1 else "s", shown, ", ..." if len(newer) > 5 else ""))
    return verdict


def check_all(variants: Sequence[Variant], registry: str, docker_client: Any = None,
              log: images.Log = text.log,
              base_digests: Optional[Dict[str, str]] = None) -> List[Verdict]:
    """A Verdict per variant, in the order given.  `base_digests` ({base: digest})
    overrides what the bases' tags name now (tests)."""
    registry = publish.parse_registry(registry)
    client = docker_client or images.client()
    digests = dict(base_digests or {})
    out = []
    for v in variants:
        if v.base not in digests:
            digests[v.base] = current_base(client, v.base, log)
        plan = context.plan(v, base_id=baseimage.image_id(client, v.base) or "")
        out.append(check(client, v, registry, digests[v.base], plan.inputs_hash, log))
    return out


def summary(verdicts: Sequence[Verdict]) -> str:
    rows = [("VARIANT", "STATE", "WHY")]
    for v in verdicts:
        rows.append((v.variant.name, "outdated" if v.reasons else "current",
                     "; ".join(v.reasons) or "-"))
    return text.table(rows)
