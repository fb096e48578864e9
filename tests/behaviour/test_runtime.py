"""The runtime contract, proved against real containers in every buildable variant:
.whiskey hooks and files, server options, signals, PID 1, random UIDs, proxy
headers, static files, read-only root, logging, incremental builds, bad input.

The probe is built once per variant and each container below is asked every
question its settings allow (tests/README.md: what runs where, and why).  The
runtime image's own container is in test_runtime_image.py.
"""

import os
import re
import shutil
import threading
import time
from http.client import HTTPConnection

import pytest
from conftest import (
    APPS,
    REFUSED_STARTS,
    SPOOF,
    byte_code_written,
    embedded_by_default,
    processes,
    run_to_exit,
    serving,
    start_time_patched,
    wait_for_log,
)

# whiskey's defaults, which the image must apply
from server import DAEMON_BACKLOG, FRONT_THREADS_PER_PROCESS, THREADS

from tests.support import s2i

pytestmark = pytest.mark.slow

def copy_app(tmp_path, app):
    dest = str(tmp_path / app)
    shutil.copytree(os.path.join(APPS, app), dest)
    return dest


def write_app(tmp_path, files):
    root = tmp_path / "app"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root)


def changed_then_run(script):
    """A container command: script (in the application's directory, as the
    image's user), then the image's own s2i run, as PID 1."""
    return ["bash", "-c", "set -e; cd \"$HOME\"; %s\nexec /usr/libexec/s2i/run" % script]


# -- the probe as it starts by default, with one CPU, a read-only root and the access log on

@pytest.fixture(scope="module")
def served(docker_client, probe):
    with serving(docker_client, probe[0].id, nano_cpus=10 ** 9, read_only=True,
                 tmpfs={"/tmp": ""}, environment={"MOD_WSGI_ACCESS_LOG": "1"}) as app:
        yield app


def test_build_hooks_run_before_and_after_pip(served, probe):
    logs = probe[1]
    hooks = served.get("/hooks").json()
    assert hooks["pre-build"] == "six-missing uid=1001 s2i=from-s2i-environment"
    assert hooks["build"] == "six=1.16.0 s2i=from-s2i-environment"
    assert (logs.index("Running action hook pre-build") < logs.index("Installing requirements.txt")
            < logs.index("Running action hook build"))


def test_start_runs_user_vars_then_deploy_env_then_deploy(served):
    env = served.get("/environ").json()
    assert env["env:GREETING"] == "hello from user_vars"
    assert env["env:FROM_DEPLOY_ENV"] == "set by deploy-env"
    assert env["env:REMOVED_VAR"] is None  # deploy-env deleted its file
    assert env["env:S2I_VAR"] == "from-s2i-environment"  # .s2i/environment at run time
    deploy = served.get("/hooks").json()["deploy"]
    assert deploy == "deployed with set by deploy-env greeting=hello from user_vars"


def test_server_args_expand_variables_keep_quotes_and_execute_nothing(served):
    env = served.get("/environ").json()
    assert env["wsgi:GREETING_ARG"] == "hello from user_vars"
    assert env["wsgi:SPACED"] == "two words"
    assert env["wsgi:SUB"] == "$(touch /tmp/pwned)"
    assert env["wsgi:DOLLAR"] == "costs $5"
    code, _ = served.exec("test -e /tmp/pwned")
    assert code == 1


def _sleeps(port, count):
    """Seconds each of count concurrent /sleep (2 s) requests took, in order."""
    took = [None] * count

    def one(i):
        began = time.time()
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", "/sleep")
            if conn.getresponse().read() == b"slept":
                took[i] = time.time() - began
        finally:
            conn.close()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(t for t in took if t is not None)


