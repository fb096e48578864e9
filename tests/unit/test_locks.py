"""root/usr/libexec/whiskey/locks.py: choosing a lock file, reading it exactly, reusing wheels."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import locks
import pytest
import wheelhouse

APPS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps")
FLASK_SET = {"blinker": "1.9.0", "click": "8.1.8", "flask": "3.1.0", "itsdangerous": "2.2.0",
             "jinja2": "3.1.6", "markupsafe": "3.0.4", "werkzeug": "3.1.9"}
H = "a" * 64  # a sha256, as a lock writes it


def copy_app(tmp_path, app):
    src = str(tmp_path / app)
    shutil.copytree(os.path.join(APPS, app), src)
    return src


def write(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return str(tmp_path)


@pytest.mark.parametrize("app, lock, project", [
    ("uv-lock", "uv.lock", True), ("poetry-lock", "poetry.lock", True),
    ("pipfile-lock", "Pipfile.lock", False), ("pylock", "pylock.toml", True)])
@pytest.mark.skipif(sys.version_info < (3, 10), reason="the expected set is that of Python 3.10+")
def test_sample_locks_pin_the_production_set_for_this_interpreter(app, lock, project):
    """Dev groups (pytest), Windows-only (colorama) and <3.10-only packages are left out."""
    src = os.path.join(APPS, app)
    assert locks.choose(src, {}) == lock
    pins, is_package = locks.lock_pins(src, lock)
    assert locks.versions(pins) == FLASK_SET
    assert is_package is project
    assert all(len(pin.hashes) >= 2 for pin in pins)  # the wheel's and the sdist's


def test_legacy_sample_lock():
    pins, project = locks.lock_pins(os.path.join(APPS, "pipfile-lock-legacy"), "Pipfile.lock")
    assert locks.versions(pins) == {"six": "1.16.0"} and not project
    assert pins[0].requirement() == (
        "six==1.16.0 --hash=sha256:1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926"
        " --hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254")


@pytest.mark.parametrize("marker, holds", [
    (None, True), ("sys_platform == 'win32'", False), ("python_version >= '3'", True),
    ("extra == 'dev'", False), ("'dev' in dependency_groups", False),
    ("'dev' not in dependency_groups", True), ("'web' in extras and python_version >= '3'", False),
    ("'default' in dependency_groups", True)])
def test_markers(marker, holds):
    assert locks.marker_holds(marker, extras=(), groups=["default"]) is holds


def uv_lock(extra_packages="", root_source='{ editable = "." }', dep_source=""):
    return """version = 1
requires-python = ">=3.9"

[[package]]
name = "app"
version = "0.1.0"
source = %s
dependencies = [{ name = "flask" }, { name = "pywin32", marker = "sys_platform == 'win32'" }]

