"""The build context: what goes into it, and the inputs hash that decides
what `./build.py build` rebuilds (no Docker needed)."""

import copy
import dataclasses
import hashlib
import io
import os
import shutil
import tarfile

import pytest
import yaml

from whiskey import context, matrix, patches, render

from . import dockerfile


@pytest.fixture(scope="module")
def variants():
    return matrix.load()


@pytest.fixture
def templates(tmp_path):
    dest = str(tmp_path / "templates")
    shutil.copytree(render.TEMPLATES, dest)
    return dest


@pytest.fixture
def rootfs(tmp_path):
    """A copy of root/ to change."""
    dest = str(tmp_path / "root")
    shutil.copytree(context.ROOTFS, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def hashes(variants, **kwargs):
    return {v.name: context.plan(v, **kwargs).inputs_hash for v in variants}


def changed(before, after):
    return sorted(name for name in before if before[name] != after[name])


def everything(variants):
    return sorted(v.name for v in variants)


# -- the inputs hash ------------------------------------------------------------------------

def test_hash_is_stable(variants):
    first = hashes(variants)
    assert hashes(variants) == first
    assert all(len(h) == 64 for h in first.values())
    assert len(set(first.values())) == len(variants)
    shared = context.shared_files()
    assert hashes(variants, shared=shared) == first


def test_a_shared_root_file_changes_every_variant(variants, rootfs):
    before = hashes(variants, rootfs=rootfs)
    with open(os.path.join(rootfs, "usr", "libexec", "s2i", "run"), "a") as f:
        f.write("# one more line\n")
    assert changed(before, hashes(variants, rootfs=rootfs)) == everything(variants)


def test_a_new_root_file_is_in_every_context(variants, rootfs):
    before = hashes(variants, rootfs=rootfs)
    os.makedirs(os.path.join(rootfs, "etc"))
    with open(os.path.join(rootfs, "etc", "whiskey.conf"), "w") as f:
        f.write("x = 1\n")
    assert changed(before, hashes(variants, rootfs=rootfs)) == everything(variants)
    for v in variants:
        assert context.plan(v, rootfs=rootfs).files["root/etc/whiskey.conf"] == (b"x = 1\n", 0o644)


def test_an_executable_bit_is_an_input(variants, rootfs):
    # The mode is copied into the image: a script that lost its x bit makes
    # a different (broken) image, never a cache hit.
    before = hashes(variants, rootfs=rootfs)
    os.chmod(os.path.join(rootfs, "usr", "libexec", "s2i", "assemble"), 0o644)
    assert changed(before, hashes(variants, rootfs=rootfs)) == everything(variants)


def test_bytecode_caches_are_not_inputs(variants, rootfs):
    # Importing server.py (the unit tests do) writes a __pycache__ next to it.
    before = hashes(variants, rootfs=rootfs)
    cache = os.path.join(rootfs, "usr", "libexec", "whiskey", "__pycache__")
    os.makedirs(cache)
    with open(os.path.join(cache, "server.cpython-311.pyc"), "wb") as f:
        f.write(b"\0bytecode")
    assert hashes(variants, rootfs=rootfs) == before
    assert not [p for p in context.shared_files(rootfs) if "__pycache__" in p]


@pytest.mark.parametrize("name", [".server.py.swp", "assemble~", "run.orig", ".DS_Store"])
def test_editor_and_merge_leftovers_in_root_are_not_inputs(variants, rootfs, name):
    before = hashes(variants, rootfs=rootfs)
    with open(os.path.join(rootfs, "usr", "libexec", "s2i", name), "w") as f:
        f.write("leftover\n")
    assert hashes(variants, rootfs=rootfs) == before
    assert not [p for p in context.shared_files(rootfs) if p.endswith(name)]


def test_a_template_line_used_by_some_variants_changes_only_those(variants, templates):
    before = hashes(variants, templates=templates)
    # A comment line only variants with a private OpenSSL render, in
    # whichever template (or partial) holds it.
    marker = "# A private OpenSSL"
    (path,) = [os.path.join(top, f) for top, _dirs, files in os.walk(templates) for f in files
               if marker in open(os.path.join(top, f)).read()]
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace(marker, "# (reworded) " + marker, 1))
    with_openssl = sorted(v.name for v in variants if v.openssl)
    assert with_openssl and len(with_openssl) < len(variants)
    assert changed(before, hashes(variants, templates=templates)) == with_openssl