def test_default_size_follows_one_cpu(served, variant):
    env = served.get("/environ").json()
    if not embedded_by_default(variant):
        assert (env["mod_wsgi:processes"], env["mod_wsgi:threads"]) == (1, THREADS)
        # a daemon queue for every front-end worker (server.DAEMON_BACKLOG)
        _, conf = served.exec(["cat", "/tmp/whiskey-1001/httpd/httpd.conf"])
        assert re.search(r"^\s*listen-backlog=%d " % DAEMON_BACKLOG, conf, re.M), conf
        return
    # Apache's own processes, sized for slow clients, run the application ...
    assert env["wsgi:mod_wsgi.process_group"] == ""
    assert (env["mod_wsgi:processes"], env["mod_wsgi:threads"]) == (1, FRONT_THREADS_PER_PROCESS)
    assert "Serving in Apache's own processes (embedded mode, whiskey's default" in served.logs()
    # ... and at most THREADS requests of a process run at once (the patched
    # mod_wsgi's gate): of THREADS + 1 requests of 2 s, one waits for a slot.
    took = _sleeps(int(served.url.rsplit(":", 1)[1]), THREADS + 1)
    assert len(took) == THREADS + 1, took
    assert took[THREADS - 1] < 3.5 and took[THREADS] >= 3.8, took


def test_apache_processes_start_without_what_the_app_does_not_use(served, variant):
    """whiskey's patch to mod_wsgi 6 (patches/, item 5): an Apache process imports
    neither logging, pkgutil nor dataclasses before the application does; and
    mod_wsgi.LogHandler, made when first asked for, still logs into Apache's log."""
    if not start_time_patched(variant):
        pytest.skip("whiskey's start-time patch is to mod_wsgi 6 (patches/)")
    assert served.get("/environ").json()["app:imported_before"] == ""
    assert served.get("/log").text == "logged"
    wait_for_log(served, "whiskey-probe-log-marker")


def test_without_trust_options_no_proxy_header_is_believed(served):
    env = served.get("/environ", headers=SPOOF).json()
    assert env["wsgi:REMOTE_ADDR"] not in ("203.0.113.9", "198.51.100.7", "198.51.100.8")
    assert env["wsgi:wsgi.url_scheme"] == "http"
    assert env["wsgi:SERVER_PORT"] != "443"  # it comes from the Host header instead


def test_forwarded_headers_are_unset_for_every_app(served):
    _, conf = served.exec(["cat", "/tmp/whiskey-1001/whiskey-httpd.conf"])
    assert "RequestHeader unset Forwarded" in conf and "RequestHeader unset X-Forwarded-Host" in conf


def test_static_files_by_apache_with_types_validators_and_404(served):
    css = served.get("/static/probe.css")
    assert css.status == 200 and css.text == "body { color: #333; }\n"
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.headers["Last-Modified"] and css.headers["ETag"]
    again = served.get("/static/probe.css", headers={"If-None-Match": css.headers["ETag"]})
    assert again.status == 304
    missing = served.get("/static/missing.css")
    assert missing.status == 404
    assert "probe: no such path" not in missing.text  # Apache's 404, not the app's
    assert "Not Found" in missing.text


def test_every_request_outside_the_static_urls_reaches_the_application(served):
    """mod_wsgi-express would serve a file of its default document root (in
    the server root, which the application's user can write): whiskey hands
    every request to the application without looking there (server.py,
    straight_to_application)."""
    code, _ = served.exec(["sh", "-c", "echo planted > /tmp/whiskey-1001/httpd/htdocs/planted.txt"])
    assert code == 0
    planted = served.get("/planted.txt")
    assert (planted.status, planted.text) == (404, "probe: no such path")
    assert served.get("/").text == "probe ok"


def test_access_log_to_stdout_and_app_output_unbuffered_to_stderr(served):
    assert served.get("/print").text == "printed"
    deadline = time.time() + 10
    while True:
        out = served.container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        err = served.container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        done = ("GET /print HTTP/1.1" in out and "whiskey-probe-stdout-marker" in err
                and "whiskey-probe-stderr-marker" in err)
        if done or time.time() > deadline:
            break
        time.sleep(0.2)
    assert "GET /print HTTP/1.1" in out
    assert "whiskey-probe-stdout-marker" in err and "whiskey-probe-stderr-marker" in err


