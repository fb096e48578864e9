"""Image sizes: every whiskey:python-* builder against its base, and the benchmark's app image."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .common import Result

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.images import Image

Builder = tuple[str, "Image", list[str]]  # (variant, image, its tags)


def layers(image: Image) -> list[str]:
    return image.attrs.get("RootFS", {}).get("Layers", [])


def whiskey_images(client: DockerClient) -> dict[str, Builder]:
    """image id -> (variant, image, its tags) of every whiskey:python-* image."""
    seen: dict[str, Builder] = {}
    for img in client.images.list(name="whiskey"):
        tags = [t for t in img.tags if t.split(":")[-1].startswith("python-")]
        if not tags:
            continue
        variant = img.labels.get("whiskey.variant") or min(tags).split(":")[-1]
        seen.setdefault(img.id, (variant, img, sorted(img.tags)))
    return seen


def compare_with_base(client: DockerClient, img: Image, base_name: str | None, row: Result) -> None:
    """Into ``row``: the base's size and how much (and how many layers) the image adds to it."""
    try:
        base = client.images.get(base_name)
        bl, il = layers(base), layers(img)
        row["base_size_mb"] = round(base.attrs["Size"] / 1e6, 1)
        row["base_is_prefix"] = il[:len(bl)] == bl
        row["added_layers"] = len(il) - len(bl)
        row["added_mb"] = round((img.attrs["Size"] - base.attrs["Size"]) / 1e6, 1)
    except Exception as exc:  # noqa: BLE001 -- base not present (or no base): the row says so
        row["error"] = str(exc)


def largest_added(client: DockerClient, img: Image, base_name: str | None, has_base: bool) -> list[Result]:
    """The biggest layers whiskey adds (docker history, newest first)."""
    hist = [h for h in img.history() if h.get("Size")]
    n_base = len(layers(client.images.get(base_name))) if base_name and has_base else 0
    added = hist[:max(0, len(hist) - n_base)]
    return [{"mb": round(h["Size"] / 1e6, 1), "created_by": h.get("CreatedBy", "")[:140]}
            for h in sorted(added, key=lambda h: -h["Size"])[:4]]


def builder_row(client: DockerClient, variant: str, img: Image, tags: list[str],
                variants_by_name: Mapping[str, Any]) -> Result:
    v = variants_by_name.get(variant)
    base_name = v.base if v else None
    row = {"variant": variant, "tags": tags, "id": img.short_id,
           "size_mb": round(img.attrs["Size"] / 1e6, 1), "base": base_name}
    compare_with_base(client, img, base_name, row)
    row["largest_added"] = largest_added(client, img, base_name, "error" not in row)
    return row


def images_report(client: DockerClient, variants_by_name: Mapping[str, Any], app_image: str | None = None,
                  app_builder: str | None = None) -> Result:
    """Size of every whiskey:python-* image and of the layers above its base."""
    by_variant = sorted(whiskey_images(client).items(), key=lambda kv: kv[1][0])
    rows = [builder_row(client, variant, img, tags, variants_by_name)
            for _id, (variant, img, tags) in by_variant]
    out: Result = {"builders": rows}
    if app_image is not None:
        app = client.images.get(app_image)
        builder = client.images.get(app_builder)
        added = round((app.attrs["Size"] - builder.attrs["Size"]) / 1e6, 1)
        out["bench_app"] = {"image": app_image, "size_mb": round(app.attrs["Size"] / 1e6, 1),
                            "added_by_assemble_mb": added}
    return out
