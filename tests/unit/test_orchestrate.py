"""orchestrate.build_many against a fake Docker engine.

What is built, retagged, skipped or failed, and that each step (plan,
base image, source fetch, build) happens once per variant.  The engine is a
small fake written here: an images collection with get/tag and an api.build
generator yielding the chunks docker's API streams (stream, aux, error).
Source files come from a private cache in tmp_path or a local HTTP server;
nothing else is ever contacted.
"""

import dataclasses
import hashlib
import io
import json
import os
import shutil
import tarfile
from collections import Counter
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

import docker.errors
import pytest
import yaml

from whiskey import baseimage, cli, context, images, matrix, orchestrate, render, sources

REPO = "whiskey-test"

# Three variants sharing their pins, each with its own interpreter tarball.
FILES = {
    "Python-9.1.0.tgz": b"python 9.1 source\n",
    "Python-9.2.0.tgz": b"python 9.2 source\n",
    "Python-9.3.0.tgz": b"python 9.3 source\n",
    "pip-1.0-py3-none-any.whl": b"pip\n",
    "setuptools-1.0-py3-none-any.whl": b"setuptools\n",
    "wheel-1.0-py3-none-any.whl": b"wheel\n",
    "mod_wsgi-1.0.tar.gz": b"mod_wsgi\n",
}
NAMES = ["python-9.1", "python-9.2", "python-9.3"]


def _sha(name):
    return hashlib.sha256(FILES[name]).hexdigest()


def matrix_data():
    pins = {p: {"file": f, "sha256": _sha(f)} for p in matrix.PIN_NAMES
            for f in FILES if f.startswith(p + "-")}
    variants = {}
    for name in NAMES:
        python = name.split("-")[1] + ".0"
        tarball = "Python-%s.tgz" % python
        variants[name] = {
            "python": python, "base": "debian:bookworm-slim", "interpreter": "compiled",
            "pins": pins, "source": {"file": tarball, "sha256": _sha(tarball),
                                     "url": "https://upstream.invalid/" + tarball,
                                     "unsigned": "a test tarball"}}
    return {"variants": variants}


@pytest.fixture
def variants():
    return matrix.parse(matrix_data())


# -- the fake engine ----------------------------------------------------------------------

class FakeImage(object):
    def __init__(self, engine, image_id, labels, size=250e6):
        self.engine = engine
        self.id = image_id
        self.labels = labels
        self.attrs = {"Size": size}

    def tag(self, repository, tag):
        ref = "%s:%s" % (repository, tag)
        self.engine.tagged.append(ref)
        self.engine.store[ref] = self
        return True


class FakeImages(object):
    def __init__(self, engine):
        self.engine = engine

    def get(self, name):
        if name not in self.engine.store:
            raise docker.errors.ImageNotFound("No such image: %s" % name)
        return self.engine.store[name]

    def get_registry_data(self, name):
        if name not in self.engine.registry:
            raise docker.errors.APIError("500 Server Error: no route to the registry")
        return type("RegistryData", (), {"id": self.engine.registry[name]})()


class FakeAPI(object):
    def __init__(self, engine):
        self.engine = engine

    def build(self, fileobj, custom_context, tag, rm, forcerm, labels, decode, target=None):
        assert custom_context and decode
        with tarfile.open(fileobj=fileobj) as t:
            files = {m.name: t.extractfile(m).read() for m in t.getmembers()}
        if tag is None:  # a base's shared stages, untagged
            assert target == images.SHARED_TARGET
            self.engine.shared.append((files["Dockerfile"], len(self.engine.builds)))
            return self.engine.chunks("shared:" + files["Dockerfile"].decode().split(
                "FROM ", 1)[1].split()[0], labels)
        assert target == ("runtime" if "-runtime:" in tag else None), (tag, target)
        self.engine.builds.append((tag, files, dict(labels)))
        return self.engine.chunks(tag, labels)


