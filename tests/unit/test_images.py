"""The inputs hash decides what `./build.py build` rebuilds (no Docker needed)."""

import copy
import os
import shutil
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from whiskey import images, matrix, render  # noqa: E402


@pytest.fixture
def variants():
    return matrix.load()


@pytest.fixture
def templates(tmp_path):
    dest = str(tmp_path / "templates")
    shutil.copytree(render.TEMPLATES, dest)
    return dest


def hashes(variants, templates=render.TEMPLATES):
    return {v.name: images.inputs_hash(v, templates) for v in variants}


def changed(before, after):
    return sorted(name for name in before if before[name] != after[name])


def test_hash_is_stable(variants):
    assert hashes(variants) == hashes(variants)
    assert all(len(h) == 64 for h in hashes(variants).values())


def test_a_shared_template_line_changes_every_variant(variants, templates):
    before = hashes(variants, templates)
    with open(os.path.join(templates, "s2i", "run.j2"), "a") as f:
        f.write("# one more line\n")
    assert changed(before, hashes(variants, templates)) == sorted(v.name for v in variants)


def test_a_template_line_used_by_some_variants_changes_only_those(variants, templates):
    before = hashes(variants, templates)
    path = os.path.join(templates, "Dockerfile.j2")
    with open(path) as f:
        text = f.read()
    marker = "# A private OpenSSL"
    assert marker in text
    with open(path, "w") as f:
        f.write(text.replace(marker, "# (reworded) " + marker, 1))
    with_openssl = sorted(v.name for v in variants if v.openssl)
    assert with_openssl  # the matrix has some
    assert changed(before, hashes(variants, templates)) == with_openssl


def test_one_matrix_entry_changes_only_that_variant(variants):
    with open(matrix.DEFAULT_PATH) as f:
        data = yaml.safe_load(f)
    before = hashes(matrix.parse(copy.deepcopy(data)))
    data["variants"]["python-3.11"]["pins"]["wheel"] = {
        "file": "wheel-0.44.0-py3-none-any.whl", "sha256": "a" * 64}
    assert changed(before, hashes(matrix.parse(data))) == ["python-3.11"]


def test_base_image_is_an_input(variants):
    v = [v for v in variants if v.name == "python-3.11"][0]
    before = images.inputs_hash(v)
    v.base = "debian:bookworm-20260101-slim"
    assert images.inputs_hash(v) != before