def test_orphans_are_reaped_by_pid_1(served):
    code, pid = served.exec(["sh", "-c", "sleep 3 >/dev/null 2>&1 & echo $!"])
    pid = pid.strip()
    assert code == 0 and pid.isdigit()
    code, ppid = served.exec(["sh", "-c", "grep '^PPid:' /proc/%s/status" % pid])
    assert ppid.split() == ["PPid:", "1"]  # orphaned onto tini
    deadline = time.time() + 10
    while served.exec(["test", "-e", "/proc/%s" % pid])[0] == 0 and time.time() < deadline:
        time.sleep(0.3)
    code, _ = served.exec(["test", "-e", "/proc/%s" % pid])
    assert code == 1, "the orphan was not reaped (a zombie remains)"
    code, zombies = served.exec(["sh", "-c", "grep -l '^State:.*Z' /proc/[0-9]*/status || true"])
    assert zombies.strip() == ""


def test_runs_under_tini_as_1001(served):
    code, cmdline = served.exec("cat /proc/1/cmdline")
    assert code == 0 and cmdline.split("\0")[0].endswith("tini"), cmdline
    assert served.exec(["id", "-u"])[1].strip() == "1001"


def test_a_process_of_the_application_killed_by_a_signal_is_named_in_the_log(served, variant):
    # The last question for this container: another process takes its place.
    if embedded_by_default(variant):
        # An Apache process that runs the application, as a crash in a C extension
        # would end it (Apache's parent is the process that holds the pid file).
        parent = int(served.exec(["cat", "/tmp/whiskey-1001/httpd/httpd.pid"])[1])
        pid = [p for p, cmd in processes(served) if cmd.startswith("apache2") and p != parent][0]
        signal, said = "SEGV", "exit signal Segmentation fault (11)"
    else:
        pid = [p for p, cmd in processes(served) if cmd.startswith("(wsgi:")][0]
        signal, said = "KILL", "terminated by signal 9"
    code, out = served.exec(["kill", "-" + signal, str(pid)])
    assert code == 0, out
    pid = str(pid)
    logs = wait_for_log(served, said)
    died = [line for line in logs.splitlines() if said in line]
    assert died and pid in died[0], logs[-3000:]
    if not embedded_by_default(variant):
        assert "pid=%s" % pid in died[0] and "'localhost:8080'" in died[0]
    deadline = time.time() + 15
    while time.time() < deadline:  # and it was replaced
        try:
            if served.get("/", timeout=2).text == "probe ok":
                break
        except OSError:
            time.sleep(0.5)
    assert served.get("/").text == "probe ok"


# -- a random UID, two CPUs --------------------------------------------------------

@pytest.fixture(scope="module")
def random_uid(docker_client, probe):
    with serving(docker_client, probe[0].id, user="123456:0", nano_cpus=2 * 10 ** 9) as app:
        yield app


def test_a_start_under_a_random_uid_compiles_no_python(random_uid):
    """The image's build made the byte code of all a start imports (the
    standard library of a compiled variant, mod_wsgi) and the application's
    build that of its own modules (the probe's replies.py): a new container,
    here under a UID that could write it, compiles none of it again
    (BENCHMARKS.md, the cold start).  Asked first, before other questions
    run programs in the container."""
    assert random_uid.get("/").text == "probe ok"
    assert byte_code_written(random_uid) == []


def test_arbitrary_uid_has_a_passwd_entry_home_and_writable_places(random_uid):
    who = random_uid.get("/whoami").json()
    assert who == {"uid": 123456, "gid": 0, "name": "whiskey", "home": "/opt/app-root/src",
                   "expanduser": "/opt/app-root/src"}
    written = random_uid.get("/write")
    assert written.status == 200
    assert written.json()[0].startswith("/opt/app-root/src/")


def test_docker_exec_under_a_random_uid_has_a_name(random_uid):
    code, out = random_uid.exec(["whoami"])
    assert (code, out.strip()) == (0, "whiskey")
    code, out = random_uid.exec(["sh", "-c", "echo ~"])
    assert out.strip() == "/opt/app-root/src"
    code, out = random_uid.exec(["sh", "-c", "find / -xdev -type f -perm /6000 2>/dev/null | head -3"])
    assert out.strip() == ""  # no setuid/setgid program can use a planted passwd entry


