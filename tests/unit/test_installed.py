"""root/usr/libexec/whiskey/installed.py: what a build installed, handed on whole and
checked against each distribution's RECORD before the next build takes it."""

import base64
import hashlib
import os

import installed
import pytest

STAMP = "Python 3.11.2 abc  -"


def digest(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def install(app_root, name, files, scripts=()):
    """A wheel-installed distribution: files under site-packages, scripts in bin/,
    and a RECORD with their hashes (its own line without one, as pip writes it)."""
    site = app_root / "lib" / "python3.11" / "site-packages"
    info = site / ("%s-1.0.dist-info" % name)
    info.mkdir(parents=True, exist_ok=True)
    lines = []
    for rel, data in list(files.items()) + [("../../../bin/" + s, b"#!python\n") for s in scripts]:
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        lines.append("%s,sha256=%s,%d" % (rel, digest(data), len(data)))
    (info / "METADATA").write_text("Name: %s\n" % name)
    lines.append("%s-1.0.dist-info/METADATA,sha256=%s,%d" % (
        name, digest((info / "METADATA").read_bytes()), len((info / "METADATA").read_bytes())))
    lines.append("%s-1.0.dist-info/RECORD,," % name)
    (info / "RECORD").write_text("\n".join(lines) + "\n")
    return site


@pytest.fixture
def app_root(tmp_path, monkeypatch):
    root = tmp_path / "app-root"
    site = root / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (root / "bin").mkdir()
    monkeypatch.setattr(installed, "site_packages", lambda: str(site))
    return root


def test_record_lists_what_this_build_installed_with_the_stamp_first(app_root):
    install(app_root, "pip", {"pip/__init__.py": b""})
    before = installed.distributions(installed.site_packages())
    install(app_root, "demo", {"demo/__init__.py": b"x = 1\n"}, scripts=["demo"])
    lines = installed.record(str(app_root), before, STAMP)
    assert lines[0] == "# stamp " + STAMP
    assert sorted(lines[1:]) == sorted([
        "lib/python3.11/site-packages/demo/__init__.py", "bin/demo",
        "lib/python3.11/site-packages/demo-1.0.dist-info/METADATA",
        "lib/python3.11/site-packages/demo-1.0.dist-info/RECORD"])


def test_nothing_is_recorded_when_one_of_the_images_own_went_away(app_root):
    site = install(app_root, "setuptools", {"setuptools/__init__.py": b""})
    before = installed.distributions(str(site))
    os.rename(str(site / "setuptools-1.0.dist-info"), str(site / "setuptools-2.0.dist-info"))
    assert installed.record(str(app_root), before, STAMP) is None


def saved_build(tmp_path, app_root):
    """(saved tree as save-artifacts hands it on, manifest path) of a build of demo."""
    before = installed.distributions(installed.site_packages())
    install(app_root, "demo", {"demo/__init__.py": b"x = 1\n"}, scripts=["demo"])
    lines = installed.record(str(app_root), before, STAMP)
    saved = tmp_path / "artifacts"
    for rel in lines[1:]:
        (saved / rel).parent.mkdir(parents=True, exist_ok=True)
        os.rename(str(app_root / rel), str(saved / rel))
    manifest = tmp_path / "manifest"
    manifest.write_text("\n".join(lines) + "\n")
    return saved, manifest


def test_adopt_puts_every_file_in_place(tmp_path, app_root):
    saved, manifest = saved_build(tmp_path, app_root)
    assert installed.adopt(str(saved), str(app_root), str(manifest), STAMP) == 1
    site = app_root / "lib" / "python3.11" / "site-packages"
    assert (site / "demo" / "__init__.py").read_bytes() == b"x = 1\n"
    assert (app_root / "bin" / "demo").exists()


@pytest.mark.parametrize("spoil, reason", [
    (lambda saved: (saved / "lib/python3.11/site-packages/demo/__init__.py").write_bytes(b"x = 2\n"),
     "lib/python3.11/site-packages/demo/__init__.py does not match its RECORD"),
    (lambda saved: (saved / "bin/demo").unlink(), "bin/demo was not saved"),
])
def test_adopt_changes_nothing_when_a_file_is_damaged_or_missing(tmp_path, app_root, spoil, reason):
    saved, manifest = saved_build(tmp_path, app_root)
    spoil(saved)
    with pytest.raises(ValueError) as exc:
        installed.adopt(str(saved), str(app_root), str(manifest), STAMP)
    assert reason in str(exc.value)
    assert not (app_root / "lib/python3.11/site-packages/demo/__init__.py").exists()


def test_adopt_refuses_another_stamp(tmp_path, app_root):
    saved, manifest = saved_build(tmp_path, app_root)
    with pytest.raises(ValueError) as exc:
        installed.adopt(str(saved), str(app_root), str(manifest), "Python 3.11.2 other  -")
    assert "another requirements.txt or Python" in str(exc.value)


def test_adopt_copies_when_the_saved_tree_cannot_be_moved_and_undoes_nothing_twice(
        tmp_path, app_root, monkeypatch):
    saved, manifest = saved_build(tmp_path, app_root)
    real_rename, calls = os.rename, []

    def rename(src, dst):  # the second move fails, as in a tree owned by another user
        calls.append(src)
        if len(calls) == 2:
            raise OSError(13, "Permission denied")
        real_rename(src, dst)
    monkeypatch.setattr(installed.os, "rename", rename)
    assert installed.adopt(str(saved), str(app_root), str(manifest), STAMP) == 1
    assert (app_root / "bin" / "demo").exists()
    # The first move was put back before copying, so the saved tree is whole again.
    assert (saved / "bin" / "demo").exists()


def test_main_says_why_in_one_line_and_exits_1(tmp_path, app_root, capsys):
    saved, manifest = saved_build(tmp_path, app_root)
    (saved / "bin/demo").unlink()
    assert installed.main(["adopt", str(saved), str(app_root), str(manifest), STAMP]) == 1
    err = capsys.readouterr().err
    assert err == ("whiskey: the installed distributions of the previous build are not reused: "
                   "bin/demo was not saved\n")


def test_a_record_written_on_python_2_is_checked_too(tmp_path, app_root):
    """Wheels built on Python 2 write SHA256= (and CRLF line ends) where pip writes sha256=."""
    saved, manifest = saved_build(tmp_path, app_root)
    record = saved / "lib/python3.11/site-packages/demo-1.0.dist-info/RECORD"
    record.write_bytes(record.read_bytes().replace(b"sha256=", b"SHA256=").replace(b"\n", b"\r\n"))
    (saved / "lib/python3.11/site-packages/demo/__init__.py").write_bytes(b"x = 2\n")
    with pytest.raises(ValueError) as exc:
        installed.adopt(str(saved), str(app_root), str(manifest), STAMP)
    assert "demo/__init__.py does not match its RECORD" in str(exc.value)


def test_an_unknown_hash_algorithm_is_not_trusted(tmp_path, app_root):
    saved, manifest = saved_build(tmp_path, app_root)
    record = saved / "lib/python3.11/site-packages/demo-1.0.dist-info/RECORD"
    record.write_text(record.read_text().replace("sha256=", "md5=", 1))
    with pytest.raises(ValueError) as exc:
        installed.adopt(str(saved), str(app_root), str(manifest), STAMP)
    assert "which is not checked here" in str(exc.value)
