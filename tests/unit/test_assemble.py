"""root/usr/libexec/whiskey/assemble.py: the build's order, its hooks and its failures,
run in-process with the image's paths moved under a temporary directory (no pip runs:
the sample declares no dependencies)."""

import os

import assemble
import pytest


@pytest.fixture
def image(tmp_path, monkeypatch):
    """The image's paths under tmp_path; the source to assemble in tmp_path/upload."""
    root = tmp_path / "app-root"
    (root / "src").mkdir(parents=True)
    upload = tmp_path / "upload"
    upload.mkdir()
    for name, value in (("APP_ROOT", root), ("APP_SRC", root / "src"),
                        ("WHEELHOUSE", root / "var" / "wheels"), ("SOURCE", upload),
                        ("ARTIFACTS", tmp_path / "artifacts"), ("CA_DIR", tmp_path / "no-ca"),
                        ("SETID_ROOT", root)):
        monkeypatch.setattr(assemble, name, str(value))
    monkeypatch.delenv("WHISKEY_LOCK_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    return upload


def hook(upload, name, text, mode=0o755):
    path = upload / ".whiskey" / "action_hooks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def test_hooks_run_in_order_as_bash_runs_them(image, capfd):
    (image / "wsgi.py").write_text("")
    hook(image, "pre-build", "echo pre-build ran in $PWD\n")  # no #! line: bash runs it
    hook(image, "build", "#!/bin/sh\necho build ran\n")
    assert assemble.main() == 0
    out, err = capfd.readouterr()
    assert out == "pre-build ran in %s\nbuild ran\n" % assemble.APP_SRC
    assert err.splitlines() == [
        "---> Installing application source into %s" % assemble.APP_SRC,
        "---> Running action hook pre-build", "---> Running action hook build",
        "---> At start, with this build's environment: Serving wsgi:application (wsgi.py in "
        "the application): no setting names the application; to choose otherwise, set "
        "APP_MODULE=module:callable or --entry-point in .whiskey/server_args",
        "---> Application assembled"]
    assert not os.path.exists(str(image))  # the upload is taken


def test_the_applications_modules_are_byte_compiled_silently(image, capfd):
    (image / "wsgi.py").write_text("import helpers\n")
    (image / "helpers.py").write_text("PATTERN = '\\d+'\n")  # an escape Python warns of
    (image / "legacy.py").write_text("print 'Python 2 only'\n")  # not this Python's
    (image / "node_modules" / "gyp").mkdir(parents=True)
    (image / "node_modules" / "gyp" / "gyp.py").write_text("")
    assert assemble.main() == 0
    out, err = capfd.readouterr()
    assert out == "" and "rror" not in err and "arning" not in err, (out, err)
    src = assemble.APP_SRC
    made = sorted(os.path.relpath(os.path.join(d, f), src)
                  for d, _, files in os.walk(src) for f in files if f.endswith(".pyc"))
    assert [name.split(".")[0] for name in made] == ["__pycache__/helpers", "__pycache__/wsgi"]


def test_a_hook_that_is_not_executable_is_named_and_skipped(image, capfd):
    hook(image, "build", "#!/bin/sh\necho never\n", mode=0o644)
    assert assemble.main() == 0
    out, err = capfd.readouterr()
    assert "never" not in out
    assert ("whiskey: WARNING: .whiskey/action_hooks/build is not executable (chmod +x it); "
            "skipped\n") in err


@pytest.mark.parametrize("files, said", [
    ({}, "the application source is empty: nothing was uploaded to /tmp/src (check the source "
         "directory and --context-dir)"),
    ({".python-version": "2.6\n"}, ".python-version declares Python 2.6, "),
    ({"pyproject.toml": "[project\nname = \n"}, "pyproject.toml is not valid TOML: "),
    ({"wsgi.py": "", ".whiskey/action_hooks/pre-build": "#!/bin/sh\nexit 3\n"},
     "action hook .whiskey/action_hooks/pre-build failed with exit status 3"),
])
def test_a_failure_is_one_line_and_status_1(image, capfd, files, said):
    for name, text in files.items():
        path = image / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755)
    assert assemble.main() == 1
    err = capfd.readouterr().err
    (last,) = [line for line in err.splitlines() if line.startswith("whiskey: ")]
    assert last.startswith("whiskey: ERROR: " + said), err
    assert "Application assembled" not in err


def test_a_setuid_file_after_the_build_is_refused(image, capfd):
    hook(image, "build", "#!/bin/sh\ntouch ../suid && chmod u+s ../suid\n")
    assert assemble.main() == 1
    assert capfd.readouterr().err.splitlines()[-1] == (
        "whiskey: ERROR: setuid or setgid files after the build: %s/suid (refused: the image "
        "must hold none)" % assemble.APP_ROOT)


@pytest.mark.parametrize("before, after, said", [
    (("6.1.1", 1), ("6.1.1", 1), None),
    (("6.1.1", 1), ("6.1.1", 1, "asked"), "---> mod_wsgi 6.1.1, this image's own, serves the "
                                          "application (it satisfies what the application asks "
                                          "for)"),
    (("6.1.1", 1), ("6.1.1", 2), "---> mod_wsgi 6.1.1, installed again by the application, "
                                 "serves it: the same version as this image's"),
    (("6.1.1", 1), ("4.9.4", 2), "whiskey: WARNING: mod_wsgi 4.9.4, installed by the "
                                 "application, serves it instead of this image's 6.1.1, with "
                                 "which whiskey is tested"),
    (("6.1.1", 1), None, "whiskey: WARNING: the build removed mod_wsgi (this image's is 6.1.1): "
                         "the server cannot start without it"),
])
def test_an_application_that_installs_mod_wsgi_is_told_which_one_serves(capfd, before, after,
                                                                         said):
    asked = after is not None and after[-1] == "asked"
    assemble.say_mod_wsgi(before, after[:2] if asked else after, asked or after != before)
    err = capfd.readouterr().err
    assert err == (said + "\n" if said else "")