def test_default_size_follows_two_cpus(random_uid, variant):
    if not embedded_by_default(variant):
        env = random_uid.get("/environ").json()
        assert (env["mod_wsgi:processes"], env["mod_wsgi:threads"]) == (2, THREADS)
        return
    # Two Apache processes run the application from the start (and the parent).
    apache = [cmd for _, cmd in processes(random_uid) if cmd.startswith("apache2")]
    assert len(apache) == 3, apache


# -- read-only root, a random UID, options from the environment, an app's LD_PRELOAD --

@pytest.fixture(scope="module")
def read_only(docker_client, probe):
    with serving(docker_client, probe[0].id, user="123456:0", read_only=True, tmpfs={"/tmp": ""},
                 environment={"MOD_WSGI_PROCESSES": "2", "MOD_WSGI_THREADS": "3",
                              "MOD_WSGI_EMBEDDED_MODE": "0",  # daemon processes, so sized
                              "PROBE_LD_PRELOAD": "libbz2.so.1.0"}) as app:
        yield app


def test_read_only_root_filesystem_with_tmpfs_tmp(read_only):
    assert read_only.get("/").text == "probe ok"
    assert read_only.get("/environ").json()["env:FROM_DEPLOY_ENV"] == "set by deploy-env"


def test_environment_variables_set_server_options(read_only):
    env = read_only.get("/environ").json()
    assert (env["mod_wsgi:processes"], env["mod_wsgi:threads"]) == (2, 3)


def test_an_apps_ld_preload_keeps_the_random_uid_preload(read_only):
    # Read-only root: the passwd entry can only come from nss_wrapper.
    libs = read_only.get("/maps").json()
    assert any(lib.startswith("libbz2.so") for lib in libs), libs  # the app's preload
    assert "libnss_wrapper.so" in libs  # and nss_wrapper's
    assert read_only.get("/whoami").json()["name"] == "whiskey"


# -- signals: a terminal, a killed Apache, docker stop ----------------------------------

def test_terminal_resize_and_sigwinch_do_not_stop_the_server_and_a_killed_apache_is_named(
        docker_client, probe):
    with serving(docker_client, probe[0].id, tty=True, stdin_open=True) as app:
        # A resize of the pty makes the kernel send SIGWINCH to the terminal's
        # foreground process group, as under `docker run -it`.
        for height, width in ((30, 100), (40, 120), (50, 160)):
            docker_client.api.resize(app.container.id, height, width)
            time.sleep(0.2)
        app.container.kill("SIGWINCH")  # and straight to PID 1
        time.sleep(1)
        app.container.reload()
        assert app.container.status == "running"
        assert app.get("/").text == "probe ok"
        # Then Apache itself dies.
        code, pid = app.exec(["sh", "-c", "cat /tmp/whiskey-1001/httpd/httpd.pid"])
        pid = pid.strip()
        assert code == 0 and pid.isdigit()
        app.exec(["kill", "-9", pid])
        app.container.wait(timeout=20)
        assert "whiskey: ERROR: Apache (pid %s) was killed by SIGKILL (9)" % pid in app.logs()


def test_docker_stop_is_graceful_quick_and_clean(docker_client, probe, apps):
    apps.settle()  # timed: no application build beside it
    with serving(docker_client, probe[0].id) as app:
        result = {}
        slow = threading.Thread(target=lambda: result.update(r=app.get("/sleep")))
        slow.start()
        time.sleep(0.5)  # the request is in flight
        began = time.time()
        app.container.stop(timeout=10)
        elapsed = time.time() - began
        slow.join(15)
        app.container.reload()
        assert app.container.attrs["State"]["ExitCode"] == 0
        assert elapsed < 8, "stopped only after %.1fs (killed by the timeout?)" % elapsed
        assert result["r"].status == 200 and result["r"].text == "slept"
        assert "shutting down gracefully" in app.logs()


