"""root/usr/libexec/whiskey/server.py: the mod_wsgi-express command line of the run script.

The module under test is the file every image carries, imported as a plain
module (pytest.ini puts its directory on the path); main() is run as a
subprocess with a stand-in mod_wsgi package (fake_mod_wsgi) whose setup-server records the
arguments it was given.
"""

import contextlib
import os
import re
import signal
import struct
import subprocess
import sys
import time

import pytest
import server
import supervise

# The start as `run` makes it, after tini: whiskey.py run (runtime.py, then server.py).
START = [os.path.join(os.path.dirname(server.__file__), "whiskey.py"), "run"]
DEFAULTS = ["--log-to-terminal", "--startup-log", "--port", "8080"]
# With no LANG in the environment the locale falls back to the image's C.UTF-8;
# sized for one CPU: one process of 32 threads, a daemon queue for every front-end worker.
SIZING = ["--threads", "32", "--daemon-backlog", "1280"]
FIXED = DEFAULTS + ["--locale", "C.UTF-8", "--processes", "1"] + SIZING


SCRUB = ("RequestHeader unset Forwarded\nRequestHeader unset X-Forwarded-Host\n"
         "RequestHeader unset X-Host\n")


def args(text="", **env):
    return server.server_args(env, text)


def extra(text="", **env):
    """What server_args adds after the defaults."""
    out = args(text, **env)
    assert out[:len(FIXED)] == FIXED
    return out[len(FIXED):]


# -- defaults and environment ------------------------------------------------------

def test_defaults_come_first():
    assert server.DEFAULTS == DEFAULTS
    assert args() == FIXED
    out = args("--port 9000", MOD_WSGI_PROCESSES="3")
    assert out[:len(FIXED)] == FIXED
    # The environment after the sizing defaults, server_args after the
    # environment: the later wins (mod_wsgi-express keeps the last value).
    assert out[len(FIXED):] == ["--processes", "3", "--port", "9000"]


@pytest.mark.parametrize("cpus, processes", [(0.25, "1"), (1.0, "1"), (1.5, "2"), (2.0, "2"),
                                             (3.0, "3"), (64.0, "4")])
def test_processes_follow_the_containers_cpus(cpus, processes):
    assert server.sizing_args(cpus) == ["--processes", processes] + SIZING
    assert server.server_args({}, "", cpus)[6:12] == ["--processes", processes] + SIZING


def test_the_daemon_queues_what_every_front_end_worker_can_pass_on():
    assert server.DAEMON_BACKLOG == (server.FRONT_THREADS_PER_PROCESS * server.FRONT_PROCESSES)
    assert extra(MOD_WSGI_DAEMON_BACKLOG="100") == ["--daemon-backlog", "100"]  # the later wins


def test_whiskey_cpus_overrides_detection():
    assert server.container_cpus({"WHISKEY_CPUS": "3"}) == 3.0
    assert server.container_cpus({}) >= 1.0  # the quota or the machine's CPUs


def test_locale_follows_lang():
    assert args(LANG="de_DE.UTF-8")[4:6] == ["--locale", "de_DE.UTF-8"]


def test_processes_from_environment():
    assert extra(MOD_WSGI_PROCESSES="3") == ["--processes", "3"]


def test_empty_value_option_is_not_passed():
    assert extra(MOD_WSGI_PROCESSES="") == []


def test_several_value_options_keep_table_order():
    assert extra(MOD_WSGI_THREADS="8", MOD_WSGI_PROCESSES="2",
                 MOD_WSGI_ENTRY_POINT="app.wsgi") == [
        "--processes", "2", "--threads", "8", "--entry-point", "app.wsgi"]


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", "On"])
def test_access_log_true_values(value):
    assert extra(MOD_WSGI_ACCESS_LOG=value) == ["--access-log"]


@pytest.mark.parametrize("value", ["0", "false", "no", "off", ""])
def test_access_log_false_values(value):
    out = args(MOD_WSGI_ACCESS_LOG=value)
    assert "--access-log" not in out
    assert out == FIXED


def test_debugger_flag_adds_two_options():
    assert extra(MOD_WSGI_ENABLE_DEBUGGER="1") == ["--debug-mode", "--enable-debugger"]


def test_unrelated_environment_is_ignored():
    assert args(HOME="/opt/app-root/src", PATH="/bin", MOD_WSGI_UNKNOWN="1") == FIXED


# -- server_args text -------------------------------------------------------------------

def test_server_args_lines_split():
    text = "--url-alias /static static\n--application-type module --entry-point hello_world.wsgi\n"
    assert extra(text) == ["--url-alias", "/static", "static",
                           "--application-type", "module", "--entry-point", "hello_world.wsgi"]


def test_comment_lines_are_ignored():
    text = "# serve static files\n--url-alias /static static\n  # indented comment --port 1\n"
    assert extra(text) == ["--url-alias", "/static", "static"]