[package.optional-dependencies]
async = [{ name = "asgiref" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "flask"
version = "3.1.0"
source = %s
sdist = { url = "https://example.invalid/flask-3.1.0.tar.gz", hash = "sha256:%s" }
%s""" % (root_source, dep_source or '{ registry = "https://index.example/simple" }', H, extra_packages)


def test_uv_lock_leaves_out_dev_optional_and_marker_excluded_packages(tmp_path):
    src = write(tmp_path, {"uv.lock": uv_lock()})
    pins, project = locks.lock_pins(src, "uv.lock")
    assert locks.versions(pins) == {"flask": "3.1.0"} and project
    src = write(tmp_path, {"uv.lock": uv_lock(root_source='{ virtual = "." }')})
    assert locks.lock_pins(src, "uv.lock")[1] is False  # a virtual project is not installed


@pytest.mark.parametrize("source, message", [
    ('{ git = "https://example.invalid/flask.git?rev=main#abc" }', "flask comes from git ("),
    ('{ path = "../flask" }', "flask comes from the local path ../flask"),
    ('{ url = "https://example.invalid/flask.zip" }', None)])
def test_uv_lock_sources_that_cannot_be_installed_exactly_are_refused(tmp_path, source, message):
    text = uv_lock(dep_source=source)
    if message is None:  # a URL without a hash
        text = text.replace(', hash = "sha256:%s"' % H, "")
        message = "flask comes from the URL https://example.invalid/flask.zip without a hash"
    src = write(tmp_path, {"uv.lock": text})
    with pytest.raises(locks.LockError) as e:
        locks.lock_pins(src, "uv.lock")
    assert str(e.value).startswith("uv.lock: " + message)


def test_a_pin_without_a_hash_is_an_error_naming_it(tmp_path):
    src = write(tmp_path, {"Pipfile.lock": json.dumps({"default": {
        "six": {"version": "==1.16.0", "hashes": []}}, "develop": {}})})
    with pytest.raises(locks.LockError) as e:
        locks.lock_pins(src, "Pipfile.lock")
    assert str(e.value).startswith("Pipfile.lock pins six 1.16.0 without a sha256 hash")


def test_pipfile_lock_default_only_project_and_refusals(tmp_path):
    lock = {"default": {"six": {"version": "==1.16.0", "hashes": ["sha256:" + H]},
                        "colorama": {"version": "==0.4.6", "hashes": ["sha256:" + H],
                                     "markers": "sys_platform == 'win32'"},
                        "app": {"path": ".", "editable": True}},
            "develop": {"pytest": {"version": "==8.3.4", "hashes": ["sha256:" + H]}}}
    src = write(tmp_path, {"Pipfile.lock": json.dumps(lock)})
    pins, project = locks.lock_pins(src, "Pipfile.lock")
    assert locks.versions(pins) == {"six": "1.16.0"} and project
    lock["default"]["tool"] = {"git": "https://example.invalid/tool.git", "ref": "abc"}
    src = write(tmp_path, {"Pipfile.lock": json.dumps(lock)})
    with pytest.raises(locks.LockError, match=r"^Pipfile.lock: tool comes from git \("):
        locks.lock_pins(src, "Pipfile.lock")


def test_pipfile_lock_project_as_current_pipenv_writes_it(tmp_path):
    """pipenv 2023 and later: the project is an entry of its own name, a version, no hash."""
    lock = {"default": {"six": {"version": "==1.16.0", "hashes": ["sha256:" + H]},
                        "My_App": {"version": "==0.1"}}}
    src = write(tmp_path, {"Pipfile.lock": json.dumps(lock),
                           "pyproject.toml": '[project]\nname = "my-app"\nversion = "0.1"\n'})
    pins, project = locks.lock_pins(src, "Pipfile.lock")
    assert locks.versions(pins) == {"six": "1.16.0"} and project
    os.remove(os.path.join(src, "pyproject.toml"))
    for name, text in (("setup.py", "setup(name='my_app', version='0.1')\n"),
                       ("setup.cfg", "[metadata]\nname = my.app\nversion = 0.1\n")):
        write(tmp_path, {name: text})
        assert locks.lock_pins(src, "Pipfile.lock")[1], name
        os.remove(os.path.join(src, name))
    # Without a project of that name in the source, it is a pin without a hash: refused.
    with pytest.raises(locks.LockError, match="pins my-app 0.1 without a sha256 hash"):
        locks.lock_pins(src, "Pipfile.lock")


def test_uv_lock_project_as_a_directory_source(tmp_path):
    text = open(os.path.join(APPS, "uv-lock", "uv.lock")).read()
    assert 'source = { editable = "." }' in text
    src = write(tmp_path, {"uv.lock": text.replace('source = { editable = "." }',
                                                     'source = { directory = "." }')})
    pins, project = locks.lock_pins(src, "uv.lock")
    assert project and pins


def test_pylock_groups_directory_and_vcs(tmp_path):
    text = """lock-version = "1.0"
created-by = "hand"
default-groups = ["web"]

[[packages]]
name = "six"
version = "1.16.0"
marker = "'web' in dependency_groups"
wheels = [{ name = "six-1.16.0-py2.py3-none-any.whl", hashes = { sha256 = "%s" } }]

[[packages]]
name = "pytest"
version = "8.3.4"
marker = "'dev' in dependency_groups"
wheels = [{ name = "pytest-8.3.4-py3-none-any.whl", hashes = { sha256 = "%s" } }]

[[packages]]
name = "app"
directory = { path = ".", editable = true }
""" % (H, H)
    src = write(tmp_path, {"pylock.toml": text})
    pins, project = locks.lock_pins(src, "pylock.toml")
    assert locks.versions(pins) == {"six": "1.16.0"} and project
    text += '\n[[packages]]\nname = "tool"\nvcs = { type = "git", url = "https://example.invalid/t" }\n'
    src = write(tmp_path, {"pylock.toml": text})
    with pytest.raises(locks.LockError, match="^pylock.toml: tool comes from git "):
        locks.lock_pins(src, "pylock.toml")


POETRY_11 = """[[package]]
name = "click"
version = "8.1.8"
description = ""
category = "main"
optional = false
python-versions = ">=3.7"

[package.dependencies]
colorama = {version = "*", markers = "platform_system == \\"Windows\\""}

[[package]]
name = "colorama"
version = "0.4.6"
description = ""
category = "main"
optional = false
python-versions = "*"

[[package]]
name = "pytest"
version = "8.3.4"
description = ""
category = "dev"
optional = false
python-versions = ">=3.8"

[metadata]
lock-version = "1.1"
python-versions = "^3.9"
content-hash = "0"

[metadata.files]
click = [{file = "click-8.1.8-py3-none-any.whl", hash = "sha256:%s"}]
colorama = [{file = "colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:%s"}]
pytest = [{file = "pytest-8.3.4-py3-none-any.whl", hash = "sha256:%s"}]
""" % (H, H, H)

PYPROJECT = """[tool.poetry]
name = "app"
version = "0.1.0"
package-mode = %s

[tool.poetry.dependencies]
python = "^3.9"
click = "8.1.8"

[tool.poetry.group.dev.dependencies]
pytest = "8.3.4"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"""


@pytest.mark.parametrize("lock_version", ["1.1", "2.0"])
def test_old_poetry_locks_are_walked_from_the_main_dependencies(tmp_path, lock_version):
    text = POETRY_11
    if lock_version == "2.0":  # files per package, no category
        text = text.replace('category = "main"\n', "").replace('category = "dev"\n', "")
        text = text.replace('lock-version = "1.1"', 'lock-version = "2.0"')
    src = write(tmp_path, {"poetry.lock": text, "pyproject.toml": PYPROJECT % "true"})
    pins, project = locks.lock_pins(src, "poetry.lock")
    assert locks.versions(pins) == {"click": "8.1.8"} and project
    src = write(tmp_path, {"pyproject.toml": PYPROJECT % "false"})
    assert locks.lock_pins(src, "poetry.lock")[1] is False


def test_poetry_2_1_groups_and_per_group_markers(tmp_path):
    text = open(os.path.join(APPS, "poetry-lock", "poetry.lock")).read()
    text = text.replace('groups = ["main"]\nfiles = [\n    {file = "blinker',
                        'groups = ["main"]\nmarkers = {main = "sys_platform == \'win32\'"}\n'
                        'files = [\n    {file = "blinker')
    src = write(tmp_path, {"poetry.lock": text})
    pins, _ = locks.lock_pins(src, "poetry.lock")
    assert "blinker" not in locks.versions(pins) and "flask" in locks.versions(pins)


def test_the_detection_order_and_agreeing_locks(tmp_path, capsys):
    src = copy_app(tmp_path, "uv-lock")
    shutil.copy(os.path.join(APPS, "poetry-lock", "poetry.lock"), src)
    shutil.copy(os.path.join(APPS, "pipfile-lock", "Pipfile.lock"), src)
    assert locks.choose(src, {}) == "uv.lock"
    assert capsys.readouterr().err == (
        "---> uv.lock and poetry.lock and Pipfile.lock pin the same 7 packages; "
        "installing from uv.lock\n")


def test_disagreeing_locks_are_one_line_naming_them(tmp_path):
    src = copy_app(tmp_path, "uv-lock")
    text = open(os.path.join(APPS, "poetry-lock", "poetry.lock")).read()
    with open(os.path.join(src, "poetry.lock"), "w") as f:
        f.write(text.replace('name = "flask"\nversion = "3.1.0"', 'name = "flask"\nversion = "3.0.3"'))
    with pytest.raises(locks.LockError) as e:
        locks.choose(src, {})
    assert str(e.value) == ("uv.lock and poetry.lock disagree (flask 3.1.0 vs 3.0.3); "
                            "set WHISKEY_LOCK_FILE to the one to install")
    assert locks.choose(src, {"WHISKEY_LOCK_FILE": "poetry.lock"}) == "poetry.lock"
    whiskey = os.path.join(os.path.dirname(locks.__file__), "whiskey.py")
    proc = subprocess.run([sys.executable, whiskey, "pins", src],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == "whiskey: ERROR: %s\n" % e.value


def test_whiskey_lock_file(tmp_path):
    src = copy_app(tmp_path, "pipfile-lock")
    shutil.copy(os.path.join(APPS, "pylock", "pylock.toml"), os.path.join(src, "pylock.web.toml"))
    (tmp_path / "pipfile-lock" / "requirements.txt").write_text("six==1.16.0\n")
    assert locks.choose(src, {}) == "Pipfile.lock"  # pylock.<name>.toml only when chosen
    assert locks.choose(src, {"WHISKEY_LOCK_FILE": "pylock.web.toml"}) == "pylock.web.toml"
    assert locks.choose(src, {"WHISKEY_LOCK_FILE": "requirements.txt"}) is None
    with pytest.raises(locks.LockError, match=r"^WHISKEY_LOCK_FILE=uv.lock, and there is no uv.lock "):
        locks.choose(src, {"WHISKEY_LOCK_FILE": "uv.lock"})
    with pytest.raises(locks.LockError, match="is not a lock file whiskey reads"):
        locks.choose(src, {"WHISKEY_LOCK_FILE": "wsgi.py"})


def wheel(directory, filename, content=b"wheel bytes"):
    path = os.path.join(str(directory), filename)
    with open(path, "wb") as f:
        f.write(content)
    return path, hashlib.sha256(content).hexdigest()


def test_reuse_decision(tmp_path, capfd):
    house = tmp_path / "wheels"
    house.mkdir()
    index_wheel, index_hash = wheel(house, "six-1.16.0-py2.py3-none-any.whl")
    built_wheel, _ = wheel(house, "crcmod-1.7-cp311-cp311-linux_x86_64.whl", b"built here")
    manifest = {"interpreter": wheelhouse.interpreter(),
                "built": {"crcmod-1.7-cp311-cp311-linux_x86_64.whl": H},
                "checked": sorted(os.listdir(str(house)))}
    built = manifest["built"]
    six = locks.Pin("six", "1.16.0", [index_hash])
    assert locks.reusable(six, index_wheel, built)
    assert not locks.reusable(locks.Pin("six", "1.16.0", [H]), index_wheel, built)  # other bytes
    assert not locks.reusable(locks.Pin("six", "1.15.0", [index_hash]), index_wheel, built)
    crcmod = locks.Pin("crcmod", "1.7", [H])  # the lock has the sdist's hash
    assert locks.reusable(crcmod, built_wheel, built)
    assert not locks.reusable(locks.Pin("crcmod", "1.7", ["b" * 64]), built_wheel, built)
    capfd.readouterr()
    reuse, fetch = locks.plan([six, crcmod, locks.Pin("flask", "3.1.0", [H])], str(house),
                              manifest, "uv.lock")
    assert reuse == {"six": index_wheel, "crcmod": built_wheel}
    assert [p.name for p in fetch] == ["flask"]
    assert capfd.readouterr().err.splitlines() == [
        "---> Reused: six-1.16.0-py2.py3-none-any.whl (pinned by uv.lock)",
        "---> Reused: crcmod-1.7-cp311-cp311-linux_x86_64.whl (pinned by uv.lock)"]
    # A saved wheel of another version or other bytes is named, with why.
    reuse, fetch = locks.plan([locks.Pin("six", "1.17.0", [H]), locks.Pin("crcmod", "1.7", ["c" * 64])],
                              str(house), manifest, "uv.lock")
    assert reuse == {} and len(fetch) == 2
    assert capfd.readouterr().err.splitlines() == [
        "---> Not reused: six-1.16.0-py2.py3-none-any.whl (uv.lock pins six 1.17.0)",
        "---> Not reused: crcmod-1.7-cp311-cp311-linux_x86_64.whl (uv.lock pins crcmod 1.7 "
        "with other hashes)"]
    # Wheels saved by another interpreter are not reused at all (load() gives {}).
    assert locks.plan([six], str(house), {"checked": manifest["checked"]}, "uv.lock") == ({}, [six])


def test_save_keeps_exactly_the_locked_wheels(tmp_path):
    house = tmp_path / "wheels"
    house.mkdir()
    keep, _ = wheel(house, "six-1.16.0-py2.py3-none-any.whl")
    wheel(house, "six-1.15.0-py2.py3-none-any.whl")
    (house / ".requirements").write_text("stamp\n")
    fresh, _ = wheel(tmp_path, "crcmod-1.7-cp311-cp311-linux_x86_64.whl")
    placed = locks.save(str(house), {"six": keep, "crcmod": fresh},
                        {"crcmod-1.7-cp311-cp311-linux_x86_64.whl": H, "gone.whl": H},
                        "uv.lock sha256:ab")
    assert sorted(os.listdir(str(house))) == [
        ".manifest.json", "crcmod-1.7-cp311-cp311-linux_x86_64.whl",
        "six-1.16.0-py2.py3-none-any.whl"]
    assert [os.path.basename(p) for p in placed] == sorted(os.listdir(str(house)))[1:]
    saved = wheelhouse.load(str(house))
    assert saved["built"] == {"crcmod-1.7-cp311-cp311-linux_x86_64.whl": H}
    assert saved["source"] == "uv.lock sha256:ab" and saved["installed"] is None


# -- malformed locks: one line naming the file, never a traceback, nothing injected ----------------

SIX = {"version": "==1.16.0", "hashes": ["sha256:" + H]}
PYLOCK_SIX = """lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "six"
version = "1.16.0"
wheels = [{ name = "six-1.16.0-py2.py3-none-any.whl", hashes = { sha256 = "%s" } }]
""" % H
POETRY_SIX = """[[package]]
name = "six"
version = "1.16.0"
python-versions = "*"
groups = ["main"]
files = [{file = "six-1.16.0-py2.py3-none-any.whl", hash = "sha256:%s"}]

[metadata]
lock-version = "2.1"
""" % H


def pipfile(**entry):
    return json.dumps({"default": {"six": dict(SIX, **entry)}})


def pylock_archive(url):
    return PYLOCK_SIX.replace('wheels = [{ name = "six-1.16.0-py2.py3-none-any.whl",',
                              'archive = { url = "%s",' % url).replace("} }]", "} }")


# (lock file, its text, the start of the one line that refuses it); the
# behaviour suite runs the same cases in every image (test_security.py).
MALFORMED = [
    ("Pipfile.lock", json.dumps({"default": []}), "Pipfile.lock: default is a list, not a table"),
    ("Pipfile.lock", json.dumps({"default": {"six": "==1.16.0"}}),
     "Pipfile.lock: default.six is a string, not a table"),
    ("Pipfile.lock", "[]", "Pipfile.lock: the top level is a list, not a table"),
    ("Pipfile.lock", b'{"default": {}}\xff',
     "Pipfile.lock cannot be read: it is not UTF-8 text (byte 0xff at offset 15)"),
    ("Pipfile.lock", '{"default": ', "Pipfile.lock cannot be read: "),
    ("Pipfile.lock", pipfile(version="==1.16.0\n--index-url https://evil.invalid/simple"),
     'Pipfile.lock: package six: version "1.16.0\\x0a--index-url https://evil.invalid/simple" '
     "is not a valid version (PEP 440)"),
    ("Pipfile.lock", pipfile(version="==1.16.0 "),
     'Pipfile.lock: package six: version "1.16.0 " is not a valid version (PEP 440)'),
    ("Pipfile.lock", json.dumps({"default": {"six\n-i https://evil.invalid": SIX}}),
     'Pipfile.lock: "six\\x0a-i https://evil.invalid" is not a valid package name (PEP 508)'),
    ("Pipfile.lock", pipfile(hashes=["sha256:%s --trusted-host evil" % H]),
     'Pipfile.lock: package six: hashes "%s --trusted-host evil" is not a sha256 (64 hex digits)' % H),
    ("Pipfile.lock", pipfile(markers=3), "Pipfile.lock: package six: markers is an integer, not a string"),
    ("Pipfile.lock", pipfile(markers="python_version >>> '3'"),
     "Pipfile.lock: package six: cannot evaluate the marker \"python_version >>> '3'\": "),
    ("Pipfile.lock", pipfile(file="file:///srv/six-1.16.0-py2.py3-none-any.whl"),
     "Pipfile.lock: six comes from the local path file:///srv/six-1.16.0-py2.py3-none-any.whl, "),
    ("pylock.toml", PYLOCK_SIX.replace('name = "six"\n', ""), 'pylock.toml: packages[0] has no "name"'),
    ("pylock.toml", PYLOCK_SIX.replace("wheels = [{", "wheels = {").replace("} }]", "} }"),
     "pylock.toml: package six: wheels is a table, not a list"),
    ("pylock.toml", PYLOCK_SIX + "marker = 3\n",
     "pylock.toml: package six: marker is an integer, not a string"),
    ("pylock.toml", PYLOCK_SIX.replace("[[packages]]", "[packages]"),
     "pylock.toml: packages is a table, not a list"),
    ("pylock.toml", PYLOCK_SIX + "version = 2\n", "pylock.toml cannot be read: "),
    ("pylock.toml", pylock_archive("file:///srv/six.whl"),
     "pylock.toml: six comes from the local path file:///srv/six.whl, "),
    ("pylock.toml", pylock_archive("https://x.invalid/six.whl\\n-i https://evil.invalid/"),
     'pylock.toml: package six: archive.url "https://x.invalid/six.whl\\x0a-i https://evil.invalid/" '
     "is not a URL (spaces or characters other than printable ASCII)"),
    ("uv.lock", uv_lock().replace('[{ name = "flask" }', '[{ version = "3.1.0" }'),
     'uv.lock: package app: dependencies[0] has no "name"'),
    ("uv.lock", uv_lock(dep_source='{ url = "file:///srv/flask.tar.gz" }'),
     "uv.lock: flask comes from the local path file:///srv/flask.tar.gz, "),
    ("uv.lock", uv_lock().replace('version = "3.1.0"', 'version = "3.1.0\\n-i https://evil.invalid"'),
     'uv.lock: package flask: version "3.1.0\\x0a-i https://evil.invalid" is not a valid version (PEP 440)'),
    ("poetry.lock", POETRY_SIX.replace('version = "1.16.0"\n', ""),
     'poetry.lock: package six has no "version"'),
    ("poetry.lock", POETRY_SIX.replace("[metadata]", '[package.source]\ntype = "url"\n'
                                       'url = "file:///srv/six.whl"\n\n[metadata]'),
     "poetry.lock: six comes from the local path file:///srv/six.whl, "),
    ("poetry.lock", POETRY_SIX.replace('groups = ["main"]', 'groups = "main"'),
     "poetry.lock: package six: groups is a string, not a list"),
]


@pytest.mark.parametrize("lock, text, message", MALFORMED)
def test_a_malformed_lock_is_one_line_naming_it(tmp_path, capsys, monkeypatch, lock, text, message):
    monkeypatch.delenv("WHISKEY_LOCK_FILE", raising=False)
    (tmp_path / lock).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    assert locks.main(["pins", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("whiskey: ERROR: " + message)
    assert err.count("\n") == 1 and err.endswith("\n") and "Traceback" not in err


@pytest.mark.parametrize("lock, text, requirement", [
    ("Pipfile.lock", pipfile(), "six==1.16.0"), ("pylock.toml", PYLOCK_SIX, "six==1.16.0"),
    ("uv.lock", uv_lock(), "flask==3.1.0"), ("poetry.lock", POETRY_SIX, "six==1.16.0"),
    ("Pipfile.lock", pipfile(file="https://x.invalid/six.whl"), "https://x.invalid/six.whl"),
    ("pylock.toml", pylock_archive("https://x.invalid/six.whl"), "https://x.invalid/six.whl")])
def test_the_malformed_cases_start_from_valid_locks(tmp_path, lock, text, requirement):
    (tmp_path / lock).write_text(text)
    pins, _ = locks.lock_pins(str(tmp_path), lock)
    assert [pin.requirement() for pin in pins] == [requirement + " --hash=sha256:" + H]


def test_a_pin_never_writes_more_than_one_requirement():
    with pytest.raises(locks.LockError, match="cannot be written as one requirement"):
        locks.Pin("six", "1.16.0\n--index-url https://evil.invalid", [H]).requirement()