# -- starts that are refused (one container runs them all: conftest.refused_starts) --

def test_failing_deploy_hook_stops_the_container_with_its_output(docker_client, probe):
    status, logs = run_to_exit(docker_client, probe[0].id, environment={"FAIL_DEPLOY": "1"})
    assert status == 1
    assert "probe deploy hook failing on purpose" in logs
    assert "action hook .whiskey/action_hooks/deploy failed with exit status 3" in logs


def test_unknown_server_option_stops_the_container_with_the_reason(docker_client, probe):
    status, logs = run_to_exit(docker_client, probe[0].id,
                               command=changed_then_run("echo '--no-such-option 1' >> .whiskey/server_args"))
    assert status != 0
    assert "no such option: --no-such-option" in logs


@pytest.mark.parametrize("option", ["locale", "host", "lang"])
def test_shell_syntax_in_values_for_apachectl_is_refused(refused_starts, option):
    status, logs, pwned = refused_starts[option]
    assert REFUSED_STARTS[option][0] == "--%s '0$(touch /tmp/pwned)'\n" % option
    errors = [line for line in logs.splitlines() if line.startswith("whiskey: ERROR")]
    assert errors == ["whiskey: ERROR: .whiskey/server_args: --%s '0$(touch /tmp/pwned)' is "
                      "refused: mod_wsgi-express writes this value into a shell script, so it "
                      "may only contain letters, digits and _.,:@%%+=/~[]-" % option]
    assert (status, pwned) == (2, False)


# -- apps changed at start: the same image, its files edited before `run` ---------------

def test_syntax_error_in_the_app_is_a_500_with_the_traceback_in_the_log(docker_client, probe):
    command = changed_then_run("printf 'def application(:\\n' > broken.py; "
                               "echo '--entry-point broken.py' > .whiskey/server_args")
    with serving(docker_client, probe[0].id, command=command) as app:
        assert app.get("/").status == 500
        assert "SyntaxError" in wait_for_log(app, "SyntaxError", timeout=10)


def test_start_hook_without_shebang_runs_under_bash_like_the_others(docker_client, probe):
    command = changed_then_run(
        "printf '%s\\n' 'echo \"start hook under bash $BASH_VERSION\"' "
        "'exec mod_wsgi-express start-server \"$@\"' > .whiskey/action_hooks/start; "
        "chmod +x .whiskey/action_hooks/start")
    with serving(docker_client, probe[0].id, command=command) as app:
        assert app.get("/").text == "probe ok"
        assert "start hook under bash " in app.logs()
        assert "Traceback" not in app.logs()


# -- incremental builds ---------------------------------------------------------------

# crcmod's C extension in use, and the CRC-32 of b"whiskey" (zlib's value).
CRC = {"crcmod": "compiled", "crc32": 3363689497}


@pytest.fixture(scope="module")
def compiled_clean(apps, builder):
    return apps.build(builder, "compiled", suffix="-inc")


def test_incremental_rebuild_reuses_wheels_without_network(apps, builder, run, compiled_clean):
    _, clean_logs = compiled_clean
    assert "Compiled from source: crcmod-1.7-" in clean_logs
    image, logs = apps.build(builder, "compiled", suffix="-inc", incremental=True,
                             network_mode="none")
    assert "Restoring" in logs and "unchanged since the previous build" in logs
    # Not even pip runs: the saved wheel is unpacked, every file checked.
    assert ("its 1 saved wheels are installed without pip, each file checked against its "
            "wheel's RECORD") in logs, logs
    assert "Installing requirements.txt" not in logs
    assert "Compiled from source" not in logs and "Downloading" not in logs
    assert re.search(r"---> Reused: crcmod-1\.7-\S+\.whl \(requirements.txt unchanged\)", logs)
    assert run(image.id).get("/").json() == CRC


def changed_previous_image(apps, builder, docker_client, compiled_clean, suffix, script):
    """The clean build of tests/apps/compiled, changed by script and committed as
    <tag><suffix>: the previous image of the next incremental build."""
    box = docker_client.containers.create(compiled_clean[0].id, ["sh", "-c", script])
    try:
        box.start()
        assert box.wait(timeout=60)["StatusCode"] == 0
        box.commit(*apps.tag(builder, "compiled", suffix).split(":"))
    finally:
        box.remove(force=True)


