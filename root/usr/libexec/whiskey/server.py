"""Start the application server of a whiskey image.

Builds the mod_wsgi-express options from fixed defaults, MOD_WSGI_*
environment variables and ``.whiskey/server_args``; has
``mod_wsgi-express setup-server`` write Apache's configuration, then runs
Apache under a small supervisor that turns Docker's stop signal into a
graceful stop and ignores terminal resizes.  An executable
``.whiskey/action_hooks/start`` replaces all of that and receives the same
options.

Runs on every interpreter whiskey ships (Python 2.7 to 3.x): keep it to
the standard library and to syntax all of them share.
"""

import math
import os
import re
import sys

import djangoapp
import hooks
import official
import places
import say
import supervise
from official import has_option
from supervise import STATUS_HEADER, stop_budget

DEFAULTS = ["--log-to-terminal", "--startup-log", "--port", "8080"]

# Environment variable -> mod_wsgi-express option taking a value.
VALUE_OPTIONS = [
    ("MOD_WSGI_PROCESSES", "--processes"),
    ("MOD_WSGI_THREADS", "--threads"),
    ("MOD_WSGI_MAX_CLIENTS", "--max-clients"),
    ("MOD_WSGI_INITIAL_WORKERS", "--initial-workers"),
    ("MOD_WSGI_MINIMUM_SPARE_WORKERS", "--minimum-spare-workers"),
    ("MOD_WSGI_MAXIMUM_SPARE_WORKERS", "--maximum-spare-workers"),
    ("MOD_WSGI_LIMIT_REQUEST_BODY", "--limit-request-body"),
    ("MOD_WSGI_MAXIMUM_REQUESTS", "--maximum-requests"),
    ("MOD_WSGI_INACTIVITY_TIMEOUT", "--inactivity-timeout"),
    ("MOD_WSGI_REQUEST_TIMEOUT", "--request-timeout"),
    ("MOD_WSGI_CONNECT_TIMEOUT", "--connect-timeout"),
    ("MOD_WSGI_SOCKET_TIMEOUT", "--socket-timeout"),
    ("MOD_WSGI_QUEUE_TIMEOUT", "--queue-timeout"),
    ("MOD_WSGI_HEADER_TIMEOUT", "--header-timeout"),
    ("MOD_WSGI_BODY_TIMEOUT", "--body-timeout"),
    ("MOD_WSGI_SHUTDOWN_TIMEOUT", "--shutdown-timeout"),
    ("MOD_WSGI_GRACEFUL_TIMEOUT", "--graceful-timeout"),
    ("MOD_WSGI_SERVER_BACKLOG", "--server-backlog"),
    ("MOD_WSGI_DAEMON_BACKLOG", "--daemon-backlog"),
    ("MOD_WSGI_SERVER_MPM", "--server-mpm"),
    ("MOD_WSGI_LOG_LEVEL", "--log-level"),
    ("MOD_WSGI_WORKING_DIRECTORY", "--working-directory"),
    ("MOD_WSGI_APPLICATION_TYPE", "--application-type"),
    ("MOD_WSGI_ENTRY_POINT", "--entry-point"),
    ("MOD_WSGI_CALLABLE_OBJECT", "--callable-object"),
    ("MOD_WSGI_PORT", "--port"),
]

# Environment variable -> mod_wsgi-express flag, added when set to a true value.
FLAG_OPTIONS = [
    ("MOD_WSGI_ACCESS_LOG", ["--access-log"]),
    ("MOD_WSGI_RELOAD_ON_CHANGES", ["--reload-on-changes"]),
    ("MOD_WSGI_ENABLE_DEBUGGER", ["--debug-mode", "--enable-debugger"]),
    ("MOD_WSGI_SERVER_STATUS", ["--server-status"]),
    ("MOD_WSGI_EMBEDDED_MODE", ["--embedded-mode"]),
]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_NAME_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_NAME_CHARS = _NAME_START + "0123456789"


class ServerArgsError(ValueError):
    pass


class CannotStart(EnvironmentError):
    """The container lacks what starting needs (room for the configuration)."""


def _variable(text, i, env):
    """Expand the $-reference at text[i]; returns (value, next index)."""
    nxt = text[i + 1:i + 2]
    if nxt == "$":
        return "$", i + 2
    if nxt == "{":
        end = text.find("}", i + 2)
        name = text[i + 2:end] if end != -1 else ""
        if not name or name[0] not in _NAME_START or any(c not in _NAME_CHARS for c in name):
            raise ServerArgsError(".whiskey/server_args: bad variable reference %r"
                                  % text[i:end + 1 if end != -1 else len(text)])
        return env.get(name, ""), end + 1
    if nxt and nxt in _NAME_START:
        j = i + 1
        while j < len(text) and text[j] in _NAME_CHARS:
            j += 1
        return env.get(text[i + 1:j], ""), j
    return "$", i + 1  # a lone $ (including "$(") is literal


