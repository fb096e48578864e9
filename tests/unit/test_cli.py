"""./build.py as a user runs it: a subprocess from the repository root.

Nothing here reaches Docker or the network: `list` runs with --offline, and
DOCKER_HOST points at a socket that does not exist so that a command that
tried the engine would fail differently from the error the test expects.
"""

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys

import pytest
import yaml

from whiskey import cli, images, matrix

from .conftest import ROOT, build_py

COMMANDS = sorted(cli.parser()._subparsers._group_actions[0].choices)


@pytest.fixture(scope="module")
def variants():
    return matrix.load()


# -- help --------------------------------------------------------------------------------

def example_lines():
    """Each `./build.py ...` example line of the top-level help."""
    return [line.strip() for line in cli.EXAMPLES.splitlines()
            if line.strip().startswith("./build.py ")]


def test_help_of_the_program_lists_the_commands_with_examples(env):
    assert {"list", "sources", "render", "base", "build", "test", "push", "ci-matrix"} <= set(COMMANDS)
    p = build_py(env, "--help")
    assert (p.returncode, p.stderr) == (0, "")
    assert p.stdout.startswith("usage: build.py")
    shown = " ".join(p.stdout.split())
    for cmd in COMMANDS:
        assert " %s " % cmd in shown, cmd
    lines = example_lines()
    assert {line.split()[1] for line in lines} >= {"list", "sources", "render", "build", "push"}
    for line in lines:
        assert " ".join(line.split()) in shown


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_works_for_every_command(capsys, cmd):
    # argparse formats help lazily: a stray % in a help string only fails here.
    with pytest.raises(SystemExit) as e:
        cli.main([cmd, "--help"])
    assert e.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("usage: build.py %s" % cmd)


@pytest.mark.parametrize("line", example_lines(), ids=lambda line: " ".join(line.split()[1:3]))
def test_every_example_in_the_help_is_a_valid_command(line):
    # The command is the first column: two spaces or more end it.
    argv = shlex.split(re.split(r"\s{2,}", line)[0])[1:]
    try:
        args = cli.parser().parse_args(argv)
    except SystemExit as exc:  # --version exits 0 once it has printed
        assert exc.code == 0, "the help shows ./build.py %s, which build.py rejects" % " ".join(argv)
        return
    matrix.select(matrix.load(), getattr(args, "variants", None) or [])


def test_version_is_git_describe_of_the_checkout(env):
    described = subprocess.run(["git", "-C", ROOT, "describe", "--tags", "--always", "--dirty"],
                               capture_output=True, text=True, check=True).stdout
    p = build_py(env, "--version")
    assert (p.returncode, p.stdout, p.stderr) == (0, "build.py " + described, "")


# -- list ----------------------------------------------------------------------------------

def test_list_offline_lists_every_variant_with_tags(env, variants):
    p = build_py(env, "list", "--offline")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["VARIANT", "PYTHON", "INTERPRETER", "BASE", "TAGS", "SOURCES",
                                "HERE"]
    assert len(lines) == 1 + len(variants)
    for v, line in zip(variants, lines[1:], strict=True):
        assert line.split() == [v.name, v.python, v.interpreter, v.base, ",".join(v.tags), "-"]
    assert {line.split()[2] for line in lines[1:]} == {"compiled", "distribution"}


def test_list_offline_some_variants(env):
    p = build_py(env, "list", "--offline", "python-3.11", "python-2.7")
    assert p.returncode == 0, p.stderr
    names = [line.split()[0] for line in p.stdout.splitlines()[1:]]
    assert names == ["python-3.11", "python-2.7"]
    assert "python-2.7,python-2.7.18" in p.stdout


def test_list_says_on_stderr_what_it_probes(env, server, variants):
    env["PIP_INDEX_URL"] = server.url + "/simple/"  # answers 404: nothing leaves the machine
    (v,) = matrix.select(variants, ["python-3.11"])
    p = build_py(env, "list", "python-3.11")
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines() == [
        "probing where the source files of 1 variant can be obtained (--offline skips this)",
        "python-3.11: %d files" % len(v.artifacts)]
    assert p.stdout.splitlines()[1].split()[:7] == [
        v.name, v.python, v.interpreter, v.base, ",".join(v.tags), "no:", v.artifacts[0].file]