class FakeEngine(object):
    """images.get / image.tag / api.build; `failures` maps a tag to how its build fails."""

    def __init__(self, failures=None):
        self.store = {}       # reference or id -> FakeImage
        self.registry = {}    # reference -> the manifest digest a registry has
        self.tagged = []      # every "repository:tag" tagged, in order
        self.builds = []      # (tag, {context path: bytes}, labels)
        self.shared = []      # (Dockerfile, how many variant builds came before)
        self.failures = failures or {}
        self.images = FakeImages(self)
        self.api = FakeAPI(self)

    def chunks(self, tag, labels):
        yield {"stream": "Step 1/3 : FROM debian:bookworm-slim AS build\n"}
        yield {"stream": " ---> 5d1f0a7c\n"}
        how = self.failures.get(tag)
        if how == "error chunk":
            yield {"errorDetail": {"message": "The command '/bin/sh -c make' returned a non-zero "
                                              "code: 2"},
                   "error": "The command '/bin/sh -c make' returned a non-zero code: 2"}
            return
        if how == "engine error":
            raise docker.errors.APIError("500 Server Error: no space left on device")
        yield {"stream": "Step 2/3 : RUN make\n"}
        yield {"stream": "compiling...\n"}
        yield {"stream": "Step 3/3 : CMD [\"/usr/libexec/s2i/usage\"]\n"}
        image_id = "sha256:" + hashlib.sha256(("%s %d" % (tag, len(self.builds))).encode()).hexdigest()
        self.store[image_id] = FakeImage(self, image_id, dict(labels))
        yield {"aux": {"ID": image_id}}
        yield {"stream": "Successfully built %s\n" % image_id[7:19]}

    def add_current(self, variant, tags=1, base_id=""):
        """An image of variant carrying its current inputs hash, tagged with its first tags."""
        image = FakeImage(self, "sha256:" + "c" * 64,
                          {images.LABEL_INPUTS: context.plan(variant, base_id=base_id).inputs_hash})
        for t in variant.tags[:tags]:
            self.store["%s:%s" % (REPO, t)] = image
            self.store["%s:%s" % (images.runtime_repository(REPO), t)] = image
        return image

    def built_tags(self, runtime=False):
        """The builders' tags built (or the runtime images', each built just before)."""
        return [tag for tag, _files, _labels in self.builds if ("-runtime:" in tag) == runtime]


# -- the machine around it ---------------------------------------------------------------------

class Calls(object):
    """What the spies saw."""

    def __init__(self):
        self.bases = []          # (variant base) per baseimage.ensure
        self.fetched = []        # (file) per sources.fetch
        self.rendered = []       # variant name per render.render_variant
        self.shared = 0          # context.shared_files calls


@pytest.fixture
def calls(tmp_path, monkeypatch):
    """A private source cache holding every file, no network, build logs in tmp_path, spies."""
    cache = tmp_path / "cache"
    cache.mkdir()
    for name, data in FILES.items():
        (cache / name).write_bytes(data)
    monkeypatch.setenv("WHISKEY_SOURCE_CACHE", str(cache))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
    monkeypatch.setattr(sources, "debian_mirrors", lambda: [])
    monkeypatch.setattr(orchestrate, "LOG_DIR", str(tmp_path / "build-logs"))

    def no_network(req, *args, **kwargs):
        raise URLError("no network in unit tests")
    monkeypatch.setattr(sources, "urlopen", no_network)

    seen = Calls()

    def ensure_base(client, name, log=print, pull=True):
        seen.bases.append(name)
        return "present"
    monkeypatch.setattr(baseimage, "ensure", ensure_base)

    real_fetch = sources.fetch

    def fetch(artifact, ca_bundle=None, log=print):
        seen.fetched.append(artifact.file)
        return real_fetch(artifact, ca_bundle, log)
    monkeypatch.setattr(sources, "fetch", fetch)

    # Plans read a snapshot of templates/ and root/: the expected hashes a
    # test computes stay those build_many computes, whatever else changes.
    templates, rootfs = str(tmp_path / "templates"), str(tmp_path / "root")
    shutil.copytree(render.TEMPLATES, templates)
    shutil.copytree(context.ROOTFS, rootfs, ignore=shutil.ignore_patterns("__pycache__"))
    real_render = render.render_variant

    def render_variant(variant, *args, **kwargs):
        seen.rendered.append(variant.name)
        return real_render(variant, templates)
    monkeypatch.setattr(render, "render_variant", render_variant)

    real_shared = context.shared_files

    def shared_files(*args, **kwargs):
        seen.shared += 1
        return real_shared(rootfs)
    monkeypatch.setattr(context, "shared_files", shared_files)
    return seen


def loopback_only(req, *args, **kwargs):
    url = req.full_url if hasattr(req, "full_url") else req
    if urlsplit(url).hostname != "127.0.0.1":
        raise URLError("not contacted in unit tests: %s" % url)
    return urlopen(req, *args, **kwargs)