def split(text, env=None):
    """Split server_args like a shell, expanding $NAME / ${NAME} from env.

    Quotes group ('...' literal, "..." with $ expansion), a backslash escapes
    the next character, # at the start of a word starts a comment, $$ is a
    literal $ and an unset variable is empty.  A value is never re-read for
    quotes; unquoted it splits on white space, as in a shell.  Nothing is
    ever executed: $(...) and backticks are literal text.
    """
    env = {} if env is None else env
    words, word, started, i, n = [], [], False, 0, len(text)

    def finish():
        if started:
            words.append("".join(word))
        del word[:]

    while i < n:
        c = text[i]
        if c in " \t\r\n":
            finish()
            started = False
            i += 1
        elif c == "#" and not started:
            while i < n and text[i] != "\n":
                i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise ServerArgsError(".whiskey/server_args: ends with a lone backslash")
            if text[i + 1] != "\n":  # backslash-newline continues the line
                word.append(text[i + 1])
                started = True
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            if end == -1:
                raise ServerArgsError(".whiskey/server_args: no closing quotation (')")
            word.append(text[i + 1:end])
            started, i = True, end + 1
        elif c == '"':
            i += 1
            started = True
            while True:
                if i >= n:
                    raise ServerArgsError('.whiskey/server_args: no closing quotation (")')
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and text[i + 1:i + 2] in ('"', "\\", "$"):
                    word.append(text[i + 1])
                    i += 2
                elif c == "$":
                    value, i = _variable(text, i, env)
                    word.append(value)
                else:
                    word.append(c)
                    i += 1
        elif c == "$":
            value, i = _variable(text, i, env)
            parts = value.split()
            if parts and value[:1].isspace():
                finish()
            for k, part in enumerate(parts):
                if k:
                    words.append("".join(word))
                    del word[:]
                word.append(part)
                started = True
            if parts and value[-1:].isspace():
                finish()
                started = False
        else:
            word.append(c)
            started = True
            i += 1
    finish()
    return words


# Defaults for the container's size.  mod_wsgi-express alone gives one
# process of 5 threads: an I/O-bound app then serves 5 requests at a time.
# Threads are cheap while requests wait on I/O; processes get past the GIL,
# one per CPU the container may use.  bench/ (one CPU, a 50 ms endpoint, 32
# connections, whose ceiling is 640 req/s): 5 threads ~96 req/s, 16 threads
# 311, 32 threads 614 (96%) for 1 MiB more; hello world the same within noise.
THREADS = 32
MAX_PROCESSES = 4


