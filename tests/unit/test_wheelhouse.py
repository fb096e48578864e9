"""root/usr/libexec/whiskey/wheelhouse.py: what one build hands to the next, checked
before it is trusted, and said per distribution in the build log."""

import base64
import hashlib
import io
import json
import tarfile
import zipfile

import pytest
import wheelhouse


def digest(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel(path, name="demo", damaged=None, method=zipfile.ZIP_DEFLATED):
    data = ("VALUE = %r\n" % ("x" * 2000)).encode()
    record = "%s/__init__.py,sha256=%s,%d\n%s-1.0.dist-info/RECORD,,\n" % (
        name, digest(data), len(data), name)
    if damaged == "unrecorded":
        record = "%s-1.0.dist-info/RECORD,,\n" % name
    elif damaged == "replaced":  # consistent zip, but not what the RECORD says
        data = b"import os; os.system('id')\n"
    with zipfile.ZipFile(str(path), "w", method) as whl:
        whl.writestr("%s/__init__.py" % name, data)
        whl.writestr("%s-1.0.dist-info/RECORD" % name, record)
    data = path.read_bytes()
    if damaged == "truncated":
        path.write_bytes(data[:100])
    elif damaged == "flipped":  # one byte of the first member flipped; the zip still opens
        i = data.index(b"PK\x03\x04") + 60
        path.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:])
    return path


def manifest(directory, **fields):
    data = {"interpreter": wheelhouse.interpreter(), "source": "requirements.txt sha256:ab",
            "installed": [["demo-1.0-py3-none-any.whl", True]], "not_repeatable": None,
            "built": {}}
    data.update(fields)
    (directory / wheelhouse.MANIFEST).write_text(json.dumps(data))


def test_sound_wheels_and_the_manifest_are_restored(tmp_path):
    saved, house = tmp_path / "saved", tmp_path / "house"
    saved.mkdir()
    wheel(saved / "demo-1.0-py3-none-any.whl")
    manifest(saved)
    (saved / "stray.txt").write_text("not a wheel")
    warnings = []
    restored = wheelhouse.restore(str(saved), str(house), warnings.append)
    assert restored["checked"] == ["demo-1.0-py3-none-any.whl"] and restored["damaged"] == []
    assert restored["installed"] == [["demo-1.0-py3-none-any.whl", True]]
    assert sorted(p.name for p in house.iterdir()) == [".manifest.json", "demo-1.0-py3-none-any.whl"]
    assert warnings == []
    assert wheelhouse.why_not_repeated(restored, "requirements.txt sha256:ab") is None
    assert wheelhouse.why_not_repeated(restored, "requirements.txt sha256:cd") == (
        "requirements.txt changed since the previous build")
    assert wheelhouse.why_not_repeated(restored, "Pipfile.lock sha256:ab") == (
        "the previous build installed from requirements.txt")


@pytest.mark.parametrize("fields, left", [
    ({"interpreter": "2.7.18 linux2 "}, {}),  # another Python's: nothing of it is taken
    ({"installed": [["../src/wsgi.py", True]]}, {"installed": None}),
    ({"installed": "demo-1.0-py3-none-any.whl"}, {"installed": None}),
    ({"built": {"x.whl": 1}}, {"built": {}}),
    ({"source": ["requirements.txt"]}, {"source": None}),
])
def test_a_manifest_that_is_not_this_pythons_or_not_well_formed_is_not_followed(
        tmp_path, fields, left):
    manifest(tmp_path, **fields)
    loaded = wheelhouse.load(str(tmp_path))
    if not left:
        assert loaded == {}
    for key, value in left.items():
        assert loaded[key] == value
    assert wheelhouse.why_not_repeated(loaded, "requirements.txt sha256:ab") is not None \
        or "built" in fields
    (tmp_path / wheelhouse.MANIFEST).write_text("{not json")
    assert wheelhouse.load(str(tmp_path)) == {}


def test_says_per_distribution_what_was_reused_downloaded_compiled_or_dropped(tmp_path):
    offered, fresh = tmp_path / "offered", tmp_path / "fresh"
    offered.mkdir()
    fresh.mkdir()
    for directory in (offered, fresh):
        wheel(directory / "same-1.0-py3-none-any.whl", "same")
    (offered / "gone-1.0-py3-none-any.whl").write_bytes(b"x")
    (offered / "crcmod-1.6-cp311-cp311-linux_x86_64.whl").write_bytes(b"x")
    (fresh / "crcmod-1.7-cp311-cp311-linux_x86_64.whl").write_bytes(b"y")
    (fresh / "new-2.0-py3-none-any.whl").write_bytes(b"y")
    said = []
    wheelhouse.says(str(offered), str(fresh), said.append)
    assert said == [
        "Compiled from source: crcmod-1.7-cp311-cp311-linux_x86_64.whl (the previous build "
        "saved crcmod-1.6-cp311-cp311-linux_x86_64.whl)",
        "Downloaded: new-2.0-py3-none-any.whl (none saved)",
        "Reused: same-1.0-py3-none-any.whl (saved by the previous build)",
        "Dropped: gone-1.0-py3-none-any.whl (no longer required)"]
    said = []  # a clean build: only what was compiled is named
    wheelhouse.says(str(tmp_path / "none"), str(fresh), said.append)
    assert said == ["Compiled from source: crcmod-1.7-cp311-cp311-linux_x86_64.whl"]