# What a build hook of an earlier revision could leave in its image to outlive
# its removal (a "revert and rebuild" must give a clean image): an edited
# application file claimed by a distribution's RECORD, changed installed
# files, a .pth, a script in bin/, byte code.  (A manifest naming other files
# is refused by installed.py; tests/unit.)
POISON = (
    "set -e; cd /opt/app-root; site=$(echo lib/python*/site-packages); "
    "echo 'poisoned = 1' >> src/wsgi.py; "
    "for r in $site/crcmod-*.dist-info/RECORD; do echo '../../../src/wsgi.py,,' >> $r; done; "
    "echo '# poisoned' >> $site/crcmod/__init__.py; "
    "echo 'import os  # poisoned' > $site/poisoned.pth; "
    "printf '#!/bin/sh\\n# poisoned\\n' > bin/poisoned; "
    "for f in $(find $site/crcmod -name '*.py'); do echo 'poisoned = 1' >> $f; "
    "python -c \"import py_compile, sys; py_compile.compile(sys.argv[1])\" $f; done")


def test_a_poisoned_previous_image_leaves_nothing_behind(apps, builder, run, docker_client,
                                                         compiled_clean):
    changed_previous_image(apps, builder, docker_client, compiled_clean, "-poisoned", POISON)
    image, logs = apps.build(builder, "compiled", suffix="-poisoned", incremental=True,
                             network_mode="none")
    # The saved wheel is installed without pip; no installed file, byte code or
    # application file of the previous image travels.
    assert "its 1 saved wheels are installed without pip" in logs, logs
    app = run(image.id)
    assert app.get("/").json() == CRC
    code, out = app.exec(["sh", "-c", "grep -rl poisoned /opt/app-root/src /opt/app-root/bin "
                          "/opt/app-root/lib/python*/site-packages; echo done"])
    assert out.split() == ["done"], out


def test_incremental_rebuild_with_changed_requirements(apps, builder, run, compiled_clean, tmp_path):
    src = copy_app(tmp_path, "compiled")
    with open(os.path.join(src, "requirements.txt"), "a") as f:
        f.write("six==1.16.0\n")
    image, logs = apps.build(builder, "compiled", suffix="-inc", incremental=True, src=src)
    assert ("Not repeating the previous build's install: requirements.txt changed since the "
            "previous build") in logs, logs
    assert "Building wheels for requirements.txt" in logs
    assert "Compiled from source: crcmod" not in logs  # reused, not compiled again
    assert re.search(r"Reused: crcmod-1\.7-\S+\.whl \(saved by the previous build\)", logs)
    assert "Downloaded: six-1.16.0-py2.py3-none-any.whl (none saved)" in logs
    assert run(image.id).get("/").json() == CRC


# tests/apps/compiled's requirements as pip-compile --generate-hashes writes them, plus a
# wheel: crcmod is published only as an sdist, six as a wheel.
HASHED = ("crcmod==1.7 \\\n"
          "    --hash=sha256:dc7051a0db5f2bd48665a990d3ec1cc305a466a77358ca4492826f41f283601e\n"
          "six==1.16.0 \\\n"
          "    --hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254\n")


def test_hash_pinned_requirements_with_an_sdist_build_and_rebuild(apps, builder, run, tmp_path):
    """pip's hash-checking mode: the sdist is checked against its pin and compiled.  Next
    time the pinned wheel (six) is reused, and crcmod is compiled again: no pin can vouch
    for a wheel that an earlier build compiled."""
    src = copy_app(tmp_path, "compiled")
    with open(os.path.join(src, "requirements.txt"), "w") as f:
        f.write(HASHED)
    image, logs = apps.build(builder, "compiled", suffix="-hashed", src=src)
    assert "Compiled from source: crcmod-1.7-" in logs, logs
    assert run(image.id).get("/").json() == CRC
    image, logs = apps.build(builder, "compiled", suffix="-hashed", incremental=True, src=src)
    assert "Restoring 2 wheels from the previous build" in logs, logs
    assert re.search(r"Not reused: crcmod-1\.7-\S+\.whl \(requirements.txt pins hashes", logs), logs
    assert "Not reused: six" not in logs
    assert "Compiled from source: crcmod-1.7-" in logs
    assert run(image.id).get("/").json() == CRC