def container_cpus(env=None):
    """CPUs to size for: $WHISKEY_CPUS, else the container's CFS quota
    (cgroup v2, then v1), else the CPU count."""
    if env and env.get("WHISKEY_CPUS"):
        return float(env["WHISKEY_CPUS"])
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            return float(quota) / float(period)
    except (IOError, OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as f:
            quota = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as f:
            period = int(f.read())
        if quota > 0:
            return float(quota) / period
    except (IOError, OSError, ValueError):
        pass
    try:
        return float(len(os.sched_getaffinity(0)))  # novermin: Python 2 takes the except
    except AttributeError:  # Python 2
        import multiprocessing
        return float(multiprocessing.cpu_count())


def sizing_args(cpus):
    """--processes (one per CPU, rounded up, at most MAX_PROCESSES), --threads and
    --daemon-backlog (DAEMON_BACKLOG)."""
    processes = max(1, min(MAX_PROCESSES, int(-(-cpus // 1))))
    return ["--processes", str(processes), "--threads", str(THREADS),
            "--daemon-backlog", str(DAEMON_BACKLOG)]


# Where the application runs.  In daemon mode Apache's threads pass each
# request over a Unix socket to a mod_wsgi daemon process; in embedded mode
# the thread that read the request runs it.  The hop cost a CPU-bound request
# more than gunicorn's whole request (a connection per request and four
# hand-offs between threads: BENCHMARKS.md, issue 24), so whiskey serves in
# embedded mode wherever mod_wsgi-express has one (mod_wsgi 4.9 on) and keeps
# what the daemon gave: the event MPM's front end sized for slow clients, at
# most THREADS requests of a process in Python, admitted in the order they
# came (whiskey's mod_wsgi patch), a request time limit (supervise.py's
# watchdog), bounded stops.  Daemon processes serve with an older mod_wsgi
# (the 3.3 to 3.5 images), on MOD_WSGI_EMBEDDED_MODE=0, and when an option
# that only they have is set.
EMBEDDED_SINCE = (4, 9)
DAEMON_ONLY = ("--inactivity-timeout", "--startup-timeout", "--deadlock-timeout",
               "--graceful-timeout", "--eviction-timeout", "--restart-interval",
               "--cpu-time-limit", "--memory-limit", "--virtual-memory-limit",
               "--queue-timeout", "--connect-timeout", "--daemon-backlog", "--shutdown-timeout",
               "--header-buffer-size", "--response-buffer-size", "--response-socket-timeout")


def serving_mode(env, own, version):
    """(whether the application runs embedded in Apache's processes, a line for
    the log); own: the user's options (own_args)."""
    value = env.get("MOD_WSGI_EMBEDDED_MODE", "").lower()
    if value in _TRUE or has_option(own, "--embedded-mode"):
        # asked for: mod_wsgi-express refuses it where it has none
        return True, "Serving in Apache's own processes (embedded mode, as asked)"
    if value in _FALSE:
        return False, "Serving in mod_wsgi daemon processes (MOD_WSGI_EMBEDDED_MODE=0)"
    if value:
        raise ServerArgsError("MOD_WSGI_EMBEDDED_MODE: %r is neither 1 (embedded mode) nor 0 "
                              "(daemon processes)" % env["MOD_WSGI_EMBEDDED_MODE"])
    if version is None or version < EMBEDDED_SINCE:
        return False, ("Serving in mod_wsgi daemon processes (mod_wsgi-express %s has no "
                       "embedded mode)" % ".".join(str(n) for n in version or ("?",)))
    daemon = [option for option in DAEMON_ONLY if has_option(own, option)]
    if daemon:
        return False, ("Serving in mod_wsgi daemon processes: %s applies only to them"
                       % ", ".join(daemon))
    return True, ("Serving in Apache's own processes (embedded mode, whiskey's default; "
                  "MOD_WSGI_EMBEDDED_MODE=0 for mod_wsgi daemon processes)")


def embedded_args(args, own, env):
    """What embedded mode adds: --embedded-mode, the event MPM (unless the user
    names one), and in env for the patched mod_wsgi's gate
    WHISKEY_EMBEDDED_THREADS (THREADS or the last --threads) and
    WHISKEY_REQUESTS, where it keeps the requests in Python for the
    supervisor (supervise.registered)."""
    extra = [] if has_option(args, "--embedded-mode") else ["--embedded-mode"]
    if not has_option(own, "--server-mpm"):
        extra += ["--server-mpm", "event"]
    env["WHISKEY_EMBEDDED_THREADS"] = str(last_value(args, "--threads", THREADS))
    env["WHISKEY_REQUESTS"] = os.path.join(places.runtime_dir(env), "requests")
    return extra


# Hung requests.  A request that never returns is answered 504 by the front
# end after --socket-timeout (60 s), but its daemon thread stays taken until
# mod_wsgi restarts the process for exceeding --request-timeout (default 60).
# mod_wsgi 6 fires only when one request has run request-timeout * (1 + ln
# threads): 226 s at 16 threads, all that time with no service once every
# thread hangs.  whiskey gives mod_wsgi 6 the request-timeout that makes the
# figure users set (or the default) the real limit.  mod_wsgi 4 (the 2.7 to
# 3.5 images) fires when the average run time over the process's threads
# passes it: on time when every thread hangs, later for a few.
REQUEST_TIMEOUT = 60
_VERSION_RE = re.compile(r"^mod_wsgi-([0-9]+(?:\.[0-9]+)*)[-.]")


def mod_wsgi_version(paths=None):
    """The installed mod_wsgi's version as a tuple of ints, from its
    .dist-info or .egg-info directory on sys.path; None if not found."""
    for entry in sys.path if paths is None else paths:
        try:
            names = sorted(os.listdir(entry or "."))  # not glob: the start does without it
        except OSError:  # not a directory (a zip file), or gone
            continue
        for name in names:
            match = _VERSION_RE.match(name)
            if match and name.endswith("-info"):
                return tuple(int(part) for part in match.group(1).split("."))
    return None


def request_timeout_args(args, version):
    """(options to append, a line for the log) making --request-timeout the
    time one request may run before its daemon process is replaced."""
    if version is None or version < (6,) or has_option(args, "--embedded-mode"):
        return [], None
    try:
        timeout = int(last_value(args, "--request-timeout", REQUEST_TIMEOUT))
        threads = int(last_value(args, "--threads", THREADS))
    except ValueError:
        return [], None  # mod_wsgi-express names the bad value itself
    if timeout <= 0 or threads <= 1:
        return [], None
    scaled = int(math.ceil(timeout / (1.0 + math.log(threads))))
    note = ("Request timeout %d s: mod_wsgi %s is given --request-timeout %d "
            "(it waits that times 1 + ln(%d threads))"
            % (timeout, ".".join(str(n) for n in version), scaled, threads))
    return ["--request-timeout", str(scaled)], note


def watchdog_timeout(args):
    """Seconds a request may run in embedded mode before supervise.py replaces
    its Apache process (--request-timeout, as mod_wsgi's daemon would); 0 for
    none, and in daemon mode, where mod_wsgi keeps the limit itself."""
    if not has_option(args, "--embedded-mode"):
        return 0
    try:
        return max(0, int(last_value(args, "--request-timeout", REQUEST_TIMEOUT)))
    except ValueError:
        return 0  # mod_wsgi-express names the bad value itself


def check_control(value, source):
    """Raise ServerArgsError if value holds a control character: mod_wsgi-express
    writes option values into Apache's configuration line by line, where a
    newline would end the line and begin a directive of the value's own."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ServerArgsError("%s: %r is refused: it holds a control character, which would "
                              "end a line of Apache's configuration and begin a directive"
                              % (source, value))


def env_args(env):
    args = []
    for name, option in VALUE_OPTIONS:
        if env.get(name):
            check_control(env[name], name)
            args += [option, env[name]]
    for name, flags in FLAG_OPTIONS:
        if env.get(name, "").lower() in _TRUE:
            args += flags
    return args


def server_args(env, server_args_text="", cpus=1.0, official_args=()):
    """The full option list: defaults, then the official builder's settings
    (official.py), then environment, then server_args.

    mod_wsgi-express keeps the last value of a repeated option, so
    server_args overrides the environment, which overrides the defaults.
    """
    # mod_wsgi-express assumes en_US.UTF-8; Apache runs in the image's LANG (C.UTF-8) instead.
    locale = ["--locale", env.get("LANG") or "C.UTF-8"]
    return (DEFAULTS + locale + sizing_args(cpus) + list(official_args) + env_args(env) +
            split(server_args_text, env))


# Options whose values mod_wsgi-express writes into the `apachectl` and
# `envvars` scripts that bash runs (some inside "...", some unquoted): a
# value with shell syntax in it would be executed there.  Their values must
# consist of these characters only (enough for locales, host names, IPv4
# and IPv6 addresses, user and group names, and file paths).
SCRIPT_OPTIONS = ("--locale", "--lang", "--host", "--user", "--group", "--process-name",
                  "--working-directory", "--server-root", "--envvars-script",
                  "--shell-executable", "--httpd-executable", "--modules-directory",
                  "--gdb-executable")
SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789_.,:@%+=/~[]-")


def _option_named(word, options):
    """The entry of options that word names (optparse takes unambiguous
    abbreviations, so any prefix of one counts), else None."""
    name = word.split("=", 1)[0]
    if len(name) < 4 or not name.startswith("--"):
        return None
    for option in options:
        if option.startswith(name):
            return option
    return None


def check_script_values(words, source):
    """Raise ServerArgsError for a value that would be shell syntax in apachectl."""
    for i, word in enumerate(words):
        option = _option_named(word, SCRIPT_OPTIONS)
        if option is None:
            continue
        if "=" in word:
            value = word.split("=", 1)[1]
        elif i + 1 < len(words):
            value = words[i + 1]
        else:
            continue
        if not value or any(c not in SAFE_CHARS for c in value):
            raise ServerArgsError(
                "%s: %s %r is refused: mod_wsgi-express writes this value into a shell "
                "script, so it may only contain letters, digits and _.,:@%%+=/~[]-"
                % (source, option, value))


# Proxies trusted to set the forwarded headers named by --trust-proxy-header
# when no --trust-proxy is given: the private ranges a platform's router
# (OpenShift, Kubernetes ingress, Docker) connects from, and loopback.
# mod_wsgi alone would trust every peer, so a client's own X-Forwarded-For
# entry would win.
DEFAULT_TRUSTED_PROXIES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
                           "fc00::/7", "::1/128")
# WHISKEY_TRUSTED_PROXIES=none: no peer is trusted (every forwarded header
# is removed).  0.0.0.0 is never the address of a TCP peer.
NO_PROXY = ("0.0.0.0/32",)


def last_value(args, option, default=None):
    """The value of the last ``option VALUE`` or ``option=VALUE`` in args
    (mod_wsgi-express keeps the last one), else default."""
    value = default
    for i, word in enumerate(args):
        if word == option and i + 1 < len(args):
            value = args[i + 1]
        elif word.startswith(option + "="):
            value = word.split("=", 1)[1]
    return value


def trusted_proxies(args, env):
    """(extra options, trusted addresses or None) for the proxy headers.

    Only when some --trust-proxy-header is given and no --trust-proxy:
    $WHISKEY_TRUSTED_PROXIES (space or comma separated CIDRs, ``none`` or
    ``all``) or DEFAULT_TRUSTED_PROXIES.
    """
    if not has_option(args, "--trust-proxy-header") or has_option(args, "--trust-proxy"):
        return [], None
    value = env.get("WHISKEY_TRUSTED_PROXIES", "").replace(",", " ").split()
    if not value:
        cidrs = DEFAULT_TRUSTED_PROXIES
    elif value == ["all"]:
        return [], None
    elif value == ["none"]:
        cidrs = NO_PROXY
    else:
        for cidr in value:
            if any(c not in "0123456789abcdefABCDEF.:/" for c in cidr):
                raise ServerArgsError("WHISKEY_TRUSTED_PROXIES: %r is not an IP address or "
                                      "CIDR (or give none or all)" % cidr)
        cidrs = value
    extra = []
    for cidr in cidrs:
        extra += ["--trust-proxy", cidr]
    return extra, list(cidrs)


def trusted_headers(args):
    """The header names given with --trust-proxy-header."""
    names = []
    for i, word in enumerate(args):
        if word.startswith("--trust-proxy-header="):
            names.append(word.split("=", 1)[1])
        elif word == "--trust-proxy-header" and i + 1 < len(args):
            names.append(args[i + 1])
    return names


# Forwarded headers mod_wsgi does not handle unless configured: Forwarded
# (RFC 7239; mod_wsgi never parses it) and the host ones (applied only when
# named by --trust-proxy-header).  Passed through, an application or
# framework (Django's USE_X_FORWARDED_HOST) could believe a client's value,
# so Apache removes them before the application sees the request.
SCRUBBED_HEADERS = ("Forwarded", "X-Forwarded-Host", "X-Host")


# Slow clients.  Apache's event MPM leaves idle keep-alive connections and
# the end of a response to its listener thread, but reads a new request's
# headers in a worker thread, which a client sending them a byte at a time
# holds until mod_reqtimeout ends it (mod_wsgi-express: after 15 s, up to 30 s
# while >= 500 bytes/s arrive).  mod_wsgi-express sizes the front end from
# the daemon's threads (76 workers), so 76 such clients stopped all service.
# Front-end threads only read, write and wait, and no Python runs in them:
# a thread costs a 256 KiB stack reservation and a few KiB of memory.  So the
# front end gets many, in few processes started as needed: 1,280 workers
# serve normal clients next to 1,000 slow ones (tests/behaviour, BENCHMARKS).
# --max-clients (MOD_WSGI_MAX_CLIENTS) gives mod_wsgi-express's own sizing back.
FRONT_THREADS_PER_PROCESS = 128
FRONT_PROCESSES = 10

# The daemon's listen queue holds what the front end passes on while every
# daemon thread is busy.  mod_wsgi-express's 100 is less than the front end's
# workers: a worker that finds it full sleeps 0.125 s and tries again (1 s
# after 2 s), so at 256 connections the slowest requests waited seconds (p99
# 3.1 s on hello world at one CPU, 155 ms with a queue for every worker:
# BENCHMARKS.md).  The kernel caps it at net.core.somaxconn (4096 by default).
DAEMON_BACKLOG = FRONT_THREADS_PER_PROCESS * FRONT_PROCESSES


# Processes beyond the first (or, in embedded mode, beyond one per CPU) are
# reaped once the load that made them has passed: Apache keeps at most half a
# process of idle threads more (after 256 connections the container held a
# second front-end process, and in embedded mode a second copy of the
# application, for good: 47 MiB on hello world where gunicorn took 31).
# In embedded mode those threads run Python too, so Apache's processes start
# one per daemon process there would be (--processes, one per CPU) and keep
# that many; a thread's stack is the 8 MiB a Python thread gets elsewhere
# (mod_wsgi-express's 256 KiB is too little for deep recursion on Python 2).
EMBEDDED_STACK = 8 * 1024 * 1024


def front_end_directives(args, own=()):
    """The event and worker MPMs' sizing, unless --max-clients is given, or
    the user sized embedded mode's threads (--threads among own)."""
    embedded = has_option(args, "--embedded-mode")
    if has_option(args, "--max-clients") or (embedded and has_option(own, "--threads")):
        return []
    threads, processes = FRONT_THREADS_PER_PROCESS, FRONT_PROCESSES
    start = 1
    if embedded:
        try:
            start = max(1, min(processes, int(last_value(args, "--processes", 1))))
        except ValueError:
            pass  # mod_wsgi-express names the bad value itself
    sizing = ["ServerLimit %d" % processes, "ThreadLimit %d" % threads,
              "ThreadsPerChild %d" % threads, "MaxRequestWorkers %d" % (threads * processes),
              "StartServers %d" % start, "MinSpareThreads %d" % (threads // 2),
              "MaxSpareThreads %d" % (threads * start + threads // 2)]
    if embedded:
        sizing.append("ThreadStackSize %d" % EMBEDDED_STACK)
    lines = []
    for mpm in ("mpm_event_module", "mpm_worker_module"):
        lines += ["<IfModule %s>" % mpm] + sizing + ["</IfModule>"]
    return lines


# ExtendedStatus (each worker's request line and times on the status page)
# costs every request a times() that sums the CPU time of all its process's
# threads: 2-7% of a hello world's rate at one CPU (BENCHMARKS.md).  In
# embedded mode the supervisor reads the requests from the gate's files
# instead (supervise.registered), so it is off, unless the user asked
# mod_wsgi-express for a status page or server metrics.
WANT_EXTENDED_STATUS = ("--server-status", "--server-metrics")


def status_directives(port, token, extended=True):
    """mod_status on a listener of its own, 127.0.0.1:port, for the supervisor
    only: the application's port has no status page, so no proxy in front or
    beside (an oauth-proxy or mesh sidecar forwards from loopback) can reach
    it, and a request there must also carry this start's random token."""
    return ["<IfModule !status_module>",
            "LoadModule status_module ${MOD_WSGI_MODULES_DIRECTORY}/mod_status.so",
            "</IfModule>",
            "ExtendedStatus %s" % ("On" if extended else "Off"),
            "Listen 127.0.0.1:%d" % port,
            "<VirtualHost 127.0.0.1:%d>" % port,
            "<Location />",
            "RewriteEngine Off",
            "SetHandler server-status",
            "<RequireAll>",
            "Require local",
            'Require expr "%%{HTTP:%s} == \'%s\'"' % (STATUS_HEADER, token),
            "</RequireAll>",
            "</Location>",
            "</VirtualHost>"]


def status_listener():
    """(a free port on 127.0.0.1, a random token) for the status listener."""
    import _socket  # socket.py's wrapper would bring selectors and enums into the start
    import binascii
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    finally:
        sock.close()
    return port, binascii.hexlify(os.urandom(16)).decode("ascii")


# mod_wsgi-express serves a file of its document root when one matches a
# URL, and hands the rest to the application: mod_rewrite's pass over every
# request, with a stat() of the file.  The default document root is a
# directory it makes, empty, in the server root, where nothing can match,
# so whiskey hands every request to the application at once (SetHandler,
# the same handler): 4-5% on a hello world (BENCHMARKS.md).  The options
# that give the document root content, move the application in it or add
# rules to it keep mod_wsgi-express's rules (_option_named: abbreviations
# count), as does a static application type.
DOCUMENT_ROOT_OPTIONS = ("--document-root", "--mount-point", "--rewrite-rules", "--static-only")


def straight_to_application(args, root):
    """The directives that skip the default document root's file check, or none."""
    for i, word in enumerate(args):
        if _option_named(word, DOCUMENT_ROOT_OPTIONS):
            return []
        if _option_named(word, ("--application-type",)):
            value = word.split("=", 1)[1] if "=" in word else " ".join(args[i + 1:i + 2])
            if value == "static":
                return []
    return ["<Directory '%s/'>" % os.path.join(os.path.abspath(root), "htdocs"),
            "RewriteEngine Off",
            "SetHandler wsgi-handler",
            "</Directory>"]


def httpd_directives(args, env, status=(0, ""), own=(), root=None):
    """Apache directives of whiskey's --include-file; status: the supervisor's
    (port, token), or a port of 0 for none; own: the user's options; root:
    the server root (none: its document root keeps mod_wsgi-express's rules)."""
    lines = ["GracefulShutdownTimeout %d" % int(stop_budget(env)[0])]
    trusted = [name.lower() for name in trusted_headers(args)]
    for name in SCRUBBED_HEADERS:
        if name.lower() not in trusted:
            lines.append("RequestHeader unset %s" % name)
    # A trusted proxy's X-Forwarded-Port becomes SERVER_PORT as it is: one
    # that is not a port number is dropped.
    if "x-forwarded-port" in trusted:
        lines.append('RequestHeader unset X-Forwarded-Port '
                     '"expr=%{req:X-Forwarded-Port} !~ /^[0-9]{1,5}$/"')
    # mod_wsgi names the daemon process that died and the signal that killed
    # it only at level info.
    level = last_value(args, "--log-level", "warn")
    if level not in ("info", "debug") and not level.startswith("trace"):
        lines.append("LogLevel wsgi:info")
    # Each Apache thread's memory allocator keeps up to 2 MiB it freed
    # (Apache's default MaxMemFree): 5 MiB more for 16 threads in embedded
    # mode, more again for the front end's many.  64 KiB is plenty.
    lines += ["MaxMemFree 64"] + front_end_directives(args, own)
    if status[0]:
        lines += status_directives(status[0], status[1], not has_option(args, "--embedded-mode")
                                   or any(has_option(args, o) for o in WANT_EXTENDED_STATUS))
    if root:
        lines += straight_to_application(args, root)
    return "".join(line + "\n" for line in lines)


def setup_server(args, root, env, status=(0, ""), own=()):
    """Let mod_wsgi-express write Apache's configuration into root; its exit status.

    Our --server-root comes last (mod_wsgi-express keeps the last value): the
    supervisor below starts Apache from it.  Apache waits at most
    WHISKEY_STOP_TIMEOUT seconds (default 8, inside Docker's 10) for
    requests in flight when it is stopped.
    """
    include = os.path.join(os.path.dirname(root), "whiskey-httpd.conf")
    try:
        if not os.path.isdir(os.path.dirname(root)):
            os.makedirs(os.path.dirname(root))
        requests = env.get("WHISKEY_REQUESTS")
        if requests:  # a fresh one: a restarted container's /tmp keeps the last start's
            if os.path.isdir(requests):
                for name in os.listdir(requests):
                    os.remove(os.path.join(requests, name))
            else:
                os.makedirs(requests)
        with open(include, "w") as f:
            f.write(httpd_directives(args, env, status, own, root))
    except (IOError, OSError) as exc:
        raise CannotStart("cannot write Apache's configuration in %s: %s (the container "
                          "needs a writable $TMPDIR, default /tmp, with room for it)"
                          % (os.path.dirname(root), exc.strerror or exc))
    say.step("mod_wsgi-express setup-server %s" % " ".join(args))
    return express_setup_server(args + ["--include-file", include, "--server-root", root])


def express_setup_server(words):
    """``mod_wsgi-express setup-server WORDS`` in this process: its exit status.

    A second interpreter and its imports were a third of the time from the
    container's start to Apache's (BENCHMARKS.md, the cold start).  What it
    prints goes to stderr, the log, as when it was a command; so does an
    error (optparse's: the message, then exit status 2) or a traceback.
    """
    saved = sys.argv, sys.stdout
    # It writes sys.argv into the apachectl it makes, as the command it was.
    sys.argv, sys.stdout = ["mod_wsgi-express", "setup-server"] + words, sys.stderr
    try:
        try:  # mod_wsgi 5 and later; mod_wsgi 4 has it in mod_wsgi.server
            from mod_wsgi.express.cli import cmd_setup_server
        except ImportError:
            from mod_wsgi.server import cmd_setup_server
        cmd_setup_server(words)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        sys.stderr.write("%s\n" % exc.code)
        return 1
    except Exception:  # its bug, or a broken install: the traceback, as the command
        import traceback
        traceback.print_exc()
        return 1
    finally:
        sys.argv, sys.stdout = saved
    return 0


# glibc gives each thread that allocates concurrently its own malloc arena
# (up to 8 per CPU), and every arena keeps what it freed: 16 threads made a
# process 5 MiB bigger (BENCHMARKS.md).  Python's own allocator serves small
# objects under the GIL, so few arenas cost no speed.  A value set by the
# user is kept.
MALLOC_ARENA_MAX = "2"
# What answers when no application is named: 503 to every request (placeholder.py).
PLACEHOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "placeholder.py")
# supervise.py imported rather than run: a module's byte code is compiled in
# the image, and a script would be compiled again at every start.
SUPERVISE = ("import sys; sys.path[0] = %r; import supervise; sys.exit(supervise.main(sys.argv[1:]))"
             % os.path.dirname(os.path.abspath(__file__)))


def server_args_text(app_src):
    path = places.whiskey_file(app_src, "server_args")
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        return f.read()


def own_args(env, text, argv=()):
    """whiskey's own options: the environment's, .whiskey/server_args' (its text), the
    command's.  ServerArgsError when server_args cannot be read as options."""
    return env_args(env) + split(text, env) + list(argv)


def whiskey_names_app(env, app_src):
    """The whiskey setting (environment or .whiskey/server_args) that names the
    application, or None: then the official builder's Django steps apply (djangoapp.py)."""
    return official.explicit_entry(env, own_args(env, server_args_text(app_src)), app_src)


def what_starts(env, app_src):
    """(what the start will serve and why, as main() decides it given env; whether that
    is a warning), for the build log."""
    try:
        own = own_args(env, server_args_text(app_src))
        if os.path.exists(places.whiskey_file(app_src, "action_hooks", "start")):
            return "the start hook (.whiskey/action_hooks/start) replaces mod_wsgi-express", False
        whiskey = official.explicit_entry(env, own, app_src)
        if whiskey:
            return "serving what %s names (whiskey's setting)" % whiskey, False
        instead, ran = official.server(env, own, app_src)
        if instead:
            return ran[0], False
        theirs, said = official.options(env, own, app_src)
        if has_option(theirs, "--entry-point"):
            return said[-1], False  # APP_MODULE's, said last
        _, _, said = official.convention(env, own, app_src)
    except (ServerArgsError, official.Refused) as exc:
        return "the start will refuse: %s" % exc, True
    if said:
        return said[0], False
    return ("no application is named: every request will be answered 503 Service Unavailable "
            "(name one with APP_MODULE=module:callable, MOD_WSGI_ENTRY_POINT or --entry-point "
            "in .whiskey/server_args)"), True


def main(argv):
    env = os.environ
    env.setdefault("MALLOC_ARENA_MAX", MALLOC_ARENA_MAX)
    app_src = places.app_src(env)
    text = server_args_text(app_src)
    try:
        own = own_args(env, text, argv)  # whiskey's own settings
        theirs, said = official.options(env, own, app_src)
        instead, ran = official.server(env, own, app_src)
        args = server_args(env, text, container_cpus(env), theirs) + argv
        for word in theirs:
            check_control(word, "the official builder's settings (PORT, APP_*)")
        for word in split(text, env):
            check_control(word, ".whiskey/server_args")
        for word in argv:
            check_control(word, "the container's command")
        check_script_values(split(text, env), ".whiskey/server_args")
        check_script_values(argv, "the container's command")
        check_script_values(args, "the server options (environment: LANG, MOD_WSGI_*)")
        extra, proxies = trusted_proxies(args, env)
        stop_budget(env)
        version = mod_wsgi_version()
        embedded, mode = serving_mode(env, own, version)
    except (ServerArgsError, supervise.BadSetting, official.Refused) as exc:
        say.error(str(exc))
        return 2
    for line in said + ran:
        say.step(line)
    args += extra
    if embedded:
        args += embedded_args(args, own, env)
    else:
        env.pop("WHISKEY_REQUESTS", None)  # the status page names the requests
    if proxies is not None:
        say.step("Trusting %s only from %s (WHISKEY_TRUSTED_PROXIES)"
                 % (", ".join(trusted_headers(args)),
                    "no peer" if proxies == list(NO_PROXY) else " ".join(proxies)))
    elif has_option(args, "--trust-proxy-header") and not has_option(args, "--trust-proxy"):
        say.warn("WHISKEY_TRUSTED_PROXIES=all: %s are believed from every client"
                 % ", ".join(trusted_headers(args)))
    try:
        if not official.explicit_entry(env, own, app_src):  # whiskey's own naming wins
            djangoapp.migrate(env, official.app_home(env, app_src), app_src)
        hooks.replace(app_src, "start", args, "starting mod_wsgi-express")
        if not instead:  # nothing explicit: the official builder's conventions (said)
            extra, instead, said = official.convention(env, args, app_src)
            for line in said:
                say.step(line)
            args += extra
        if not instead:
            args += djangoapp.static_alias(args, app_src)
        if instead:
            os.chdir(official.app_home(env, app_src))
            sys.stderr.flush()
            hooks.execute(instead, instead[-1])
    except say.Failed as exc:
        say.error(str(exc))
        return 1
    if not official.explicit_entry({}, args, app_src):
        say.warn("no application is named: every request is answered 503 Service Unavailable, "
                 "so that probes fail (name one with APP_MODULE=module:callable, "
                 "MOD_WSGI_ENTRY_POINT or --entry-point in .whiskey/server_args)")
        args.append(PLACEHOLDER)
    say.step(mode)
    timeout, note = request_timeout_args(args, version)
    watchdog = watchdog_timeout(args)
    if watchdog:
        note = ("Request timeout %d s: a request running longer has its Apache process "
                "replaced, with the requests it was serving (whiskey's watchdog)" % watchdog)
    if note:
        say.step(note)
    root = os.path.join(places.runtime_dir(env), "httpd")
    listener = status_listener()
    try:
        status = setup_server(args + timeout, root, env, listener, own)
    except CannotStart as exc:
        say.error(str(exc))
        return 1
    if status != 0:
        say.error("mod_wsgi-express rejected the server options (exit status %d; its message "
                  "is above)" % status)
        return status
    apache = supervise.start_apache(root)
    # A fresh, small interpreter waits on Apache (see supervise.py), started
    # while Apache starts: Apache stays this process's child across the exec.
    os.execv(sys.executable, [sys.executable, "-S", "-E", "-c", SUPERVISE,
                              str(apache), str(listener[0]), listener[1], str(watchdog)])