def build(variants, engine, explicit=False, **kwargs):
    out = io.StringIO()
    outcomes = orchestrate.build_many(variants, explicit=explicit, repository=REPO,
                                      docker_client=engine, progress=orchestrate.Progress(out),
                                      **kwargs)
    return outcomes, out.getvalue()


def results(outcomes):
    return [(o.variant.name, o.result) for o in outcomes]


# -- build, then nothing to do -------------------------------------------------------------------

def test_a_first_build_builds_and_tags_every_variant(variants, calls):
    engine = FakeEngine()
    outcomes, progress = build(variants, engine)
    assert results(outcomes) == [(n, "built") for n in NAMES]
    runtime_repo = images.runtime_repository(REPO)
    assert sorted(engine.built_tags()) == ["%s:%s" % (REPO, n) for n in NAMES]
    # Each variant's runtime image (the Dockerfile's runtime stage) is built first.
    assert [t for t, _, _ in engine.builds] == [
        "%s:%s" % (repo, n) for n in NAMES for repo in (runtime_repo, REPO)]
    for v, o in zip(variants, outcomes, strict=True):
        assert set("%s:%s" % (repo, t) for t in v.tags
                   for repo in (REPO, runtime_repo)) <= set(engine.tagged)
        assert o.detail == ("tags " + ", ".join("%s:%s" % (REPO, t) for t in v.tags)
                            + " and %s:*" % runtime_repo)
        assert o.size_mb == 250.0 and o.runtime_size_mb == 250.0
        assert "[%s] built in " % v.name in progress
    for tag, files, labels in engine.builds:
        v = [v for v in variants if tag.endswith(":" + v.tags[0])][0]
        plan = context.plan(v)
        assert labels[images.LABEL_INPUTS] == plan.inputs_hash
        assert files["Dockerfile"] == plan.files["Dockerfile"][0]
        assert {"sources/" + a.file for a in v.artifacts} < set(files)
        assert files["sources/SHA256SUMS"].decode().count("\n") == len(v.artifacts)


def test_each_bases_shared_stages_are_built_once_before_its_variants(variants, calls):
    engine = FakeEngine()
    build(variants, engine, jobs=2)
    # Three variants on one base: one shared build, before any variant's.
    assert [before for _, before in engine.shared] == [0]


def test_failed_shared_stages_fail_their_bases_variants_with_the_reason(variants, calls):
    engine = FakeEngine(failures={"shared:debian:bookworm-slim": "error chunk"})
    outcomes, progress = build(variants, engine)
    assert results(outcomes) == [(n, "failed") for n in NAMES]
    assert engine.builds == []
    assert all("builder-base stage failed: The command '/bin/sh -c make'" in o.detail
               for o in outcomes)
    assert "[debian:bookworm-slim] FAILED: shared stages:" in progress


def test_a_second_run_retags_and_builds_nothing(variants, calls):
    engine = FakeEngine()
    build(variants, engine)
    builds, fetched, bases = len(engine.builds), len(calls.fetched), len(calls.bases)
    engine.tagged.clear()
    outcomes, progress = build(variants, engine)
    assert results(outcomes) == [(n, "unchanged") for n in NAMES]
    assert len(engine.builds) == builds
    assert (len(calls.fetched), len(calls.bases)) == (fetched, bases)  # nothing fetched either
    assert sorted(engine.tagged) == sorted("%s:%s" % (repo, t) for v in variants for t in v.tags
                                           for repo in (REPO, images.runtime_repository(REPO)))
    for v, o in zip(variants, outcomes, strict=True):
        assert o.detail == "inputs hash %s" % context.plan(v).inputs_hash[:12]


def test_an_unchanged_variant_is_retagged_not_built(variants, calls):
    engine = FakeEngine()
    # python-9.1's image is current, but its python-9.1.0 tag was removed;
    # python-9.2's image was built from other inputs.
    current = engine.add_current(variants[0], tags=1)
    engine.store["%s:python-9.2" % REPO] = FakeImage(engine, "sha256:" + "d" * 64,
                                                     {images.LABEL_INPUTS: "0" * 64})
    outcomes, _ = build(variants, engine)
    assert results(outcomes) == [("python-9.1", "unchanged"), ("python-9.2", "built"),
                                 ("python-9.3", "built")]
    assert engine.store["%s:python-9.1.0" % REPO] is current
    assert "%s:python-9.1" % REPO not in engine.built_tags()
    assert "Python-9.1.0.tgz" not in calls.fetched


