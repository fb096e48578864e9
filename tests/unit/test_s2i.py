"""tests/support/s2i.py (the suite's s2i emulation) without Docker: the environment file, the upload tar, the
--as-dockerfile output and its build context."""

import io
import tarfile

import pytest

from tests.support import s2i


@pytest.fixture
def src(tmp_path):
    """A small application directory with dotfiles, a hook and .s2i/environment."""
    d = tmp_path / "app"
    (d / ".whiskey" / "action_hooks").mkdir(parents=True)
    (d / ".s2i").mkdir()
    (d / "hello_world").mkdir()
    (d / "hello_world" / "wsgi.py").write_text("def application(e, s):\n    pass\n")
    (d / "requirements.txt").write_text("flask\n")
    (d / ".whiskey" / "server_args").write_text("--url-alias /static static\n")
    hook = d / ".whiskey" / "action_hooks" / "pre-build"
    hook.write_text("#!/bin/sh\necho pre-build\n")
    hook.chmod(0o755)
    (d / ".s2i" / "environment").write_text(
        "# build settings\n"
        "\n"
        "MOD_WSGI_PROCESSES=2\n"
        "  DATABASE_URL=postgres://u:p@db/app?sslmode=require&x=1  \n"
        "GREETING=hello world\n"
        "not a setting\n"
        "EMPTY=\n")
    return d