def test_one_matrix_entry_changes_only_that_variant():
    with open(matrix.DEFAULT_PATH) as f:
        data = yaml.safe_load(f)
    before = hashes(matrix.parse(copy.deepcopy(data)))
    data["variants"]["python-3.11"]["pins"]["wheel"] = {
        "file": "wheel-0.44.0-py3-none-any.whl", "sha256": "a" * 64}
    assert changed(before, hashes(matrix.parse(data))) == ["python-3.11"]


def test_a_pinned_sha256_is_an_input(variants):
    # Same file name, other bytes: the image must be rebuilt.
    v = [v for v in variants if v.name == "python-2.7"][0]
    other = dataclasses.replace(v, source=dataclasses.replace(v.source, sha256="b" * 64))
    assert context.plan(other).inputs_hash != context.plan(v).inputs_hash


def test_base_image_is_an_input(variants):
    v = [v for v in variants if v.name == "python-3.11"][0]
    other = dataclasses.replace(v, base="debian:bookworm-20260101-slim")
    # The rendered Dockerfile names the base too; the hash covers the name
    # even where a file does not.  (Only the name: a re-pulled tag with the
    # same name needs `build --force`.)
    files = context.plan(v).files
    assert context.inputs_hash(other, files) != context.inputs_hash(v, files)
    assert context.plan(other).inputs_hash != context.plan(v).inputs_hash


# -- what the context holds -------------------------------------------------------------------

def test_a_plan_holds_the_rendered_files_and_root(variants):
    shared = context.shared_files()
    assert shared and all(p.startswith("root/") for p in shared)
    for v in variants:
        plan = context.plan(v, shared=shared)
        assert plan.variant == v
        rendered = render.render_variant(v)
        patch = patches.mod_wsgi_patch(v)
        assert set(plan.files) == set(rendered) | set(shared) | ({patch} if patch else set())
        for name, text in rendered.items():
            assert plan.files[name] == (text.encode(), 0o644)
        assert plan.inputs_hash == context.inputs_hash(v, plan.files)


def test_a_mod_wsgi_patch_is_in_the_context_and_hash_of_its_release_only(variants, tmp_path):
    """patches/mod_wsgi-X.patch: built into (and rebuilding) the variants pinning X alone."""
    by_release = {}
    for v in variants:
        by_release.setdefault(v.pins["mod_wsgi"].file, []).append(v)
    assert len(by_release) > 1
    (tmp_path / "mod_wsgi-6.1.1.patch").write_text("--- a\n")
    for release, members in by_release.items():
        for v in members:
            found = patches.mod_wsgi_patch(v, str(tmp_path))
            assert found == ("patches/mod_wsgi-6.1.1.patch"
                             if release == "mod_wsgi-6.1.1.tar.gz" else None)
    for v in variants:  # the repository's own: one for every pinned release
        patch = patches.mod_wsgi_patch(v)
        assert patch and patch in context.plan(v).files
        assert 'whiskey.mod_wsgi.patch="%s"' % patch in render.render_variant(v)["Dockerfile"]


def test_the_s2i_scripts_are_executable_programs():
    # s2i execs assemble, run, save-artifacts and usage directly (assemble-runtime
    # in a runtime image).
    shared = context.shared_files()
    scripts = [p for p in shared if p.startswith("root/usr/libexec/s2i/")]
    assert sorted(os.path.basename(p) for p in scripts) == [
        "assemble", "assemble-runtime", "run", "save-artifacts", "usage"]
    for path in scripts:
        data, mode = shared[path]
        assert mode == 0o755, path
        assert data.startswith(b"#!"), path
    # Run through python: no x bit needed, and none recorded.
    assert shared["root/usr/libexec/whiskey/whiskey.py"][1] == 0o644