def test_broken_matrix_names_variant_and_key(env, tmp_path):
    with open(matrix.DEFAULT_PATH) as f:
        data = yaml.safe_load(f)
    del data["variants"]["python-3.4"]["pins"]["wheel"]
    broken = tmp_path / "matrix.yaml"
    broken.write_text(yaml.safe_dump(data))
    p = build_py(env, "--matrix", str(broken), "list", "--offline")
    assert p.returncode == 2
    assert p.stdout == ""
    assert "variant 'python-3.4'" in p.stderr
    assert "key 'pins.wheel'" in p.stderr
    assert p.stderr.startswith("build.py: error: ")
    assert "Traceback" not in p.stderr


def test_matrix_option_reads_another_file(env, tmp_path):
    with open(matrix.DEFAULT_PATH) as f:
        data = yaml.safe_load(f)
    data["variants"] = {"python-3.13": data["variants"]["python-3.13"]}
    small = tmp_path / "matrix.yaml"
    small.write_text(yaml.safe_dump(data))
    p = build_py(env, "--matrix", str(small), "list", "--offline")
    assert p.returncode == 0, p.stderr
    assert [line.split()[0] for line in p.stdout.splitlines()[1:]] == ["python-3.13"]
    assert "latest" in p.stdout


def test_duplicate_key_in_matrix_file(env, tmp_path):
    text = open(matrix.DEFAULT_PATH).read().replace(
        "    python: 3.13.5\n", "    python: 3.13.5\n    python: 3.13.6\n")
    bad = tmp_path / "matrix.yaml"
    bad.write_text(text)
    p = build_py(env, "--matrix", str(bad), "list", "--offline")
    assert p.returncode == 2
    assert "key 'python' appears twice" in p.stderr


# -- render ------------------------------------------------------------------------------------

def test_render_check_passes_on_the_repository(env, variants):
    p = build_py(env, "render", "--check")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ("versions/ matches templates/ and matrix.yaml (%d variants)"
                                % len(variants))


def test_render_check_fails_against_a_changed_matrix(env, tmp_path):
    # Same repository versions/, but a matrix whose 3.11 pins another python:
    # every file that mentions the version is stale, and nothing is written.
    text = open(matrix.DEFAULT_PATH).read().replace("python: 3.11.2", "python: 3.11.9")
    changed = tmp_path / "matrix.yaml"
    changed.write_text(text)
    before = open(os.path.join(ROOT, "versions", "python-3.11", "Dockerfile")).read()
    p = build_py(env, "--matrix", str(changed), "render", "--check")
    assert p.returncode == 1
    assert "versions/python-3.11/Dockerfile: differs from its template" in p.stderr
    assert "versions/ is stale: run ./build.py render" in p.stderr
    assert open(os.path.join(ROOT, "versions", "python-3.11", "Dockerfile")).read() == before


def test_render_check_names_the_files_of_a_dropped_variant(env, tmp_path):
    with open(matrix.DEFAULT_PATH) as f:
        data = yaml.safe_load(f)
    del data["variants"]["python-3.3"]
    smaller = tmp_path / "matrix.yaml"
    smaller.write_text(yaml.safe_dump(data, sort_keys=False))
    p = build_py(env, "--matrix", str(smaller), "render", "--check")
    assert p.returncode == 1
    assert p.stdout == ""
    # No other variant's Dockerfile changes: none names another variant.
    assert sorted(p.stderr.splitlines()[:-1]) == [
        "versions/README.md: differs from its template",
        "versions/python-3.3/Dockerfile: not made by any template or matrix entry"]
    assert os.path.exists(os.path.join(ROOT, "versions", "python-3.3", "Dockerfile"))


# -- build / base without Docker ------------------------------------------------------------------