def test_trailing_comment_is_ignored():
    assert extra("--threads 4  # more threads\n--processes 2") == [
        "--threads", "4", "--processes", "2"]


def test_hash_inside_a_word_is_not_a_comment():
    # A shell starts a comment only at the start of a word: `dev#1` is one
    # word, and the rest of the line still counts.
    assert extra("--setenv CHANNEL dev#1 --threads 4") == [
        "--setenv", "CHANNEL", "dev#1", "--threads", "4"]


def test_double_quotes_group_words():
    assert extra('--setenv GREETING "hello world"') == ["--setenv", "GREETING", "hello world"]


def test_single_quotes_group_words():
    assert extra("--setenv GREETING 'hello  world'") == ["--setenv", "GREETING", "hello  world"]


def test_empty_quotes_give_an_empty_argument():
    assert extra('--setenv EMPTY ""') == ["--setenv", "EMPTY", ""]


def test_dollar_name_and_braces_expand():
    assert extra("--setenv A $HOME --setenv B ${HOME}/x", HOME="/opt/app-root/src") == [
        "--setenv", "A", "/opt/app-root/src", "--setenv", "B", "/opt/app-root/src/x"]


def test_unset_variable_expands_to_nothing():
    assert extra("--a $NOT_SET_ANYWHERE b") == ["--a", "b"]
    assert extra('--setenv X "$NOT_SET_ANYWHERE"') == ["--setenv", "X", ""]


def test_double_dollar_is_a_literal_dollar():
    assert extra("--setenv PRICE $$5 --setenv V $$HOME", HOME="/h") == [
        "--setenv", "PRICE", "$5", "--setenv", "V", "$HOME"]


def test_expanded_value_with_spaces_in_quotes_is_one_argument():
    assert extra('--setenv GREETING "$GREETING"', GREETING="hello world") == [
        "--setenv", "GREETING", "hello world"]


def test_expanded_value_keeps_its_quote_characters():
    # A shell does not re-read quotes that come out of a variable's value.
    value = 'it\'s "fine"'
    assert extra('--setenv MSG "$MSG"', MSG=value) == ["--setenv", "MSG", value]


def test_command_substitution_is_never_run(tmp_path):
    marker = tmp_path / "x"
    text = "--setenv A $(touch %s)" % marker
    out = extra(text)
    assert out == ["--setenv", "A", "$(touch", "%s)" % marker]
    assert "$(touch" in " ".join(out)
    assert not marker.exists()


def test_backticks_are_never_run(tmp_path):
    marker = tmp_path / "y"
    out = extra("--setenv A `touch %s`" % marker)
    assert out == ["--setenv", "A", "`touch", "%s`" % marker]
    assert not marker.exists()


def test_quoted_command_substitution_stays_literal(tmp_path):
    marker = tmp_path / "z"
    out = extra('--setenv A "$(touch %s)"' % marker)
    assert out == ["--setenv", "A", "$(touch %s)" % marker]
    assert not marker.exists()


def test_other_dollars_stay_literal():
    assert server.split("$(id) `id` $1 $ a$", {"1": "no"}) == ["$(id)", "`id`", "$1", "$", "a$"]


@pytest.mark.parametrize("text", ["${}", "${1x}", "${A", "${A B}"])
def test_malformed_braced_reference_is_an_error(text):
    with pytest.raises(server.ServerArgsError) as e:
        server.split(text, {})
    assert "bad variable reference" in str(e.value)


@pytest.mark.parametrize("text", ['--setenv A "unclosed', "--setenv A 'unclosed", "--a \\"])
def test_unbalanced_quote_raises(text):
    with pytest.raises(server.ServerArgsError) as e:
        server.server_args({}, text)
    assert str(e.value).startswith(".whiskey/server_args: ")


def test_server_args_error_is_a_value_error():
    assert issubclass(server.ServerArgsError, ValueError)


# -- main(): what actually gets exec'd -----------------------------------------------------

# A stand-in mod_wsgi package: setup-server that records what it was given.
FAKE_MOD_WSGI = os.path.join(os.path.dirname(__file__), "fake_mod_wsgi")


@pytest.fixture
def app(tmp_path):
    """An app dir (HOME) and a recording mod_wsgi-express (FAKE_MOD_WSGI)."""
    src = tmp_path / "src"
    (src / ".whiskey" / "action_hooks").mkdir(parents=True)
    out = tmp_path / "argv.txt"
    env = {"HOME": str(src), "OUT": str(out), "WHISKEY_RUNTIME_DIR": str(tmp_path / "runtime"),
           "WHISKEY_CPUS": "1", "PYTHONPATH": FAKE_MOD_WSGI, "PATH": "/usr/bin:/bin"}
    return src, out, env


def start_hook(src, text, mode=0o755):
    """Write .whiskey/action_hooks/start with the given text and mode."""
    hook = src / ".whiskey" / "action_hooks" / "start"
    hook.write_text(text)
    hook.chmod(mode)


