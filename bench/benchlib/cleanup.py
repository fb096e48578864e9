"""Clean-up: this run's containers and images (whiskey-bench/*, whiskey-bench:*), nothing else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .common import BENCH_REPO, log
from .containers import LABEL

if TYPE_CHECKING:
    from docker import DockerClient

    from .context import RunContext


def own(ctx: RunContext, tag: str) -> None:
    """Remember the image now tagged ``tag`` (one of ours) for the clean-up."""
    try:
        ctx.owned.add(ctx.client.images.get(tag).id)
    except Exception:  # noqa: BLE001, S110 -- an image we cannot see is one we need not remove
        pass


def is_ours(tag: str) -> bool:
    return tag.startswith((BENCH_REPO + "/", BENCH_REPO + ":"))


def remove_containers(client: DockerClient) -> None:
    """Every container carrying the benchmark's label, running or not."""
    for c in client.containers.list(all=True, filters={"label": LABEL}):
        c.remove(force=True)


def remove_images(ctx: RunContext, keep_app: bool) -> None:
    """Remove this run's own images (whiskey-bench/*, whiskey-bench:*), nothing else.

    Tags of ours are removed (an image that also carries someone else's tag
    is only untagged); then every image this run created that is left with
    no tag at all (superseded by a rebuild of one of our tags) is removed.
    """
    remove_our_tags(ctx.client, keep_app)
    remove_untagged(ctx.client, ctx.owned)


def remove_our_tags(client: DockerClient, keep_app: bool) -> None:
    for img in client.images.list():
        for t in img.tags:
            if is_ours(t) and not (keep_app and t.startswith(BENCH_REPO + "/app:")):
                try:
                    client.images.remove(t)
                except Exception as exc:  # noqa: BLE001 -- clean up what can be, say what cannot
                    log(f"could not remove {t}: {exc}")


def remove_untagged(client: DockerClient, owned: set[str]) -> None:
    """The images of ``owned`` that are left without any tag."""
    for image_id in owned:
        try:
            img = client.images.get(image_id)
        except Exception:  # noqa: BLE001, S112 -- gone already
            continue
        if not img.tags:
            try:
                client.images.remove(image_id)
            except Exception as exc:  # noqa: BLE001 -- clean up what can be, say what cannot
                log(f"could not remove {image_id[:19]}: {exc}")