def test_base_logs_to_stderr_and_prints_each_bases_result(monkeypatch, capsys):
    import docker.errors

    class Images(object):
        def get(self, name):
            raise docker.errors.ImageNotFound(name)

        def pull(self, name):
            pass
    monkeypatch.setattr(images, "client", lambda: type("Engine", (), {"images": Images()})())
    assert cli.main(["base", "python-3.11"]) == 0
    assert capsys.readouterr() == ("debian:bookworm-slim: pulled\n",
                                   "pulling debian:bookworm-slim\n")


def test_base_makes_every_missing_base_at_once(monkeypatch, capsys):
    """Three debootstraps on a new machine run side by side (each waits on the archive)."""
    import threading

    from whiskey import baseimage
    bases = sorted({v.base for v in matrix.load()})
    together = threading.Barrier(len(bases), timeout=10)  # broken unless all wait at once

    def ensure(client, base, pull=True):
        together.wait()
        return "created"
    monkeypatch.setattr(images, "client", lambda: object())
    monkeypatch.setattr(baseimage, "ensure", ensure)
    assert len(bases) == 3
    assert cli.main(["base"]) == 0
    assert capsys.readouterr().out == "".join("%s: created\n" % b for b in bases)


@pytest.mark.parametrize("argv, variants, passed", [
    (["test", "python-2.7", "-e", "behaviour", "--", "-k", "proxy"], ["python-2.7"], ["-k", "proxy"]),
    (["--matrix", matrix.DEFAULT_PATH, "test", "--", "-k", "y"], [], ["-k", "y"]),
    (["test", "-e", "unit"], [], []),
])
def test_arguments_after_a_double_dash_go_to_pytest(monkeypatch, argv, variants, passed):
    seen = {}

    def call(cmd, cwd, env):
        seen["cmd"], seen["variants"] = cmd, env.get("WHISKEY_VARIANTS")
        return 0
    monkeypatch.setattr(cli.subprocess, "call", call)
    monkeypatch.delenv("WHISKEY_VARIANTS", raising=False)
    assert cli.main(argv) == 0
    tail = seen["cmd"][seen["cmd"].index("-e") + 2:]
    assert tail == (["--"] + passed if passed else [])
    assert seen["variants"] == (",".join(variants) or None)


def test_test_refuses_an_unknown_variant_before_running_anything(monkeypatch, capsys):
    monkeypatch.setattr(cli.subprocess, "call", lambda *a, **k: pytest.fail("ran tox"))
    assert cli.main(["test", "python-9.9"]) == 2
    assert capsys.readouterr().err.startswith("build.py: error: unknown variant python-9.9")