def _run(env, *argv):
    return subprocess.run([sys.executable] + START + list(argv), env=env,
                          capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def supervised(env, out, **popen):
    """server.py running against the fake Apache (started and waiting); never
    leaves the fake server (in its own process group) behind."""
    env["APACHE_WAIT"] = "1"
    proc = subprocess.Popen([sys.executable] + START, env=env, **popen)
    try:
        ready = str(out) + ".ready"
        deadline = time.time() + 20
        while not os.path.exists(ready) and time.time() < deadline:
            time.sleep(0.05)
        assert os.path.exists(ready), "fake apache never started"
        yield proc
    finally:
        proc.kill()
        try:
            with open(str(out) + ".pid") as f:
                os.killpg(int(f.read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def test_main_execs_mod_wsgi_express(app):
    src, out, env = app
    (src / ".whiskey" / "server_args").write_text('--setenv G "hi there" # note\n')
    env["MOD_WSGI_PROCESSES"] = "2"
    proc = _run(env, "--reload-on-changes")
    assert proc.returncode == 0, proc.stderr
    runtime = env["WHISKEY_RUNTIME_DIR"]
    assert out.read_text().splitlines() == (
        ["mod_wsgi-express", "setup-server"] + FIXED
        + ["--processes", "2", "--setenv", "G", "hi there", "--reload-on-changes",
           server.PLACEHOLDER,  # nothing names the application: 503 to every request
           "--include-file", runtime + "/whiskey-httpd.conf", "--server-root", runtime + "/httpd"])
    assert "---> mod_wsgi-express setup-server --log-to-terminal" in proc.stderr
    # setup-server runs in server.py's process; its report is the log's, as the command's was
    assert "Server Root        : " + runtime + "/httpd\n" in proc.stderr and proc.stdout == ""
    with open(str(out) + ".apachectl") as f:
        assert f.read() == "apachectl start -DFOREGROUND\n"
    with open(runtime + "/whiskey-httpd.conf") as f:
        conf = f.read()
    # Requests get 6 of the 8 s a stop may take; then the front end's sizing
    # and the loopback-only status page.
    assert conf.startswith("GracefulShutdownTimeout 6\n" + SCRUB + "LogLevel wsgi:info\n")
    assert "MaxRequestWorkers 1280\n" in conf and "SetHandler server-status\n" in conf


@pytest.mark.parametrize("value, graceful", [("3", 1), ("20", 18), ("1", 1)])
def test_stop_timeout_is_configurable(app, value, graceful):
    src, out, env = app
    env["WHISKEY_STOP_TIMEOUT"] = value
    assert _run(env).returncode == 0
    with open(env["WHISKEY_RUNTIME_DIR"] + "/whiskey-httpd.conf") as f:
        assert f.read().splitlines()[0] == "GracefulShutdownTimeout %d" % graceful


@pytest.mark.parametrize("value", ["8s", "inf", "-1", "nan"])
def test_a_stop_timeout_that_is_not_a_number_is_one_line(app, value):
    src, out, env = app
    env["WHISKEY_STOP_TIMEOUT"] = value
    proc = _run(env)
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr == ("whiskey: ERROR: WHISKEY_STOP_TIMEOUT: %r is not a number of seconds\n"
                           % value)


def test_a_server_that_ignores_the_stop_is_ended_within_the_stop_timeout(app):
    """Apache stuck on a request that never ends: the supervisor stops it
    (TERM) after the graceful part, kills its process group at the end and
    exits 143, before Docker's own SIGKILL."""
    src, out, env = app
    env["APACHE_IGNORE"] = "WINCH TERM"
    env["WHISKEY_STOP_TIMEOUT"] = "3"
    with supervised(env, out, stderr=subprocess.PIPE, text=True) as proc:
        began = time.time()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 143
        elapsed = time.time() - began
        stderr = proc.stderr.read()
    assert 1 <= elapsed < 3, elapsed
    assert "requests still running 1 s after the stop signal are cut off" in stderr
    assert "in flight when the stop began: unknown" in stderr  # no status page in the fake
    assert "Apache did not stop" in stderr
    with open(str(out) + ".signals") as f:
        assert f.read().split() == ["WINCH", "TERM"]


@pytest.mark.parametrize("fails, status, said", [
    ({"SETUP_EXIT": "2"}, 2, "exit status 2"),
    ({"SETUP_RAISE": "its own bug"}, 1, "RuntimeError: its own bug\n"),  # its traceback
])
def test_options_mod_wsgi_express_rejects_end_the_start(app, fails, status, said):
    src, out, env = app
    env.update(fails)
    proc = _run(env)
    assert proc.returncode == status
    assert "mod_wsgi-express rejected the server options" in proc.stderr and said in proc.stderr
    assert not os.path.exists(str(out) + ".apachectl")


def test_apache_exit_status_is_the_exit_status(app):
    src, out, env = app
    env["APACHE_EXIT"] = "3"
    assert _run(env).returncode == 3


@pytest.mark.parametrize("sent, received", [("TERM", "WINCH"), ("INT", "WINCH"), ("QUIT", "TERM")])
def test_stop_signals_become_apache_graceful_stop(app, sent, received):
    src, out, env = app
    with supervised(env, out) as proc:
        proc.send_signal(signal.SIGWINCH)  # a terminal resize: ignored
        time.sleep(0.3)
        assert proc.poll() is None
        proc.send_signal(getattr(signal, "SIG" + sent))
        assert proc.wait(timeout=10) == 0
    with open(str(out) + ".signals") as f:
        assert f.read().split() == [received]


def test_a_stop_while_the_supervisor_starts_is_a_graceful_stop(app):
    """Apache starts before the supervisor's interpreter: a stop signal that comes in
    between waits, blocked, for the supervisor's handlers, rather than end the
    process that waits on Apache."""
    src, out, env = app
    env["APACHE_STOPS_START"] = "1"
    with supervised(env, out) as proc:
        assert proc.wait(timeout=10) == 0
    with open(str(out) + ".signals") as f:
        assert f.read().split() == ["WINCH"]


def test_main_runs_an_executable_start_hook(app):
    src, out, env = app
    start_hook(src, '#!/bin/sh\nprintf "%s\\n" "hook" "$@" > "$OUT"\n')
    proc = _run(env)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().splitlines() == ["hook"] + FIXED
    assert "Running action hook start" in proc.stderr


def test_main_warns_about_a_non_executable_start_hook(app):
    src, out, env = app
    start_hook(src, '#!/bin/sh\necho never\n', mode=0o644)
    proc = _run(env)
    assert proc.returncode == 0, proc.stderr
    assert "start is not executable" in proc.stderr
    assert out.read_text().splitlines()[:2] == ["mod_wsgi-express", "setup-server"]


def test_main_reports_bad_server_args(app):
    src, out, env = app
    (src / ".whiskey" / "server_args").write_text('--setenv G "unclosed\n')
    proc = _run(env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("whiskey: ERROR: .whiskey/server_args: no closing quotation")
    assert not out.exists()


# -- values that end up in apachectl (a bash script) ---------------------------------

@pytest.mark.parametrize("words", [
    ["--locale", "$(touch /tmp/pwned)"], ["--locale=x'$(id)'"], ["--host", "0.0.0.0`id`"],
    ["--lang", 'a"b'], ["--loc", "a;b"], ["--process-name", "a b"], ["--user", "x\ny"],
    ["--envvars-script", "/x;id"], ["--working-directory", "/opt/$HOME"], ["--locale", ""]])
def test_shell_syntax_in_script_values_is_refused(words):
    with pytest.raises(server.ServerArgsError) as e:
        server.check_script_values(words, ".whiskey/server_args")
    assert str(e.value).startswith(".whiskey/server_args: --")
    assert "refused" in str(e.value)


@pytest.mark.parametrize("words", [
    ["--locale", "de_DE.UTF-8"], ["--locale", "sr_RS.UTF-8@latin"], ["--host", "::1"],
    ["--host", "[fe80::1%eth0]"], ["--host=app.example.org"], ["--setenv", "X", "$(id)"],
    ["--working-directory", "/opt/app-root/src"], ["--locale"], ["--processes", "2"]])
def test_ordinary_script_values_pass(words):
    server.check_script_values(words, ".whiskey/server_args")


@pytest.mark.parametrize("where, value, source", [
    ("env", "warn\nRedirect 302 / http://127.0.0.1:9/x", "MOD_WSGI_LOG_LEVEL"),
    ("env", "30\r", "MOD_WSGI_REQUEST_TIMEOUT"),
    ("server_args", "--setenv X 'a\nRedirect 302 / /x'", ".whiskey/server_args"),
    ("server_args", '--log-level "warn\x1b"', ".whiskey/server_args"),
    ("argv", "--log-level=warn\n", "the container's command")])
def test_a_control_character_in_any_value_is_refused_in_one_line(app, where, value, source):
    """A newline would end a line of Apache's configuration and begin a directive."""
    src, out, env = app
    argv = []
    if where == "env":
        env[source] = value
    elif where == "server_args":
        (src / ".whiskey" / "server_args").write_text(value + "\n")
    else:
        argv = [value]
    proc = _run(env, *argv)
    assert proc.returncode == 2 and not out.exists()
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("whiskey: ERROR: %s: " % source), proc.stderr
    assert lines[0].endswith("is refused: it holds a control character, which would end a line "
                             "of Apache's configuration and begin a directive")


def test_the_status_page_is_on_a_loopback_listener_of_its_own_with_a_token(app):
    src, out, env = app
    assert _run(env).returncode == 0
    with open(env["WHISKEY_RUNTIME_DIR"] + "/whiskey-httpd.conf") as f:
        conf = f.read()
    listen = [line for line in conf.splitlines() if line.startswith("Listen ")]
    assert len(listen) == 1 and listen[0].startswith("Listen 127.0.0.1:")
    port = int(listen[0].rsplit(":", 1)[1])
    assert port != 8080
    block = conf[conf.index("<VirtualHost 127.0.0.1:%d>" % port):]
    assert block.index("SetHandler server-status") < block.index("</VirtualHost>")
    assert conf.count("SetHandler server-status") == 1 and "<Location /.whiskey" not in conf
    token = re.search(r"X-Whiskey-Status-Token\} == '([0-9a-f]{32})'", block).group(1)
    assert _run(env).returncode == 0  # a new token at every start
    with open(env["WHISKEY_RUNTIME_DIR"] + "/whiskey-httpd.conf") as f:
        assert token not in f.read()


def test_no_room_for_the_configuration_is_one_line(app, tmp_path):
    src, out, env = app
    runtime = tmp_path / "full"
    runtime.write_text("")  # where the directory would go: as unwritable as a full /tmp
    env["WHISKEY_RUNTIME_DIR"] = str(runtime / "sub")
    proc = _run(env)
    assert proc.returncode == 1 and not out.exists()
    assert proc.stderr.splitlines()[-1] == (
        "whiskey: ERROR: cannot create %s/sub: the container needs a writable $TMPDIR "
        "(default /tmp)" % runtime)
    # The directory is there, but Apache's configuration cannot be written in it.
    env["WHISKEY_RUNTIME_DIR"] = str(tmp_path / "runtime")
    os.makedirs(env["WHISKEY_RUNTIME_DIR"] + "/whiskey-httpd.conf")
    proc = _run(env)
    assert proc.returncode == 1 and not out.exists()
    assert proc.stderr.splitlines()[-1].startswith(
        "whiskey: ERROR: cannot write Apache's configuration in %s/runtime: " % tmp_path)
    assert "Traceback" not in proc.stderr


def test_main_refuses_a_locale_with_shell_syntax(app, tmp_path):
    src, out, env = app
    marker = tmp_path / "pwned"
    (src / ".whiskey" / "server_args").write_text("--locale '$(touch %s)'\n" % marker)
    proc = _run(env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("whiskey: ERROR: .whiskey/server_args: --locale ")
    assert len(proc.stderr.splitlines()) == 1
    assert not out.exists() and not marker.exists()


def test_main_refuses_a_bad_lang_from_the_environment(app):
    src, out, env = app
    env["LANG"] = "C.UTF-8$(id)"
    proc = _run(env)
    assert proc.returncode == 2 and "environment" in proc.stderr and not out.exists()


# -- trusted proxies ------------------------------------------------------------------

XFF = ["--trust-proxy-header", "X-Forwarded-For"]


def test_no_trust_proxy_header_no_trusted_proxies():
    assert server.trusted_proxies(["--port", "80"], {}) == ([], None)


def test_default_trusted_proxies_are_private_ranges():
    extra, cidrs = server.trusted_proxies(XFF, {})
    assert cidrs == list(server.DEFAULT_TRUSTED_PROXIES)
    assert extra[:4] == ["--trust-proxy", "10.0.0.0/8", "--trust-proxy", "172.16.0.0/12"]
    assert len(extra) == 2 * len(cidrs)


def test_explicit_trust_proxy_wins():
    assert server.trusted_proxies(XFF + ["--trust-proxy", "1.2.3.4"], {}) == ([], None)
    assert server.trusted_proxies(XFF + ["--trust-proxy=1.2.3.4"], {}) == ([], None)


@pytest.mark.parametrize("value, cidrs", [("192.0.2.0/24", ["192.0.2.0/24"]),
                                          ("10.1.0.0/16, 2001:db8::/32",
                                           ["10.1.0.0/16", "2001:db8::/32"]),
                                          ("none", ["0.0.0.0/32"])])
def test_whiskey_trusted_proxies_overrides(value, cidrs):
    extra, got = server.trusted_proxies(XFF, {"WHISKEY_TRUSTED_PROXIES": value})
    assert got == cidrs
    assert extra[1::2] == cidrs


def test_whiskey_trusted_proxies_all_is_mod_wsgis_own_default():
    assert server.trusted_proxies(XFF, {"WHISKEY_TRUSTED_PROXIES": "all"}) == ([], None)


def test_whiskey_trusted_proxies_rejects_junk():
    with pytest.raises(server.ServerArgsError):
        server.trusted_proxies(XFF, {"WHISKEY_TRUSTED_PROXIES": "10.0.0.0/8 $(id)"})


def test_forwarded_and_host_headers_are_scrubbed_unless_trusted():
    conf = server.httpd_directives([], {})
    assert "RequestHeader unset Forwarded\n" in conf
    assert "RequestHeader unset X-Forwarded-Host\n" in conf
    conf = server.httpd_directives(["--trust-proxy-header", "X-Forwarded-Host"], {})
    assert "RequestHeader unset Forwarded\n" in conf
    assert "X-Forwarded-Host" not in conf


def test_forwarded_port_must_be_a_number():
    conf = server.httpd_directives(["--trust-proxy-header", "X-Forwarded-Port"], {})
    assert 'RequestHeader unset X-Forwarded-Port "expr=' in conf


def test_daemon_deaths_are_logged_unless_the_level_is_already_lower():
    assert "LogLevel wsgi:info" in server.httpd_directives([], {})
    assert "LogLevel" not in server.httpd_directives(["--log-level", "debug"], {})


def test_the_default_document_root_hands_every_request_to_the_application():
    conf = server.httpd_directives(["--application-type", "script"], {},
                                   root="/tmp/whiskey-1001//httpd")
    assert ("<Directory '/tmp/whiskey-1001/httpd/htdocs/'>\nRewriteEngine Off\n"
            "SetHandler wsgi-handler\n</Directory>\n") in conf
    assert "SetHandler wsgi-handler" not in server.httpd_directives([], {})
    for args in (["--document-root", "/srv"], ["--mount-point=/app"], ["--rewrite-rules", "r"],
                 ["--static-only"], ["--application-type", "static"], ["--application-t=static"],
                 ["--doc", "/srv"]):
        conf = server.httpd_directives(args, {}, root="/tmp/w/httpd")
        assert "SetHandler wsgi-handler" not in conf, args


def test_main_adds_and_logs_trusted_proxies(app):
    src, out, env = app
    (src / ".whiskey" / "server_args").write_text("--trust-proxy-header X-Forwarded-For\n")
    proc = _run(env)
    assert proc.returncode == 0, proc.stderr
    argv = out.read_text().splitlines()
    assert argv[argv.index("X-Forwarded-For") - 1] == "--trust-proxy-header"
    assert ["--trust-proxy", "172.16.0.0/12"] == argv[argv.index("172.16.0.0/12") - 1:
                                                      argv.index("172.16.0.0/12") + 1]
    assert "---> Trusting X-Forwarded-For only from 10.0.0.0/8 172.16.0.0/12" in proc.stderr


# -- the start hook and how Apache ends -------------------------------------------------

def test_start_hook_without_shebang_runs_under_bash(app):
    src, out, env = app
    start_hook(src, 'printf "%s\\n" "hook:$BASH_VERSION" "$@" > "$OUT"\n')
    proc = _run(env)
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("hook:") and lines[0] != "hook:"
    assert lines[1:] == FIXED


def test_apache_killed_by_a_signal_is_named():
    status = 9  # a wait status: killed by SIGKILL
    assert supervise.report_exit(42, status, None, False) == 128 + signal.SIGKILL
    assert supervise.signal_name(signal.SIGKILL) == "SIGKILL"
    assert supervise.signal_name(signal.SIGSEGV) == "SIGSEGV"


def test_apache_killed_by_the_oom_killer_says_so(monkeypatch, capsys):
    monkeypatch.setattr(supervise, "oom_kills", lambda: 3)
    assert supervise.report_exit(42, 9, 2, False) == 137
    err = capsys.readouterr().err
    assert "Apache (pid 42) was killed by SIGKILL (9): the kernel's OOM killer" in err


# -- slow clients, hung requests, stops ------------------------------------------------

def test_front_end_is_sized_for_slow_clients_unless_max_clients_is_given():
    conf = server.front_end_directives(["--processes", "1"])
    assert conf.count("MaxRequestWorkers 1280") == 2  # event and worker MPMs
    assert "<IfModule mpm_event_module>" in conf and "StartServers 1" in conf
    assert server.front_end_directives(["--max-clients", "50"]) == []
    assert server.front_end_directives(args(MOD_WSGI_MAX_CLIENTS="50")) == []
    embedded = server.front_end_directives(["--processes", "2", "--embedded-mode"])
    assert "StartServers 2" in embedded and "ThreadStackSize 8388608" in embedded
    # spare processes are reaped: idle threads above those kept + half a process
    assert "MaxSpareThreads 192" in conf and "MaxSpareThreads 320" in embedded
    assert "ThreadStackSize" not in conf
    # embedded threads the user sized are mod_wsgi-express's to size
    assert server.front_end_directives(["--embedded-mode"], ["--threads", "4"]) == []


@pytest.mark.parametrize("env, own, version, embedded", [
    ({}, [], (6, 1, 1), True),                                 # whiskey's default
    ({}, [], (4, 9, 4), True),
    ({}, [], (4, 7, 1), False),                                # express has no embedded mode
    ({}, [], None, False),
    ({"MOD_WSGI_EMBEDDED_MODE": "0"}, [], (6, 1, 1), False),
    ({"MOD_WSGI_EMBEDDED_MODE": "off"}, [], (6, 1, 1), False),
    ({"MOD_WSGI_EMBEDDED_MODE": "1"}, [], (4, 7, 1), True),     # asked: express says no
    ({}, ["--embedded-mode"], (4, 7, 1), True),
    ({}, ["--inactivity-timeout", "30"], (6, 1, 1), False),    # only daemons have it
    ({}, ["--daemon-backlog=50"], (4, 9, 4), False),
])
def test_embedded_mode_is_the_default_where_express_has_it(env, own, version, embedded):
    got, note = server.serving_mode(env, own, version)
    assert got is embedded
    assert note.startswith("Serving in ")


def test_a_bad_embedded_mode_value_is_refused():
    with pytest.raises(server.ServerArgsError, match="MOD_WSGI_EMBEDDED_MODE: 'maybe'"):
        server.serving_mode({"MOD_WSGI_EMBEDDED_MODE": "maybe"}, [], (6, 1, 1))


def test_embedded_mode_takes_the_event_mpm_and_gates_python_at_the_threads():
    env = {}
    assert server.embedded_args(FIXED, [], env) == ["--embedded-mode", "--server-mpm", "event"]
    assert env["WHISKEY_EMBEDDED_THREADS"] == str(server.THREADS)
    assert env["WHISKEY_REQUESTS"] == os.path.join("/tmp", "whiskey-%d" % os.getuid(), "requests")
    mine = ["--server-mpm", "worker", "--threads", "4"]
    assert server.embedded_args(FIXED + ["--embedded-mode"] + mine, mine, env) == []
    assert env["WHISKEY_EMBEDDED_THREADS"] == "4"


@pytest.mark.parametrize("args, extended", [
    ([], "On"), (["--embedded-mode"], "Off"), (["--embedded-mode", "--server-status"], "On"),
    (["--embedded-mode", "--server-metrics"], "On")])
def test_extended_status_is_off_where_the_gate_names_the_requests(args, extended):
    conf = server.httpd_directives(args, {}, (8099, "t"))
    assert "\nExtendedStatus %s\nListen 127.0.0.1:8099\n" % extended in conf


@pytest.mark.parametrize("argv, seconds", [
    (["--embedded-mode"], 60), (["--embedded-mode", "--request-timeout", "5"], 5),
    (["--embedded-mode", "--request-timeout=0"], 0), ([], 0),  # daemon: mod_wsgi's own
])
def test_the_watchdog_keeps_the_request_timeout_in_embedded_mode(argv, seconds):
    assert server.watchdog_timeout(argv) == seconds


@pytest.mark.parametrize("argv, version, expected", [
    ([], (6, 1, 1), ["--request-timeout", "14"]),                 # 60 / (1 + ln 32) = 13.4
    (["--request-timeout", "30"], (6, 0), ["--request-timeout", "7"]),
    (["--request-timeout=10", "--threads", "4"], (6, 1), ["--request-timeout", "5"]),
    (["--threads", "1"], (6, 1), []),                             # 1 + ln 1 = 1: as given
    (["--request-timeout", "0"], (6, 1), []),                     # switched off
    ([], (4, 9, 4), []),                                          # mod_wsgi 4: averages, no scale
    ([], None, []),
    (["--embedded-mode"], (6, 1), []),                            # no daemon to restart
])
def test_request_timeout_is_the_time_one_request_may_run(argv, version, expected):
    extra, note = server.request_timeout_args(FIXED + argv, version)
    assert extra == expected
    assert (note is None) == (not expected)


def test_mod_wsgi_version_from_its_metadata(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "mod_wsgi-4.7.1-py3.5.egg-info").mkdir(parents=True)
    (tmp_path / "c" / "mod_wsgi-6.1.1.dist-info").mkdir(parents=True)
    assert server.mod_wsgi_version([str(tmp_path / "a"), str(tmp_path / "c")]) == (6, 1, 1)
    assert server.mod_wsgi_version([str(tmp_path / "b")]) == (4, 7, 1)
    assert server.mod_wsgi_version([str(tmp_path / "a")]) is None


STATUS_PAGE = """<table border="0"><tr><th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>CPU
</th><th>SS</th><th>Req</th><th>Dur</th><th>Conn</th><th>Child</th><th>Slot</th><th>Client</th>
<tr><td><b>0-0</b></td><td>27</td><td>1/0/0</td><td><b>W</b>
</td><td>0.00</td><td>12</td><td>0</td><td>0</td><td>0.0</td><td>0.00</td><td>0.00
</td><td>172.17.0.1</td><td>http/1.1</td><td nowrap>localhost:8080</td><td nowrap>GET /hang HTTP/1.1</td></tr>
<tr><td><b>0-0</b></td><td>27</td><td>0/0/0</td><td>_
</td><td>0.00</td><td>3</td><td>0</td><td>0</td><td>0.0</td><td>0.00</td><td>0.00
</td><td>172.17.0.1</td><td>http/1.1</td><td nowrap>localhost:8080</td><td nowrap>GET / HTTP/1.1</td></tr>
<tr><td><b>0-1</b></td><td>27</td><td>1/0/0</td><td><b>W</b>
</td><td>0.00</td><td>0</td><td>0</td><td>0</td><td>0.0</td><td>0.00</td><td>0.00
</td><td>127.0.0.1</td><td>http/1.0</td><td nowrap>localhost:8080</td>
<td nowrap>GET /.whiskey/server-status HTTP/1.0</td></tr>
</table>"""


def test_busy_workers_are_read_from_the_status_page():
    assert supervise.parse_status(STATUS_PAGE) == [(12, "GET /hang HTTP/1.1", 27)]
    assert supervise.parse_status("<html>not a status page</html>") == []
    assert supervise.describe([(3, "GET /a HTTP/1.1", 7), (12, "GET /b HTTP/1.1", 8)]) == (
        "GET /b HTTP/1.1 (running 12 s); GET /a HTTP/1.1 (running 3 s)")
    assert supervise.describe([]) == "none"


def test_the_gates_files_name_the_requests_in_python_and_go_with_their_process(tmp_path):
    def slot(began, line):
        return struct.pack("=q", began) + line.ljust(supervise.REQUEST_SLOT - 8, b"\0")
    now = 1000000.0
    (tmp_path / str(os.getpid())).write_bytes(
        slot(int((now - 12.5) * 1e6), b"GET /hang HTTP/1.1") + slot(0, b"GET /done HTTP/1.1")
        + slot(int((now - 3) * 1e6), b"GET /\x1b[2J HTTP/1.1"))
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / str(gone.pid)).write_bytes(slot(int(now * 1e6), b"GET /old HTTP/1.1"))
    (tmp_path / "notes").write_text("not a process")
    assert sorted(supervise.registered(str(tmp_path), now)) == [
        (3, "GET /?[2J HTTP/1.1", os.getpid()), (12, "GET /hang HTTP/1.1", os.getpid())]
    assert sorted(os.listdir(str(tmp_path))) == sorted([str(os.getpid()), "notes"])


def test_the_watchdog_kills_the_process_of_a_request_over_the_limit_once(monkeypatch, capsys):
    monkeypatch.setattr(supervise, "in_flight", lambda port, token: [
        (12, "GET /hang HTTP/1.1", 27), (3, "GET /a HTTP/1.1", 28)])
    sent = []
    monkeypatch.setattr(supervise, "_signal", lambda pid, signum: sent.append((pid, signum)))
    killed = set()
    supervise.watch((1, "t"), 5, killed)
    supervise.watch((1, "t"), 5, killed)
    assert sent == [(27, supervise.signal.SIGKILL)]
    err = capsys.readouterr().err
    assert "request time limit exceeded (5 s" in err and "GET /hang HTTP/1.1 has run 12 s" in err


@pytest.mark.parametrize("given, seen", [(None, "2"), ("8", "8")])
def test_malloc_arenas_are_limited_unless_set(app, given, seen):
    src, out, env = app
    if given:
        env["MALLOC_ARENA_MAX"] = given
    assert _run(env).returncode == 0
    with open(str(out) + ".arena") as f:
        assert f.read().strip() == seen


def test_the_build_says_what_the_start_will_serve(tmp_path):
    """server.what_starts: main()'s decision, as one line for the build log."""
    src = tmp_path
    (src / "project").mkdir()
    (src / "project" / "server.py").write_text("")
    (src / "wsgi.py").write_text("")
    said = server.what_starts
    assert said({}, str(src)) == ("Serving wsgi:application (wsgi.py in the application): no "
                                  "setting names the application; to choose otherwise, set "
                                  "APP_MODULE=module:callable or --entry-point in "
                                  ".whiskey/server_args", False)
    assert said({"APP_MODULE": "app:application"}, str(src))[0].startswith(
        "APP_MODULE=app:application (the official builder's): --application-type module")
    assert said({"APP_HOME": "project", "APP_FILE": "server.py"}, str(src))[0].startswith(
        "APP_FILE=server.py (the official builder's): running it as the server")
    assert said({"MOD_WSGI_ENTRY_POINT": "x.py", "APP_FILE": "server.py"}, str(src)) == (
        "serving what MOD_WSGI_ENTRY_POINT=x.py names (whiskey's setting)", False)
    assert said({"APP_FILE": "missing.py"}, str(src)) == (
        "the start will refuse: APP_FILE=missing.py: there is no such file in %s" % src, True)
    (src / "wsgi.py").unlink()
    line, warning = said({}, str(src))
    assert warning and line.startswith("no application is named: every request will be "
                                       "answered 503 Service Unavailable")
    hook = src / ".whiskey" / "action_hooks" / "start"
    hook.parent.mkdir(parents=True)
    hook.write_text("")
    assert said({}, str(src)) == (
        "the start hook (.whiskey/action_hooks/start) replaces mod_wsgi-express", False)