def _members(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def _read(data, name):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.extractfile(name).read()


# -- .s2i/environment ---------------------------------------------------------------------

def test_read_environment_file(src):
    assert s2i.read_environment_file(str(src)) == {
        "MOD_WSGI_PROCESSES": "2",
        "DATABASE_URL": "postgres://u:p@db/app?sslmode=require&x=1",
        "GREETING": "hello world",
        "EMPTY": "",
    }


def test_read_environment_file_keeps_equals_in_values(tmp_path):
    (tmp_path / ".s2i").mkdir()
    (tmp_path / ".s2i" / "environment").write_text("OPTS=--a=1 --b=2\nK==v\n")
    assert s2i.read_environment_file(str(tmp_path)) == {"OPTS": "--a=1 --b=2", "K": "=v"}


def test_read_environment_file_without_file(tmp_path):
    assert s2i.read_environment_file(str(tmp_path)) == {}


def test_read_environment_file_skips_comments_with_equals(tmp_path):
    (tmp_path / ".s2i").mkdir()
    (tmp_path / ".s2i" / "environment").write_text("#A=1\n   # B=2\nC=3\n")
    assert s2i.read_environment_file(str(tmp_path)) == {"C": "3"}


# -- the upload tar ---------------------------------------------------------------------------

def test_upload_tar_holds_src_owned_by_the_assemble_user(src):
    members = _members(s2i.upload_tar(str(src)))
    expected = {"src", "src/.s2i", "src/.s2i/environment", "src/.whiskey",
                "src/.whiskey/server_args", "src/.whiskey/action_hooks",
                "src/.whiskey/action_hooks/pre-build", "src/hello_world",
                "src/hello_world/wsgi.py", "src/requirements.txt"}
    assert set(members) == expected
    for name, m in members.items():
        assert (m.uid, m.gid) == (1001, 0), name
    assert members["src"].isdir()
    assert members["src/.whiskey"].isdir()
    assert members["src/requirements.txt"].isreg()


def test_upload_tar_keeps_content_and_the_hook_executable_bit(src):
    data = s2i.upload_tar(str(src))
    members = _members(data)
    assert members["src/.whiskey/action_hooks/pre-build"].mode & 0o111 == 0o111
    assert members["src/requirements.txt"].mode & 0o111 == 0
    assert _read(data, "src/.whiskey/server_args") == b"--url-alias /static static\n"
    assert _read(data, "src/hello_world/wsgi.py").startswith(b"def application")


def test_upload_tar_is_deterministic_in_order(src):
    with tarfile.open(fileobj=io.BytesIO(s2i.upload_tar(str(src)))) as tar:
        names = tar.getnames()
    assert names[0] == "src"
    assert names.index("src/.whiskey") < names.index("src/.whiskey/server_args")
    assert len(names) == len(set(names))
    # Same directory, same bytes: nothing time- or order-dependent sneaks in.
    assert s2i.upload_tar(str(src)) == s2i.upload_tar(str(src))


def _artifacts_tar(entries):
    """A tar like save-artifacts streams: {name: bytes or None for a dir}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.uid, info.gid = 4242, 4242
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_upload_tar_with_artifacts(src):
    saved = _artifacts_tar([("wheels", None), ("wheels/a.whl", b"wheel bytes")])
    data = s2i.upload_tar(str(src), saved)
    members = _members(data)
    assert "artifacts/wheels/a.whl" in members
    assert "artifacts/wheels" in members and members["artifacts/wheels"].isdir()
    assert "src/requirements.txt" in members
    assert (members["artifacts/wheels/a.whl"].uid, members["artifacts/wheels/a.whl"].gid) == (1001, 0)
    assert _read(data, "artifacts/wheels/a.whl") == b"wheel bytes"


def test_upload_tar_artifacts_with_dot_slash_names(src):
    saved = _artifacts_tar([("./wheels/a.whl", b"x")])
    assert "artifacts/wheels/a.whl" in _members(s2i.upload_tar(str(src), saved))


def test_upload_tar_artifacts_keep_dotfile_names(src):
    # save-artifacts' tar is extracted as is by s2i: a leading dot in a
    # member's name is part of the name, not a "./" prefix.
    saved = _artifacts_tar([(".cache", None), (".cache/pip.txt", b"x"),
                            ("wheels/.requirements", b"stamp")])
    members = _members(s2i.upload_tar(str(src), saved))
    assert "artifacts/wheels/.requirements" in members
    assert "artifacts/.cache/pip.txt" in members


def test_upload_tar_artifacts_with_long_names_in_pax_headers(src):
    # A name over 100 characters travels in a PAX header (Python's default format):
    # it must name the new place, not the old one.
    long = "wheels/markupsafe-3.0.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64." \
           "manylinux_2_28_x86_64.whl"
    members = _members(s2i.upload_tar(str(src), _artifacts_tar([(long, b"x")])))
    assert "artifacts/" + long in members and long not in members


def test_upload_tar_without_artifacts_has_no_artifacts_dir(src):
    assert not [n for n in _members(s2i.upload_tar(str(src))) if n.startswith("artifacts")]


# -- --as-dockerfile ---------------------------------------------------------------------------

def test_as_dockerfile_order(src):
    text = s2i.as_dockerfile("whiskey:python-3.11", str(src))
    lines = text.splitlines()
    assert lines[0] == "FROM whiskey:python-3.11"
    wanted = ["COPY upload/src /tmp/src", "RUN chown -R 1001:0 /tmp/src", "USER 1001",
              "RUN /usr/libexec/s2i/assemble", 'CMD ["/usr/libexec/s2i/run"]']
    positions = [lines.index(w) for w in wanted]
    assert positions == sorted(positions)
    assert lines[-1] == 'CMD ["/usr/libexec/s2i/run"]'
    assert text.endswith("\n")


def test_as_dockerfile_env_from_environment_file(src):
    lines = s2i.as_dockerfile("b", str(src)).splitlines()
    env = [line for line in lines if line.startswith("ENV ")]
    assert env == ['ENV DATABASE_URL="postgres://u:p@db/app?sslmode=require&x=1" EMPTY="" '
                   'GREETING="hello world" MOD_WSGI_PROCESSES="2"']
    assert lines.index(env[0]) < lines.index("RUN /usr/libexec/s2i/assemble")


def test_as_dockerfile_overrides_win(src):
    text = s2i.as_dockerfile("b", str(src), env={"MOD_WSGI_PROCESSES": "8", "NEW": 'say "hi"'})
    env_line = [line for line in text.splitlines() if line.startswith("ENV ")][0]
    assert 'MOD_WSGI_PROCESSES="8"' in env_line
    assert 'MOD_WSGI_PROCESSES="2"' not in env_line
    assert 'NEW="say \\"hi\\""' in env_line
    assert 'GREETING="hello world"' in env_line


def test_as_dockerfile_without_environment_has_no_env_line(tmp_path):
    text = s2i.as_dockerfile("whiskey:latest", str(tmp_path))
    assert not [line for line in text.splitlines() if line.startswith("ENV")]
    assert text.splitlines()[0] == "FROM whiskey:latest"


def test_dockerfile_context(src):
    ctx = s2i.dockerfile_context("whiskey:python-2.7", str(src), env={"A": "1"})
    with tarfile.open(fileobj=ctx) as tar:
        names = tar.getnames()
        dockerfile = tar.extractfile("Dockerfile").read().decode()
        server_args = tar.extractfile("upload/src/.whiskey/server_args").read()
        hook = tar.getmember("upload/src/.whiskey/action_hooks/pre-build")
    assert names[0] == "Dockerfile"
    assert dockerfile == s2i.as_dockerfile("whiskey:python-2.7", str(src), env={"A": "1"})
    assert "upload/src/requirements.txt" in names
    assert "upload/src/hello_world/wsgi.py" in names
    assert server_args == b"--url-alias /static static\n"
    assert hook.mode & 0o111 == 0o111
    assert not [n for n in names if n.startswith("src")]