def test_force_builds_an_unchanged_variant(variants, calls):
    engine = FakeEngine()
    engine.add_current(variants[0])
    outcomes, _ = build(variants[:1], engine, force=True)
    assert results(outcomes) == [("python-9.1", "built")]
    assert engine.built_tags() == ["%s:python-9.1" % REPO]


# -- sources ---------------------------------------------------------------------------------

def test_a_variant_without_sources_is_skipped_with_the_missing_file(variants, calls, tmp_path):
    os.remove(str(tmp_path / "cache" / "Python-9.2.0.tgz"))
    engine = FakeEngine()
    outcomes, progress = build(variants, engine)
    assert results(outcomes) == [("python-9.1", "built"), ("python-9.2", "skipped"),
                                 ("python-9.3", "built")]
    source = variants[1].source
    # One line: the file, its sha256, the cache, why no place had it, and the way out.
    assert outcomes[1].detail == sources.missing_message(
        source, "no place answered (upstream https://upstream.invalid/Python-9.2.0.tgz: "
                "no network in unit tests)")
    assert outcomes[1].detail.endswith("provide it with `./build.py sources --from DIR|URL`")
    assert "[python-9.2] skipped: Python-9.2.0.tgz (sha256 %s)" % source.sha256 in progress
    assert "%s:python-9.2" % REPO not in engine.built_tags()
    assert calls.fetched and "Python-9.2.0.tgz" not in calls.fetched  # nothing fetched for it


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_named_variant_without_sources_fails_with_the_missing_file(variants, calls, tmp_path,
                                                                     dry_run):
    os.remove(str(tmp_path / "cache" / "Python-9.2.0.tgz"))
    engine = FakeEngine()
    outcomes, _ = build(variants, engine, explicit=True, dry_run=dry_run)
    # A dry run says what the build does, in the same words.
    assert results(outcomes) == [("python-9.1", "would build" if dry_run else "built"),
                                 ("python-9.2", "would fail" if dry_run else "failed"),
                                 ("python-9.3", "would build" if dry_run else "built")]
    assert outcomes[1].detail == sources.missing_message(
        variants[1].source, "no place answered (upstream https://upstream.invalid/Python-9.2.0.tgz: "
                            "no network in unit tests)")


def test_a_corrupt_source_fails_its_variant_only(variants, calls, tmp_path):
    (tmp_path / "cache" / "Python-9.3.0.tgz").write_bytes(b"corrupt\n")
    engine = FakeEngine()
    outcomes, _ = build(variants, engine, explicit=True)
    assert results(outcomes) == [("python-9.1", "built"), ("python-9.2", "built"),
                                 ("python-9.3", "failed")]
    assert outcomes[2].detail.startswith("Python-9.3.0.tgz (sha256 %s) is not in the source cache"
                                         % variants[2].source.sha256)
    assert not (tmp_path / "cache" / "Python-9.3.0.tgz").exists()  # the bad copy is gone


def test_shared_sources_are_downloaded_once(variants, calls, tmp_path, monkeypatch, server):
    # An empty cache, and the upstream of every file on a local server.
    for name in FILES:
        os.remove(str(tmp_path / "cache" / name))
        server.serve("/files/" + name, FILES[name])
    for pin in matrix.PIN_NAMES:
        file = [f for f in FILES if f.startswith(pin + "-")][0]
        server.serve("/simple/%s/" % pin.replace("_", "-"),
                     b'<a href="/files/%s">%s</a>\n' % (file.encode(), file.encode()),
                     ctype="text/html")
    monkeypatch.setenv("PIP_INDEX_URL", server.url + "/simple/")
    monkeypatch.setattr(sources, "urlopen", loopback_only)
    variants = [dataclasses.replace(v, source=dataclasses.replace(
        v.source, url=server.url + "/files/" + v.source.file)) for v in variants]
    engine = FakeEngine()
    outcomes, _ = build(variants, engine, jobs=2)
    assert results(outcomes) == [(n, "built") for n in NAMES]
    downloads = Counter(path for method, path in server.requests
                        if method == "GET" and path.startswith("/files/"))
    assert downloads == Counter({"/files/" + name: 1 for name in FILES})


# -- each step once ----------------------------------------------------------------------------

