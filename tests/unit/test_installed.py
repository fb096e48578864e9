"""root/usr/libexec/whiskey/installed.py: what a build installed, installed again
by the next incremental build from the saved wheels alone, every file checked."""

import base64
import hashlib
import os
import sys
import zipfile

import installed
import pytest

INIT = b"VALUE = 1\n"


def digest(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(house, name="demo", files=None, extra=None, tamper=None, purelib=True):
    """A wheel in house with a RECORD of its files (extra: members left out of it;
    tamper: members written with other bytes than the RECORD says)."""
    info = "%s-1.0.dist-info" % name
    files = dict(files if files is not None else {"%s/__init__.py" % name: INIT})
    files.setdefault(info + "/METADATA", b"Name: %s\nVersion: 1.0\n" % name.encode())
    files.setdefault(info + "/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: %s\n"
                     % (b"true" if purelib else b"false"))
    lines = ["%s,sha256=%s,%d" % (n, digest(d), len(d)) for n, d in sorted(files.items())]
    path = house / ("%s-1.0-py3-none-any.whl" % name)
    with zipfile.ZipFile(str(path), "w", zipfile.ZIP_DEFLATED) as whl:
        for n, d in sorted(list(files.items()) + list((extra or {}).items())):
            whl.writestr(n, (tamper or {}).get(n, d))
        whl.writestr(info + "/RECORD", "\n".join(lines + [info + "/RECORD,,"]) + "\n")
    return path


@pytest.fixture
def root(tmp_path, monkeypatch):
    """(site-packages, bin, wheelhouse) of an app root; this Python's sysconfig points there."""
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    bin_dir, house = tmp_path / "bin", tmp_path / "var" / "wheels"
    for d in (site, bin_dir, house):
        d.mkdir(parents=True)
    paths = {"purelib": str(site), "platlib": str(site), "scripts": str(bin_dir)}
    monkeypatch.setattr(installed.sysconfig, "get_paths", lambda: paths)
    return site, bin_dir, house


def installed_files(tmp_path):
    return sorted(os.path.relpath(os.path.join(top, f), str(tmp_path)).replace(os.sep, "/")
                  for top, _, names in os.walk(str(tmp_path)) for f in names
                  if "/var/" not in os.path.join(top, f) and "__pycache__" not in top)


def test_record_names_the_wheel_of_every_distribution_this_build_installed(root):
    site, _, house = root
    (site / "pip-26.0.dist-info").mkdir()
    before = installed.distributions(str(site))
    make_wheel(house, "demo")
    (site / "demo-1.0.dist-info").mkdir()
    (site / "demo-1.0.dist-info" / "REQUESTED").write_text("")
    assert installed.record(str(house), before) == ([("demo-1.0-py3-none-any.whl", True)], None)
    (site / "other-2.0.dist-info").mkdir()  # installed, but from no saved wheel
    assert installed.record(str(house), before) == (
        None, "the previous build installed other-2.0.dist-info without a saved wheel")
    assert installed.record(str(house), before + ["gone-1.0.dist-info"]) == (
        None, "the previous build changed a distribution of the image's own")


def test_install_unpacks_checks_and_writes_scripts_metadata_and_byte_code(tmp_path, root):
    site, bin_dir, house = root
    make_wheel(house, "demo", files={
        "demo/__init__.py": INIT,
        "demo-1.0.data/scripts/tool": b"#!python -u\nprint('tool')\n",
        "demo-1.0.dist-info/entry_points.txt": b"[console_scripts]\ndemo-cli = demo.cli:main.run\n"})
    installed.install(str(house), [("demo-1.0-py3-none-any.whl", True)])
    assert installed_files(tmp_path) == [
        "bin/demo-cli", "bin/tool", "lib/python3.11/site-packages/demo-1.0.dist-info/INSTALLER",
        "lib/python3.11/site-packages/demo-1.0.dist-info/METADATA",
        "lib/python3.11/site-packages/demo-1.0.dist-info/RECORD",
        "lib/python3.11/site-packages/demo-1.0.dist-info/REQUESTED",
        "lib/python3.11/site-packages/demo-1.0.dist-info/WHEEL",
        "lib/python3.11/site-packages/demo-1.0.dist-info/entry_points.txt",
        "lib/python3.11/site-packages/demo/__init__.py"]
    assert (bin_dir / "tool").read_bytes() == b"#!%s -u\nprint('tool')\n" % sys.executable.encode()
    cli = (bin_dir / "demo-cli").read_text()
    assert cli.startswith("#!%s\n" % sys.executable)
    assert "from demo.cli import main\n" in cli and "sys.exit(main.run())" in cli
    assert os.access(str(bin_dir / "demo-cli"), os.X_OK)
    record = (site / "demo-1.0.dist-info" / "RECORD").read_text().splitlines()
    assert "../../../bin/demo-cli,sha256=%s,%d" % (
        digest((bin_dir / "demo-cli").read_bytes()), len(cli)) in record
    assert "demo-1.0.dist-info/RECORD,," in record
    assert any(line.endswith(".pyc,,") for line in record)  # byte code made here, listed
    assert os.path.exists(installed._cached(str(site / "demo" / "__init__.py")))
    assert not [p for p in os.listdir(str(house.parent)) if p.startswith(".whiskey-staging")]


@pytest.mark.parametrize("spoil, reason", [
    ("missing", "demo-1.0-py3-none-any.whl was not saved"),
    ("replaced", "demo/__init__.py does not match its RECORD"),
    ("unrecorded", "demo/evil.pth is not in its RECORD with a hash"),
    ("outside", "it has a file '../../../src/wsgi.py' that would land outside its directory"),
    ("data", "it installs data files (demo-1.0.data/data/x), which only pip places"),
    ("entry", "its entry point 'x' = 'os:system; rm' is not module:attribute"),
    ("pinned", "good-1.0-py3-none-any.whl is not one of the hashes requirements.txt pins"),
])
def test_install_changes_nothing_unless_every_wheel_is_sound(tmp_path, root, spoil, reason):
    site, _, house = root
    make_wheel(house, "good")
    files, extra, tamper = None, None, None
    if spoil == "replaced":
        tamper = {"demo/__init__.py": b"import os\n"}
    if spoil == "unrecorded":
        extra = {"demo/evil.pth": b"import os\n"}
    if spoil == "outside":
        files = {"demo/__init__.py": INIT, "../../../src/wsgi.py": b"evil\n"}
    if spoil == "data":
        files = {"demo/__init__.py": INIT, "demo-1.0.data/data/x": b""}
    if spoil == "entry":
        files = {"demo/__init__.py": INIT,
                 "demo-1.0.dist-info/entry_points.txt": b"[console_scripts]\nx = os:system; rm\n"}
    if spoil != "missing":
        make_wheel(house, "demo", files=files, extra=extra, tamper=tamper)
    entries = [("good-1.0-py3-none-any.whl", False), ("demo-1.0-py3-none-any.whl", True)]
    hashes = {"0" * 64} if spoil == "pinned" else None
    with pytest.raises(installed.Refused) as exc:
        installed.install(str(house), entries, hashes)
    assert str(exc.value) == reason
    assert installed_files(tmp_path) == []  # not even the sound wheel's files


def test_requirement_hashes_are_read_from_a_hash_pinned_file(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("six==1.16.0 \\\n    --hash=sha256:%s --hash sha256:%s\n" % ("A" * 64, "b" * 64))
    assert installed.requirement_hashes(str(req)) == {"a" * 64, "b" * 64}
    req.write_text("six==1.16.0\n")
    assert installed.requirement_hashes(str(req)) is None


def test_a_record_written_on_python_2_is_checked_too(root):
    """Wheels built on Python 2 write SHA256= where pip writes sha256=."""
    _, _, house = root
    data = INIT
    record = ("demo/__init__.py,SHA256=%s,%d\ndemo-1.0.dist-info/WHEEL,sha256=%s,%d\n"
              "demo-1.0.dist-info/RECORD,,\n") % (digest(data), len(data),
                                                  digest(b"Root-Is-Purelib: true\n"), 22)
    path = house / "demo-1.0-py2-none-any.whl"
    with zipfile.ZipFile(str(path), "w") as whl:
        whl.writestr("demo/__init__.py", data)
        whl.writestr("demo-1.0.dist-info/WHEEL", b"Root-Is-Purelib: true\n")
        whl.writestr("demo-1.0.dist-info/RECORD", record)
    installed.install(str(house), [(path.name, False)])
    assert (root[0] / "demo" / "__init__.py").read_bytes() == data
    with zipfile.ZipFile(str(path), "w") as whl:
        whl.writestr("demo/__init__.py", data)
        whl.writestr("demo-1.0.dist-info/WHEEL", b"Root-Is-Purelib: true\n")
        whl.writestr("demo-1.0.dist-info/RECORD", record.replace("SHA256=", "md5="))
    with pytest.raises(installed.Refused, match="hashed with md5, which is not checked here"):
        installed.check(zipfile.ZipFile(str(path)))


@pytest.mark.parametrize("text, by_name", [
    ("six==1.16.0\ncrcmod==1.7  # compiled\n", True),
    ("six==1.16.0 --hash=sha256:%s\n" % ("a" * 64), True), ("-r other.txt\n", False),
    ("-c constraints.txt\n", False),
    (".\n", False), ("-e .\n", False), ("./lib/pkg\n", False), ("/srv/pkg.whl\n", False),
    ("git+https://example.org/x.git\n", False), ("pkg @ https://example.org/pkg.whl\n", False),
    ("pkg@https://example.org/pkg.whl\n", False), ("six  # see https://example.org\n", True)])
def test_requirements_naming_a_path_or_url_are_never_repeated_from_wheels(tmp_path, text, by_name):
    """What such a line installs can change while requirements.txt does not."""
    req = tmp_path / "requirements.txt"
    req.write_text(text)
    assert installed.names_only_by_name(str(req)) is by_name


def test_byte_code_is_compiled_in_parallel_and_a_file_that_fails_stays_source(tmp_path):
    paths = []
    for i in range(450):  # enough for more than one process
        path = tmp_path / ("m%d.py" % i)
        path.write_text("X = %d\n" % i if i != 7 else "def broken(:\n")
        paths.append(str(path))
    installed.compile_all(paths)
    made = [p for p in paths if os.path.exists(installed._cached(p))]
    assert len(made) == 449 and paths[7] not in made


def test_the_mod_wsgi_that_serves_is_known_and_a_reinstall_is_seen(root):
    site = root[0]
    assert installed.mod_wsgi(str(site)) is None
    (site / "mod_wsgi-6.1.1.dist-info").mkdir()
    first = installed.mod_wsgi(str(site))
    assert first[0] == "6.1.1"
    (site / "mod_wsgi-6.1.1.dist-info").rmdir()
    (site / "mod_wsgi-4.9.4-py2.7.egg-info").mkdir()
    assert installed.mod_wsgi(str(site))[0] == "4.9.4"