def test_list_as_json(env):
    p = build_py(env, "list", "--offline", "--json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert [d["variant"] for d in data] == [v.name for v in matrix.load()]
    assert data[0]["tags"] == matrix.load()[0].tags and data[0]["sources"] is None


# -- bad input: one line on stderr, naming the cause; nothing on stdout ---------------------

KNOWN = ", ".join(v.name for v in matrix.load())
# (arguments, environment, exit code, the one line; "..." ends a line shown only in part).
# {tmp} holds latin1.yaml (not UTF-8, nor PEM, nor a directory), broken.yaml (not YAML)
# and other.yaml (a matrix with an unreadable tarball version).
BAD_INPUT = [
    ([], {}, 2, "build.py: error: the following arguments are required: COMMAND"),
    (["frobnicate"], {}, 2, "build.py: error: argument COMMAND: invalid choice: 'frobnicate' ..."),
    (["list", "nope"], {}, 2, "build.py: error: unknown variant nope (known: %s)" % KNOWN),
    (["base", "nope"], {}, 2, "build.py: error: unknown variant nope (known: %s)" % KNOWN),
    (["build", "nope", "python-0.1"], {}, 2,
     "build.py: error: unknown variant nope, python-0.1 (known: %s)" % KNOWN),
    (["test", "nope"], {}, 2, "build.py: error: unknown variant nope (known: %s)" % KNOWN),
    (["ci-matrix", "nope"], {}, 2, "build.py: error: unknown variant nope (known: %s)" % KNOWN),
    (["build", "--jobs", "0"], {}, 2,
     "build.py: error: argument -j/--jobs: must be a whole number of at least 1, got '0'"),
    (["push"], {}, 2, "build.py: error: the following arguments are required: --registry"),
    (["push", "--registry", "Bad Host/x"], {}, 2,
     "build.py: error: --registry 'Bad Host/x': 'Bad Host' is not a registry host ..."),
    (["--matrix", "/nonexistent/matrix.yaml", "render"], {}, 2,
     "build.py: error: cannot read the matrix file /nonexistent/matrix.yaml: No such file or "
     "directory"),
    (["--matrix", "{tmp}/latin1.yaml", "list", "--offline"], {}, 2,
     "build.py: error: {tmp}/latin1.yaml: not UTF-8 text (byte 0xe9 at offset 13)"),
    (["--matrix", "{tmp}/broken.yaml", "render", "--check"], {}, 2,
     "build.py: error: {tmp}/broken.yaml: not valid YAML: line 2, column 1: expected the node "
     "content, but found '<stream end>'"),
    (["--matrix", "{tmp}/other.yaml", "list", "--offline"], {}, 2,
     "build.py: error: {tmp}/other.yaml: variant 'python-3.4', key 'source.file': "
     "'Python-latest.tgz' is not a NAME-VERSION.tar.gz/.tgz/.tar.xz file name"),
    (["sources", "--from", "/nonexistent"], {}, 2,
     "build.py: error: --from /nonexistent: not a directory or an http(s) URL"),
    (["sources", "--from", "{tmp}"], {"WHISKEY_SOURCE_CACHE": "{tmp}/latin1.yaml"}, 2,
     "build.py: error: the source cache {tmp}/latin1.yaml is not a directory (choose another "
     "with $WHISKEY_SOURCE_CACHE)"),
    (["list", "--ca-bundle", "/nonexistent"], {}, 2,
     "build.py: error: the CA bundle /nonexistent (--ca-bundle or $WHISKEY_CA_BUNDLE) is not a "
     "file"),
    (["list", "python-3.11"], {"WHISKEY_CA_BUNDLE": "{tmp}/latin1.yaml"}, 2,
     "build.py: error: the CA bundle {tmp}/latin1.yaml (--ca-bundle or $WHISKEY_CA_BUNDLE) "
     "holds no PEM certificate"),
    (["build", "--dry-run"], {"WHISKEY_REPOSITORY": "Bad Repo!"}, 2,
     "build.py: error: the image repository 'Bad Repo!' (--repository or $WHISKEY_REPOSITORY): "
     "'Bad Repo!' is not lower-case letters and digits, separated by '.', '_' or '-'"),
    (["build", "--dry-run", "--repository", ""], {}, 2,
     "build.py: error: the image repository '' (--repository or $WHISKEY_REPOSITORY): it is "
     "empty"),
    (["sbom", "python-3.11", "--repository", "team/Whiskey"], {}, 2,
     "build.py: error: the image repository 'team/Whiskey' (--repository or "
     "$WHISKEY_REPOSITORY): 'Whiskey' is not lower-case letters and digits, separated by '.', "
     "'_' or '-'"),
    # DOCKER_HOST names a socket that does not exist: the engine's absence, before anything.
    (["build", "python-3.11"], {}, 1, "build.py: error: no Docker engine answers (..."),
]


@pytest.fixture
def bad_files(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes(b"variants: caf\xe9\n")
    (tmp_path / "broken.yaml").write_text("variants: [\n")
    (tmp_path / "other.yaml").write_text(
        open(matrix.DEFAULT_PATH).read().replace("Python-3.4.10.tgz", "Python-latest.tgz"))
    return str(tmp_path)


@pytest.mark.parametrize("argv, environment, code, line", BAD_INPUT,
                         ids=[" ".join(c[0] + ["%s=%s" % kv for kv in c[1].items()]) or "nothing"
                              for c in BAD_INPUT])
def test_bad_input_is_one_line_on_stderr(env, bad_files, argv, environment, code, line):
    env.update({k: v.format(tmp=bad_files) for k, v in environment.items()})
    p = build_py(env, *[a.format(tmp=bad_files) for a in argv])
    # argparse's own errors come after the command's usage, which is right: it shows the form.
    said = [out for out in p.stderr.splitlines() if not out.startswith(("usage: ", " "))]
    assert (p.returncode, p.stdout, len(said)) == (code, "", 1), p.stderr
    line = line.format(tmp=bad_files)
    assert said[0].startswith(line[:-3]) if line.endswith("...") else said[0] == line


@pytest.mark.parametrize("argv", [["list", "--offline"], ["ci-matrix"]])
def test_output_that_cannot_be_written_is_one_line(env, argv):
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, os.path.join(ROOT, "build.py")] + argv, cwd=ROOT,
                           env=env, stdout=full, stderr=subprocess.PIPE, text=True)
    assert (p.returncode, p.stderr) == (
        1, "build.py: error: cannot write the output: No space left on device\n")