def test_plan_once_per_variant_base_and_sources_once_per_run(variants, calls):
    engine = FakeEngine()
    engine.add_current(variants[2])
    calls.shared, calls.rendered[:] = 0, []
    outcomes, _ = build(variants, engine, jobs=2)
    assert results(outcomes) == [("python-9.1", "built"), ("python-9.2", "built"),
                                 ("python-9.3", "unchanged")]
    assert calls.shared == 1                        # root/ read once for the run
    assert Counter(calls.rendered) == Counter(NAMES)  # one plan per variant
    assert calls.bases == ["debian:bookworm-slim"]  # shared by both builds: ensured once
    # Each file the built variants need fetched (and verified) once, even where
    # both need it; none for the unchanged variant.
    assert Counter(calls.fetched) == Counter({a.file for v in variants[:2] for a in v.artifacts})


# -- failures -----------------------------------------------------------------------------------

@pytest.mark.parametrize("jobs", [1, 2])
def test_one_failing_build_does_not_hide_the_others(variants, calls, tmp_path, jobs):
    engine = FakeEngine(failures={"%s:python-9.1" % REPO: "error chunk",
                                  "%s:python-9.2" % REPO: "engine error"})
    outcomes, progress = build(variants, engine, jobs=jobs)
    assert results(outcomes) == [("python-9.1", "failed"), ("python-9.2", "failed"),
                                 ("python-9.3", "built")]
    log1 = tmp_path / "build-logs" / "python-9.1.log"
    assert outcomes[0].detail == (
        "building python-9.1 failed: The command '/bin/sh -c make' returned a non-zero code: 2 "
        "(log: %s)" % os.path.relpath(str(log1)))
    assert outcomes[1].detail.startswith("500 Server Error: no space left on device (log: ")
    assert "[python-9.1] FAILED (full log: %s)" % os.path.relpath(str(log1)) in progress
    assert "[python-9.3] built in " in progress
    assert "%s:python-9.1" % REPO not in engine.tagged
    # The full output is in the log; the terminal shows one line per step.
    log = log1.read_text()
    assert "[python-9.1] Step 1/3 : FROM debian:bookworm-slim AS build" in log
    assert "5d1f0a7c" in log and "5d1f0a7c" not in progress
    assert "[python-9.1] Step 1/3 : FROM debian:bookworm-slim AS build" in progress


def test_verbose_shows_every_line(variants, calls):
    _, progress = build(variants[:1], FakeEngine(), verbose=True)
    assert "--> 5d1f0a7c" in progress
    assert "[python-9.1] compiling..." in progress


def test_progress_goes_to_stderr(variants, calls, capsys):
    orchestrate.build_many(variants[:1], explicit=True, repository=REPO, docker_client=FakeEngine())
    out, err = capsys.readouterr()
    assert out == ""
    assert "[python-9.1] Step 2/3 : RUN make" in err
    assert "[python-9.1] built in " in err


def test_build_command_prints_the_summary_and_fails_on_a_failure(variants, calls, tmp_path,
                                                                  monkeypatch, capsys):
    path = tmp_path / "matrix.yaml"
    path.write_text(yaml.safe_dump(matrix_data()))
    engine = FakeEngine(failures={"%s:python-9.2" % REPO: "error chunk"})
    monkeypatch.setattr(images, "client", lambda: engine)
    code = cli.main(["--matrix", str(path), "build", "--repository", REPO, "-j", "2"])
    out, err = capsys.readouterr()
    assert code == 1
    table = [line.split()[:2] for line in out.splitlines()]  # the table alone, from line 1
    assert table == [["VARIANT", "RESULT"], ["python-9.1", "built"], ["python-9.2", "failed"],
                     ["python-9.3", "built"]]
    assert "[python-9.2] FAILED" in err
    engine.failures.clear()
    assert cli.main(["--matrix", str(path), "build", "--repository", REPO]) == 0
    out, _ = capsys.readouterr()
    assert [line.split()[1] for line in out.strip().splitlines()[1:]] == [
        "unchanged", "built", "unchanged"]


