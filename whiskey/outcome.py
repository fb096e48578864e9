"""What a command did to each variant, and the summary table of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Literal, Optional, Sequence, Tuple

from . import text
from .matrix import Variant

Result = Literal["built", "unchanged", "skipped", "failed", "pushed", "not built", "stale",
                 "would build", "would fail"]
FAILED: Tuple[Result, ...] = ("failed", "would fail")  # results that make a command exit 1


@dataclass
class Outcome:
    """One variant's result: built | unchanged | skipped | failed (build),
    would build | would fail (build --dry-run), pushed | not built | stale | failed (push)."""

    variant: Variant
    result: Result
    seconds: float = 0.0
    size_mb: float = 0.0
    detail: str = ""
    refs: List[str] = field(default_factory=list)
    digest: str = ""
    digests: Dict[str, str] = field(default_factory=dict)  # pushed: published name -> digest
    image_id: str = ""
    runtime_size_mb: float = 0.0
    runtime_image_id: str = ""

    def as_dict(self) -> Dict[str, object]:
        """The outcome as plain data (for --json)."""
        return {"variant": self.variant.name, "result": self.result,
                "seconds": round(self.seconds, 1), "size_mb": round(self.size_mb, 1),
                "image_id": self.image_id or None, "tags": self.variant.tags,
                "runtime_size_mb": round(self.runtime_size_mb, 1),
                "runtime_image_id": self.runtime_image_id or None,
                "refs": self.refs, "digest": self.digest or None, "digests": self.digests,
                "detail": self.detail}


def summary(outcomes: Sequence[Outcome], shown: Optional[Dict[str, str]] = None) -> str:
    """The summary table, as text; `shown` renames results for display."""
    shown = shown or {}
    rows = [("VARIANT", "RESULT", "TIME", "SIZE", "RUNTIME", "DETAIL")]
    for o in outcomes:
        rows.append((o.variant.name, shown.get(o.result, o.result),
                     "%.1fs" % o.seconds if o.seconds else "-",
                     "%.0f MB" % o.size_mb if o.size_mb else "-",
                     "%.0f MB" % o.runtime_size_mb if o.runtime_size_mb else "-", o.detail))
    return text.table(rows)