def test_a_damaged_saved_wheel_is_rebuilt_not_trusted(apps, builder, run, docker_client,
                                                      compiled_clean):
    """A wheel broken in the previous image (a truncated file) is named, dropped and compiled
    again; the build after that is offline again."""
    changed_previous_image(apps, builder, docker_client, compiled_clean, "-damaged",
                           "for w in /opt/app-root/var/wheels/crcmod-*.whl; do "
                           "head -c 200 \"$w\" > /tmp/cut && cat /tmp/cut > \"$w\"; done")
    image, logs = apps.build(builder, "compiled", suffix="-damaged", incremental=True)
    assert "the saved wheel crcmod-1.7-" in logs and "is damaged (" in logs, logs
    assert "Not repeating the previous build's install: a saved wheel was damaged" in logs
    assert "Compiled from source: crcmod-1.7-" in logs
    assert run(image.id).get("/").json() == CRC
    image, logs = apps.build(builder, "compiled", suffix="-damaged", incremental=True,
                             network_mode="none")
    assert "damaged" not in logs and "unchanged since the previous build" in logs
    assert run(image.id).get("/").json() == CRC


# -- bad input at build time ------------------------------------------------------------

def test_requirement_that_does_not_exist_fails_the_build_naming_it(apps, builder, tmp_path):
    src = write_app(tmp_path, {"wsgi.py": "", "requirements.txt": "whiskey-no-such-package-zz==1.0\n"})
    with pytest.raises(s2i.AssembleError) as exc:
        apps.build(builder, "bad-requirements", src=src, suffix="-missing")
    assert "whiskey-no-such-package-zz" in exc.value.logs
    assert "pip could not build requirements.txt" in exc.value.logs


def test_failing_build_hook_fails_the_build(apps, builder):
    with pytest.raises(s2i.AssembleError) as exc:
        apps.build(builder, "probe", env={"FAIL_BUILD": "1"}, suffix="-failbuild")
    assert "probe build hook failing on purpose" in exc.value.logs
    assert "action hook .whiskey/action_hooks/build failed with exit status 4" in exc.value.logs