def test_build_dry_run_of_a_named_variant_without_sources_fails_as_the_build(
        calls, tmp_path, monkeypatch, capsys):
    path = tmp_path / "matrix.yaml"
    path.write_text(yaml.safe_dump(matrix_data()))
    os.remove(str(tmp_path / "cache" / "Python-9.2.0.tgz"))
    monkeypatch.setattr(images, "client", lambda: FakeEngine())
    argv = ["--matrix", str(path), "build", "--repository", REPO, "--json", "python-9.2"]
    assert cli.main(argv + ["--dry-run"]) == 1
    (dry,) = json.loads(capsys.readouterr().out)
    assert cli.main(argv) == 1
    (real,) = json.loads(capsys.readouterr().out)
    assert (dry["result"], real["result"]) == ("would fail", "failed")
    assert dry["detail"] == real["detail"] == sources.missing_message(
        matrix.parse(matrix_data())[1].source,
        "no place answered (upstream https://upstream.invalid/Python-9.2.0.tgz: no network in "
        "unit tests)")


# -- the summary --------------------------------------------------------------------------------

def test_summary_table(variants):
    outcomes = [orchestrate.Outcome(variants[0], "built", 61.25, 251.4, "tags a, b"),
                orchestrate.Outcome(variants[1], "skipped", detail="Python-9.2.0.tgz is missing")]
    lines = orchestrate.summary(outcomes).splitlines()
    assert [line.split()[:4] for line in lines] == [["VARIANT", "RESULT", "TIME", "SIZE"],
                                                    ["python-9.1", "built", "61.2s", "251"],
                                                    ["python-9.2", "skipped", "-", "-"]]
    assert lines[2].endswith("Python-9.2.0.tgz is missing")


