"""root/usr/libexec/whiskey/runtime.py: what a start prepares before the server, run
in-process with the image's paths under a temporary directory."""

import glob
import os

import pytest
import runtime


@pytest.fixture
def start(tmp_path, monkeypatch):
    """An application in tmp_path/src, $TMPDIR in tmp_path/tmp, a passwd file of its own;
    this UID has no passwd entry.  The start changes os.environ (its hooks see it): it is
    put back afterwards."""
    src, tmp = tmp_path / "src", tmp_path / "tmp"
    (src / ".whiskey" / "user_vars").mkdir(parents=True)
    tmp.mkdir()
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\nwhiskey:x:5:0:stale:/:/bin/sh\n")
    saved = dict(os.environ)
    env = os.environ
    for name in ("WHISKEY_RUNTIME_DIR", "LD_PRELOAD", "NSS_WRAPPER_PASSWD"):
        env.pop(name, None)
    env.update(HOME=str(src), TMPDIR=str(tmp))
    monkeypatch.setattr(runtime, "PASSWD", str(passwd))

    def no_entry(uid):
        raise KeyError(uid)
    monkeypatch.setattr(runtime.pwd, "getpwuid", no_entry)
    monkeypatch.setattr(runtime.server, "main", lambda argv: ("server", argv))
    monkeypatch.chdir(tmp_path)
    yield src, env, passwd
    os.environ.clear()
    os.environ.update(saved)


def test_a_start_makes_a_passwd_entry_and_the_environment_then_runs_the_server(start, capfd):
    src, env, passwd = start
    user_vars = src / ".whiskey" / "user_vars"
    user_vars.joinpath("GREETING").write_text("hello\n\n")
    user_vars.joinpath("not-a-name").write_text("x")
    hook = src / ".whiskey" / "action_hooks" / "deploy-env"
    hook.parent.mkdir()
    hook.write_text('echo changed > "$WHISKEY_ENVDIR/GREETING"; echo 2 > "$WHISKEY_ENVDIR/ADDED"\n')
    hook.chmod(0o755)  # no #! line: bash runs it
    assert runtime.main(["--port", "8080"]) == ("server", ["--port", "8080"])
    runtime_dir = str(start[0].parent / "tmp" / ("whiskey-%d" % os.getuid()))
    assert env["WHISKEY_RUNTIME_DIR"] == runtime_dir
    assert env["WHISKEY_ENVDIR"] == runtime_dir + "/env"
    assert env["GREETING"] == "changed" and env["ADDED"] == "2" and "not-a-name" not in env
    assert passwd.read_text().splitlines() == [
        "root:x:0:0:root:/root:/bin/bash",
        "whiskey:x:%d:%d:whiskey application user:%s:/bin/bash" % (os.getuid(), os.getgid(), src)]
    err = capfd.readouterr().err
    assert "whiskey: WARNING: user_vars/not-a-name is not a valid variable name; ignored" in err
    assert "---> Running action hook deploy-env" in err


def test_with_a_read_only_passwd_the_entry_goes_through_nss_wrapper(start, monkeypatch):
    src, env, passwd = start
    env["LD_PRELOAD"] = "/lib/app-own.so"
    (src / ".whiskey" / "user_vars" / "LD_PRELOAD").write_text("/lib/from-user-vars.so")
    monkeypatch.setattr(runtime.os, "access", lambda path, mode: path != str(passwd))
    monkeypatch.setattr(glob, "glob", lambda pattern: ["/usr/lib/x/libnss_wrapper.so"])  # imported when used
    runtime.main([])
    assert "whiskey application user" not in passwd.read_text()
    with open(env["NSS_WRAPPER_PASSWD"]) as f:
        assert f.read().endswith(":whiskey application user:%s:/bin/bash\n" % src)
    # The app's preload first; nss_wrapper stays after it.
    assert env["LD_PRELOAD"] == "/lib/from-user-vars.so /usr/lib/x/libnss_wrapper.so"


@pytest.mark.parametrize("case, said", [
    ("full", "KiB free, and starting needs about 256: give the container a writable $TMPDIR "
             "(default /tmp) with room"),
    ("deploy", "action hook .whiskey/action_hooks/deploy failed with exit status 3"),
])
def test_a_start_that_cannot_go_on_is_one_line_and_status_1(start, monkeypatch, capfd, case, said):
    src, _, _ = start
    if case == "full":
        class Full(object):
            f_bavail, f_frsize = 10, 4096
        monkeypatch.setattr(runtime.os, "statvfs", lambda path: Full())
    else:
        hook = src / ".whiskey" / "action_hooks" / "deploy"
        hook.parent.mkdir()
        hook.write_text("#!/bin/sh\nexit 3\n")
        hook.chmod(0o755)
    assert runtime.main([]) == 1
    last = capfd.readouterr().err.splitlines()[-1]
    assert last.startswith("whiskey: ERROR: ") and last.endswith(said), last