def test_damaged_wheels_are_dropped_by_name_and_the_install_is_not_repeated(tmp_path):
    saved, house = tmp_path / "saved", tmp_path / "house"
    saved.mkdir()
    wheel(saved / "good-1.0-py3-none-any.whl", "good")
    wheel(saved / "cut-1.0-cp311-cp311-linux_x86_64.whl", "cut", damaged="truncated")
    wheel(saved / "flipped-1.0-py3-none-any.whl", "flipped", damaged="flipped",
          method=zipfile.ZIP_STORED)
    wheel(saved / "inflate-1.0-py3-none-any.whl", "inflate", damaged="flipped")
    (saved / "norecord-1.0-py3-none-any.whl").write_bytes(b"")
    with zipfile.ZipFile(str(saved / "norecord-1.0-py3-none-any.whl"), "w") as whl:
        whl.writestr("norecord/__init__.py", "")
    wheel(saved / "unrecorded-1.0-py3-none-any.whl", "unrecorded", damaged="unrecorded")
    wheel(saved / "replaced-1.0-py3-none-any.whl", "replaced", damaged="replaced")
    (saved / "linked-1.0-py3-none-any.whl").symlink_to(saved / "good-1.0-py3-none-any.whl")
    manifest(saved)
    warnings = []
    restored = wheelhouse.restore(str(saved), str(house), warnings.append)
    assert restored["checked"] == ["good-1.0-py3-none-any.whl"] and len(restored["damaged"]) == 6
    assert wheelhouse.why_not_repeated(restored, "requirements.txt sha256:ab") == (
        "a saved wheel was damaged")
    assert sorted(p.name for p in house.iterdir()) == [".manifest.json", "good-1.0-py3-none-any.whl"]
    said = "\n".join(warnings)
    assert "cut-1.0-cp311-cp311-linux_x86_64.whl is damaged (it is not a readable zip file" in said
    assert "flipped-1.0-py3-none-any.whl is damaged (flipped/__init__.py fails its CRC check)" in said
    assert "inflate-1.0-py3-none-any.whl is damaged (it is not a readable zip file (" in said
    assert "norecord-1.0-py3-none-any.whl is damaged (it has 0 .dist-info/RECORD files, not one)" in said
    assert ("unrecorded-1.0-py3-none-any.whl is damaged (unrecorded/__init__.py is not in its "
            "RECORD with a hash)") in said
    assert "replaced-1.0-py3-none-any.whl is damaged (replaced/__init__.py does not match its RECORD)" in said
    assert all(w.endswith("dropped, it is fetched or built again") for w in warnings)


def test_save_artifacts_streams_the_wheels_and_the_manifest_only(tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    long = ("markupsafe-3.0.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64."
            "manylinux_2_28_x86_64.whl")
    wheel(house / long, "markupsafe")
    manifest(house)
    (house / "notes.txt").write_text("not a wheel")
    (house / "linked-1.0-py3-none-any.whl").symlink_to(house / long)
    out = io.BytesIO()
    wheelhouse.save_artifacts(str(house), out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert tar.getnames() == ["wheels/.manifest.json", "wheels/" + long]
        assert not any(m.pax_headers for m in tar.getmembers())  # GNU tar's format
    out = io.BytesIO()
    wheelhouse.save_artifacts(str(tmp_path / "none"), out)  # a clean build saved nothing
    assert tarfile.open(fileobj=io.BytesIO(out.getvalue())).getnames() == []


def test_installing_a_builds_wheels_drops_pips_binary_choices(monkeypatch):
    """PIP_NO_BINARY=lxml made the build compile lxml; the install of that wheel must
    not be refused by it (a build with it set failed: "No matching distribution")."""
    for name in wheelhouse.BINARY_CHOICES:
        monkeypatch.setenv(name, "lxml")
    monkeypatch.setenv("PIP_INDEX_URL", "https://index.example/simple")
    env = wheelhouse.installing_env()
    assert not set(wheelhouse.BINARY_CHOICES) & set(env)
    assert env["PIP_INDEX_URL"] == "https://index.example/simple"