def test_empty_source_is_a_clear_error(apps, builder, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(s2i.AssembleError) as exc:
        apps.build(builder, "empty", src=str(empty))
    assert "the application source is empty" in exc.value.logs


# -- forwarded-for chains (the test client is "the nearest proxy": its requests
# come from the Docker bridge gateway, a private 172.16.0.0/12 address) ----------------

@pytest.fixture(scope="module")
def proxied(apps, builder):
    return apps.build(builder, "proxied")[0]


# A resolver that answers nothing and prints each query it gets: the
# container behind the router asks it, and nothing should.
RESOLVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
sys.stdout.write("listening\\n"); sys.stdout.flush()
while True:
    sys.stdout.write("query %r\\n" % (s.recvfrom(512)[0],)); sys.stdout.flush()
"""


@pytest.fixture(scope="module")
def resolver(docker_client, builder):
    container = docker_client.containers.run(builder, ["python", "-c", RESOLVER], user="0",
                                             detach=True)
    try:
        deadline = time.time() + 30
        while b"listening" not in container.logs() and time.time() < deadline:
            time.sleep(0.1)
        container.reload()
        yield container
    finally:
        container.remove(force=True)


@pytest.fixture(scope="module")
def behind_router(docker_client, proxied, resolver):
    with serving(docker_client, proxied.id,
                 dns=[resolver.attrs["NetworkSettings"]["IPAddress"]]) as app:
        yield app


def _gateway(app):
    """REMOTE_ADDR of a request without forwarded headers: the peer itself."""
    return app.get("/").json()["REMOTE_ADDR"]


@pytest.mark.parametrize("xff, expected", [
    (None, "gateway"),                                   # 1 hop: no proxy in between
    ("203.0.113.9", "203.0.113.9"),                      # 2 hops: client, our proxy
    ("203.0.113.9, 10.1.2.3", "203.0.113.9"),            # 3 hops: 10.1.2.3 is a trusted proxy
    ("6.6.6.6, 198.51.100.20", "198.51.100.20"),         # a client writing its own entry
    ("6.6.6.6, 198.51.100.20, 172.16.5.5", "198.51.100.20"),
], ids=["1-hop", "2-hops", "3-hops", "spoofing-client", "spoofing-client-3-hops"])
def test_forwarded_for_chain_the_nearest_trusted_proxy_wins(behind_router, xff, expected):
    gateway = _gateway(behind_router)
    assert gateway.startswith("172.")  # the bridge gateway, inside the default trusted ranges
    env = behind_router.get("/", headers={"X-Forwarded-For": xff} if xff else {}).json()
    assert env["REMOTE_ADDR"] == (gateway if expected == "gateway" else expected)
    assert "6.6.6.6" != env["REMOTE_ADDR"]
    assert "---> Trusting X-Forwarded-For, X-Forwarded-Port, X-Forwarded-Scheme only from " \
        "10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 127.0.0.0/8 fc00::/7 ::1/128" in behind_router.logs()


def test_a_name_in_forwarded_for_is_never_looked_up(behind_router, resolver):
    """mod_wsgi resolved each entry with getaddrinfo: a name sent through a trusted
    proxy made Apache query DNS and wait on it (patches/, item 1)."""
    answer = behind_router.get("/", headers={
        "X-Forwarded-For": "203.0.113.9, whiskey-dns-probe.invalid"})
    assert answer.status == 200
    assert "query" not in resolver.logs().decode(), resolver.logs()


def test_forwarded_and_forwarded_host_never_reach_the_app(behind_router):
    headers = {"Forwarded": "for=6.6.6.6;host=evil.example;proto=https",
               "X-Forwarded-Host": "evil.example", "X-Host": "evil.example",
               "X-Forwarded-Port": "443x"}
    env = behind_router.get("/", headers=headers).json()
    assert env["HTTP_FORWARDED"] is None
    assert env["HTTP_X_FORWARDED_HOST"] is None and env["HTTP_X_HOST"] is None
    assert env["HTTP_HOST"].startswith("127.0.0.1:")
    assert env["SERVER_PORT"] != "443x"  # a port that is not a number is dropped


def test_narrowed_trusted_proxies_ignore_forwarded_headers_from_others(docker_client, proxied):
    with serving(docker_client, proxied.id,
                 environment={"WHISKEY_TRUSTED_PROXIES": "192.0.2.0/24"}) as app:
        gateway = _gateway(app)
        env = app.get("/", headers=SPOOF).json()
        assert env["REMOTE_ADDR"] == gateway  # the gateway is no longer a trusted proxy
        assert env["wsgi.url_scheme"] == "http"
        assert env["HTTP_X_FORWARDED_FOR"] is None  # untrusted: removed, not passed on
        assert env["HTTP_X_REAL_IP"] is None and env["HTTP_X_CLIENT_IP"] is None
        assert "only from 192.0.2.0/24 (WHISKEY_TRUSTED_PROXIES)" in app.logs()


def test_explicit_trust_proxy_replaces_the_default_set(docker_client, proxied):
    command = changed_then_run("echo '--trust-proxy 192.0.2.1' >> .whiskey/server_args")
    with serving(docker_client, proxied.id, command=command) as app:
        env = app.get("/", headers={"X-Forwarded-For": "203.0.113.9"}).json()
        assert env["REMOTE_ADDR"] == _gateway(app)
        assert "---> Trusting" not in app.logs()
        _, args = app.exec(["cat", ".whiskey/server_args"])
        assert re.search(r"^--trust-proxy 192\.0\.2\.1$", args, re.M)