def test_test_tools_outside_build_pys_venv_are_named_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "tox", None)  # `import tox` fails
    monkeypatch.setattr(sys, "prefix", "/usr")
    with pytest.raises(SystemExit) as exc:
        cli._test_tools()
    assert str(exc.value) == ("build.py: error: tox is not installed; install the test tools with "
                              "`pip install --require-hashes -r %s/requirements-test.txt`"
                              % matrix.ROOT)


def test_build_py_finds_the_command_past_global_options():
    import importlib.util
    spec = importlib.util.spec_from_file_location("build_py_script", os.path.join(ROOT, "build.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # in .venv/: nothing to bootstrap
    assert script._command(["--matrix", "m.yaml", "test", "-e", "unit"]) == "test"
    assert script._command(["test", "--", "-k", "x"]) == "test"
    assert script._command(["--help"]) is None


# -- build.py itself: the Python it runs on, and its .venv/ ----------------------------------

def test_an_older_python_is_told_the_floor_in_one_line(env):
    # The floor check runs before anything else; here a 3.9 is simulated.
    code = ("import runpy, sys; sys.version_info = (3, 9, 18, 'final', 0); "
            "sys.argv = ['build.py', 'list']; runpy.run_path(%r, run_name='__main__')"
            % os.path.join(ROOT, "build.py"))
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr == ("build.py: error: this is Python 3.9.18 (%s); build.py needs Python "
                        "3.11 or newer\n" % sys.executable)


def test_ctrl_c_while_creating_the_venv_removes_it_in_one_line(env, tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(os.path.join(ROOT, "build.py"), str(checkout))
    # An index that never answers: the Ctrl-C comes once pip has connected to
    # it and waits for an answer, so it lands while .venv/ is being made,
    # in the same place, however slow this machine is.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    silent.settimeout(120)
    (checkout / "requirements.txt").write_text(
        "--index-url http://127.0.0.1:%d/simple/\nsix==1.16.0 --hash=sha256:%s\n"
        % (silent.getsockname()[1], "0" * 64))
    # -S: no site-packages, so docker is not importable and build.py makes .venv/.
    # SIGINT as a terminal's shell leaves it: a background job of a
    # non-interactive shell (CI started with `... &`) inherits it ignored.
    p = subprocess.Popen([sys.executable, "-S", str(checkout / "build.py"), "list"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        connection = silent.accept()[0]
        try:
            os.killpg(p.pid, signal.SIGINT)  # as Ctrl-C does: to the whole foreground group
            out, err = p.communicate(timeout=60)
        finally:
            connection.close()
    finally:
        silent.close()
    assert (p.returncode, out) == (130, "")
    assert err.splitlines() == [
        "build.py: creating .venv/ with requirements.txt",
        "build.py: error: interrupted while creating .venv/; removed it, the next run makes it "
        "again"]
    assert not (checkout / ".venv").exists()