def test_build_command_json_names_each_image(variants, calls, tmp_path, monkeypatch, capsys):
    path = tmp_path / "matrix.yaml"
    path.write_text(yaml.safe_dump(matrix_data()))
    engine = FakeEngine()
    monkeypatch.setattr(images, "client", lambda: engine)
    assert cli.main(["--matrix", str(path), "build", "--repository", REPO, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert [(d["variant"], d["result"]) for d in first] == [
        ("python-9.1", "built"), ("python-9.2", "built"), ("python-9.3", "built")]
    assert all(d["image_id"] for d in first)
    assert cli.main(["--matrix", str(path), "build", "--repository", REPO, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [d["result"] for d in again] == ["unchanged"] * 3
    assert [d["image_id"] for d in again] == [d["image_id"] for d in first]


# -- the base image's identity ------------------------------------------------------------------

def test_a_refreshed_base_rebuilds_its_variants_and_pull_refreshes_each_base_once(
        variants, calls, monkeypatch):
    ids = {"debian:bookworm-slim": "sha256:old"}
    monkeypatch.setattr(baseimage, "image_id", lambda client, name: ids.get(name))
    refreshed = []

    def refresh(client, name, log=print):
        refreshed.append(name)
        ids[name] = "sha256:with-security-updates"
        return "pulled"
    monkeypatch.setattr(baseimage, "refresh", refresh)
    engine = FakeEngine()
    assert {r for _, r in results(build(variants, engine)[0])} == {"built"}
    assert {r for _, r in results(build(variants, engine)[0])} == {"unchanged"}
    outcomes, _ = build(variants, engine, pull=True)
    assert refreshed == ["debian:bookworm-slim"]  # three variants, one base, one refresh
    assert {r for _, r in results(outcomes)} == {"built"}
    assert {r for _, r in results(build(variants, engine)[0])} == {"unchanged"}


def test_a_base_made_during_the_run_is_hashed_in(variants, calls, monkeypatch):
    ids = {}
    monkeypatch.setattr(baseimage, "image_id", lambda client, name: ids.get(name))

    def ensure_base(client, name, log=print, pull=True):
        ids[name] = "sha256:debootstrapped"
        return "created"
    monkeypatch.setattr(baseimage, "ensure", ensure_base)
    engine = FakeEngine()
    assert {r for _, r in results(build(variants, engine)[0])} == {"built"}
    # The next run finds the same base: nothing to rebuild.
    assert {r for _, r in results(build(variants, engine)[0])} == {"unchanged"}


def test_images_name_their_source_repository_when_it_is_known(monkeypatch):
    from whiskey import settings
    monkeypatch.delenv("WHISKEY_SOURCE_URL", raising=False)
    assert settings.source_url("https://example.invalid/team/whiskey.git") == \
        "https://example.invalid/team/whiskey"
    assert settings.source_url("git@example.invalid:team/whiskey.git") is None
    assert settings.source_url(None) is None
    monkeypatch.setenv("WHISKEY_SOURCE_URL", "https://example.invalid/fork")
    assert settings.source_url("https://example.invalid/team/whiskey") == "https://example.invalid/fork"


BASE = "debian:bookworm-slim"


@pytest.mark.parametrize("registry, first", [
    (None, "unchanged"),
    ("sha256:" + "1" * 64, "unchanged"),   # --pull: the registry has the engine's base
    ("sha256:" + "2" * 64, "would build: --pull: the registry's debian:bookworm-slim "
                           "(sha256:222222222222) is not the engine's: it would be pulled"),
    ("", "would build: --pull: debian:bookworm-slim cannot be pulled (500 Server Error: no "
         "route to the registry), so debootstrap would make it anew"),
])
def test_dry_run_says_what_the_build_would_do_and_does_nothing(variants, calls, tmp_path,
                                                               registry, first):
    engine = FakeEngine()
    engine.store[BASE] = FakeImage(engine, "sha256:" + "b" * 64, {})
    engine.store[BASE].attrs["RepoDigests"] = ["debian@sha256:" + "1" * 64]
    if registry:
        engine.registry[BASE] = registry
    engine.add_current(variants[0], tags=len(variants[0].tags), base_id=engine.store[BASE].id)
    outcomes, progress = build(variants, engine, dry_run=True, pull=registry is not None)
    assert [o.result + (": " + o.detail.split(";")[0] if o.result == "would build" else "")
            for o in outcomes[:1]] == [first]
    assert results(outcomes)[1:] == [("python-9.2", "would build"), ("python-9.3", "would build")]
    assert outcomes[1].detail.startswith("no local image; inputs hash ")
    assert ("[%s] --pull: " % BASE in progress) == first.startswith("would build")
    assert engine.builds == [] and engine.shared == [] and engine.tagged == []
    assert calls.fetched == [] and calls.bases == []
    assert not (tmp_path / "build-logs").exists()


def test_live_progress_keeps_a_status_line_per_variant_and_prints_events_whole(monkeypatch):
    import shutil as _shutil
    monkeypatch.setattr(_shutil, "get_terminal_size", lambda *a: os.terminal_size((40, 24)))
    out = io.StringIO()
    p = orchestrate.Progress(out, live=True)
    p.line("python-9.1", "Step 7/32 : RUN make -j2 and a very long line that does not fit")
    p.line("python-9.2", "Step 3/32 : RUN apt-get update")
    reason = "FAILED: building python-9.2 failed: " + "x" * 80
    p.line("python-9.2", reason)
    p.line("python-9.1", "built in 12.0s")
    text = out.getvalue()
    # Status lines: the variant, its elapsed time and its step, fitted to the width.
    assert "[python-9.1] 0m00s  Step 7/32 : RUN mak\n" in text  # 39 columns
    # Events: whole, however long; a finished variant's status line is gone.
    assert "[python-9.2] " + reason + "\n" in text
    assert text.endswith("[python-9.1] built in 12.0s\n")
    assert p.status == {}


@pytest.mark.parametrize("tty, term", [(False, "xterm"), (True, "dumb")])
def test_progress_off_a_terminal_or_on_a_dumb_one_is_plain_lines(monkeypatch, tty, term):
    monkeypatch.setenv("TERM", term)
    out = io.StringIO()
    out.isatty = lambda: tty
    p = orchestrate.Progress(out)
    p.line("python-9.1", "Step 7/32 : RUN make")
    assert out.getvalue() == "[python-9.1] Step 7/32 : RUN make\n" and not p.live


def test_dry_run_after_one_variants_bump_lists_that_variant_alone(variants, calls):
    """Nothing in an image names another variant, so a bump rebuilds one image."""
    engine = FakeEngine()
    for v in variants:
        engine.add_current(v, tags=len(v.tags))
    bumped = b"python 9.3.1 source\n"
    with open(os.path.join(os.environ["WHISKEY_SOURCE_CACHE"], "Python-9.3.1.tgz"), "wb") as f:
        f.write(bumped)
    data = matrix_data()
    data["variants"]["python-9.3"].update(python="9.3.1", source={
        "file": "Python-9.3.1.tgz", "sha256": hashlib.sha256(bumped).hexdigest(),
        "url": "https://upstream.invalid/Python-9.3.1.tgz", "unsigned": "a test tarball"})
    outcomes, _ = build(matrix.parse(data), engine, dry_run=True)
    assert results(outcomes) == [("python-9.1", "unchanged"), ("python-9.2", "unchanged"),
                                 ("python-9.3", "would build")]