def small_sources(v, tmp_path):
    """v with every artifact replaced by a small file of known bytes: (variant, verified)."""
    verified = {}

    def fake(a):
        data = ("contents of %s\n" % a.file).encode()
        path = tmp_path / a.file
        path.write_bytes(data)
        new = dataclasses.replace(a, sha256=hashlib.sha256(data).hexdigest())
        verified[new] = str(path)
        return new

    v = dataclasses.replace(
        v, source=fake(v.source) if v.source else None,
        openssl=fake(v.openssl) if v.openssl else None,
        pins={n: fake(a) for n, a in v.pins.items()})
    return v, verified


def members(buf):
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as t:
        return {m.name: (t.extractfile(m).read(), m.mode, m.mtime) for m in t.getmembers()}


@pytest.mark.parametrize("name", ["python-3.4", "python-3.13"])
def test_the_tar_is_the_plan_plus_verified_sources(variants, tmp_path, name):
    v, verified = small_sources([v for v in variants if v.name == name][0], tmp_path)
    plan = context.plan(v)
    got = members(context.tar(plan, verified))
    expected = set(plan.files) | {"sources/" + a.file for a in v.artifacts} | {"sources/SHA256SUMS"}
    assert set(got) == expected
    for path, (data, mode) in plan.files.items():
        assert got[path][:2] == (data, mode), path
    assert {m[2] for m in got.values()} == {0}  # no timestamps: identical contexts
    assert context.tar(plan, verified).getvalue() == context.tar(plan, verified).getvalue()

    # What `sha256sum --strict -c SHA256SUMS` checks inside the build.
    sums = got["sources/SHA256SUMS"][0].decode().splitlines()
    assert [line.split("  ")[1] for line in sums] == [a.file for a in v.artifacts]
    for line in sums:
        digest, file = line.split("  ")
        assert hashlib.sha256(got["sources/" + file][0]).hexdigest() == digest, file


def test_the_dockerfile_uses_what_the_context_has_and_nothing_else(variants, tmp_path):
    for v in variants:
        small, verified = small_sources(v, tmp_path)
        plan = context.plan(small)
        names = set(members(context.tar(plan, verified)))
        text = plan.files["Dockerfile"][0].decode()
        for stage in dockerfile.stages(text):
            for src in dockerfile.copy_sources(stage):
                assert any(n == src or n.startswith(src.rstrip("/") + "/") for n in names), (
                    v.name, src)
        # Every pinned file is used by a RUN: a pin nothing installs would
        # rebuild the image for nothing.
        runs = " ".join(rest for word, rest in dockerfile.instructions(text) if word == "RUN")
        for a in v.artifacts:
            assert a.file in runs, (v.name, a.file)


def _bump_python(entry):
    old = entry["python"]
    major, minor, micro = old.split(".")
    entry["python"] = new = "%s.%s.%d" % (major, minor, int(micro) + 1)
    if "source" in entry:  # compiled: its upstream tarball too
        source = entry["source"]
        source.update(file=source["file"].replace(old, new), sha256="c" * 64,
                      url=source["url"].replace(old, new))
        source.pop("debian", None)


def _bump_pin(entry):
    entry["pins"]["mod_wsgi"] = dict(entry["pins"]["mod_wsgi"], file="mod_wsgi-9.9.9.tar.gz",
                                     sha256="d" * 64)


def _new_base(entry):
    entry["base"] = entry["base"].replace("-slim", "-20270101-slim")


@pytest.mark.parametrize("change", [_bump_python, _bump_pin, _new_base],
                         ids=["python", "mod_wsgi-pin", "base"])
@pytest.mark.parametrize("name", [v.name for v in matrix.load()])
def test_one_variants_python_pin_or_base_changes_that_variants_inputs_alone(name, change):
    """No image carries facts about other variants: a change to one variant's
    entry rebuilds and republishes that one, even where others share its base
    or its pins."""
    with open(matrix.DEFAULT_PATH) as f:
        data = yaml.safe_load(f)
    before = hashes(matrix.parse(copy.deepcopy(data)))
    change(data["variants"][name])
    assert changed(before, hashes(matrix.parse(data))) == [name]
