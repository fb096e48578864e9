"""The supervisor between tini and Apache in a whiskey container.

server.py writes Apache's configuration, starts Apache (start_apache, below),
then replaces itself with this module, imported (for its byte code) by
``python -S -E -c server.SUPERVISE APACHE_PID STATUS_PORT STATUS_TOKEN
REQUEST_TIMEOUT``: a fresh interpreter
without site-packages that imports only what waiting needs, so the process
that sits in every container all its life costs ~4 MiB instead of ~6.5
(BENCHMARKS.md).  It turns Docker's stop signal into a graceful stop bounded
by WHISKEY_STOP_TIMEOUT, ignores terminal resizes, and logs why Apache ended
(signal, OOM kill).

Runs on every interpreter whiskey ships (Python 2.7 to 3.x): standard
library only, syntax all of them share.
"""

import errno
import os
import signal
import sys
import time

import say

# How the supervisor asks Apache which requests are in flight when a stop
# begins (to name those a stop cuts off): mod_status on a listener of its
# own on 127.0.0.1 (server.py), never on the application's port, answering
# only requests that carry this start's random token in this header.
STATUS_PATH = "/.whiskey/server-status"
STATUS_HEADER = "X-Whiskey-Status-Token"


class BadSetting(ValueError):
    pass


def stop_budget(env):
    """(seconds requests in flight get to finish, seconds a stop may take).

    WHISKEY_STOP_TIMEOUT (default 8) is the whole stop, inside the 10 s
    Docker (and 30 s Kubernetes) waits before SIGKILL: requests get all but
    2 s of it, then the supervisor stops Apache at once and, at the end,
    kills what is left (see supervise)."""
    value = env.get("WHISKEY_STOP_TIMEOUT") or "8"
    try:
        total = float(value)
    except ValueError:
        total = None
    if total is None or not 0 < total < 86400:  # also refuses nan and inf
        raise BadSetting("WHISKEY_STOP_TIMEOUT: %r is not a number of seconds" % value)
    return max(1.0, total - 2), max(2.0, total)


# What the supervisor does with a signal it receives: Docker and Kubernetes
# stop containers with TERM, which to Apache means "abort requests", so it
# becomes WINCH, Apache's graceful stop.  A terminal resize (WINCH) is
# ignored: it would otherwise stop Apache (mod_wsgi#105).
SIGNAL_MAP = {
    signal.SIGTERM: signal.SIGWINCH,
    signal.SIGINT: signal.SIGWINCH,
    signal.SIGQUIT: signal.SIGTERM,
    signal.SIGHUP: signal.SIGHUP,
    signal.SIGUSR1: signal.SIGUSR1,
    signal.SIGUSR2: signal.SIGUSR2,
}


def _block(block):
    """Block (or unblock) the signals supervise() handles, where Python can
    (3.3 and later): the mask outlives exec, so a stop that comes before
    supervise() has its handlers waits for them instead of ending this
    process.  Python 2.7 keeps the gap (the interpreter's start)."""
    if hasattr(signal, "pthread_sigmask"):
        how = signal.SIG_BLOCK if block else signal.SIG_UNBLOCK  # novermin: 3.3+, as above
        signal.pthread_sigmask(how, list(SIGNAL_MAP) + [signal.SIGWINCH])  # novermin


def start_apache(root):
    """Start ``bash ROOT/apachectl start -DFOREGROUND`` in its own process
    group, with default signal handling; its pid.  The caller (server.py)
    then execs this module, which waits on it; the signals stay blocked in
    the caller until then (_block).  bash reads apachectl, so a noexec /tmp
    (docker run --read-only --tmpfs /tmp) does not matter; its own process
    group keeps Apache out of the terminal's foreground process group, where
    the kernel delivers WINCH."""
    sys.stdout.flush()  # not written twice, by both processes
    sys.stderr.flush()
    _block(True)
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child execs or exits at once)
        try:
            os.setpgrp()
            for signum in list(SIGNAL_MAP) + [signal.SIGWINCH]:
                signal.signal(signum, signal.SIG_DFL)  # not our handlers, not our SIG_IGN
            _block(False)
            os.execv("/bin/bash", ["/bin/bash", os.path.join(root, "apachectl"),
                                   "start", "-DFOREGROUND"])
        finally:
            os._exit(127)
    return pid


def parse_status(html):
    """[(seconds running, request line, pid)] of the busy workers in mod_status's
    HTML page (its machine-readable form has neither request lines nor times)."""
    import re  # at a stop or a watchdog's look: the supervisor stays small until then
    cell_re, tag_re = re.compile(r"<td[^>]*>(.*?)</td>", re.S), re.compile(r"<[^>]*>")
    found = []
    for row in html.split("<tr>"):
        cells = [tag_re.sub("", c).strip() for c in cell_re.findall(row)]
        # Srv PID Acc M CPU SS Req Dur Conn Child Slot Client Protocol VHost Request
        if len(cells) < 15 or cells[3] != "W" or STATUS_PATH in cells[-1]:
            continue
        try:
            seconds, pid = int(cells[5]), int(cells[1])
        except ValueError:
            continue
        found.append((seconds, cells[-1], pid))
    return found


# In embedded mode the patched mod_wsgi's gate keeps the requests running
# in Python in a file per Apache process, named by its pid, in the directory
# WHISKEY_REQUESTS names (server.py), so that Apache can run without
# ExtendedStatus (a times() over all of a process's threads per request):
# a slot of REQUEST_SLOT bytes per place of the gate, each the time the
# request entered (microseconds since the epoch, 64 bits in the machine's
# byte order; 0 while the slot is free) and its request line.
REQUEST_SLOT = 256


def registered(directory, now=None):
    """[(seconds running, request line, pid)] of the requests in the gate's
    files in directory; a file whose process is gone is removed."""
    import struct
    now = time.time() if now is None else now
    found = []
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if not name.isdigit():
            continue
        try:
            os.kill(int(name), 0)
            with open(path, "rb") as f:
                data = f.read()
        except (IOError, OSError) as exc:
            if exc.errno == errno.ESRCH:
                _remove(path)
            continue
        for at in range(0, len(data) - REQUEST_SLOT + 1, REQUEST_SLOT):
            began = struct.unpack_from("=q", data, at)[0]
            if began:
                line = data[at + 8:at + REQUEST_SLOT].split(b"\0", 1)[0].decode("latin-1")
                found.append((max(0, int(now - began / 1e6)),
                              "".join(c if " " <= c < "\x7f" else "?" for c in line), int(name)))
    return found


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass  # removed meanwhile


def in_flight(port, token, timeout=1.0):
    """The requests Apache is working on, from the gate's files (embedded
    mode) or asked on the status listener; None if they cannot be read (the
    snapshot is best effort: a stop never waits on it)."""
    if os.environ.get("WHISKEY_REQUESTS"):
        try:
            return registered(os.environ["WHISKEY_REQUESTS"])
        except (IOError, OSError):
            return None
    import socket
    try:
        conn = socket.create_connection(("127.0.0.1", port), timeout)
        try:
            conn.sendall(("GET %s HTTP/1.0\r\nHost: localhost\r\n%s: %s\r\n\r\n"
                          % (STATUS_PATH, STATUS_HEADER, token)).encode("ascii"))
            chunks = []
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            conn.close()
    except (IOError, OSError):
        return None
    return parse_status(b"".join(chunks).decode("latin-1"))


def describe(requests):
    if requests is None:
        return "unknown (the server status could not be read)"
    if not requests:
        return "none"
    return "; ".join("%s (running %d s)" % (line, seconds)
                     for seconds, line, _ in sorted(requests)[::-1])


# In embedded mode no mod_wsgi daemon keeps --request-timeout: the supervisor
# looks at the status page every WATCH_EVERY seconds (at most; a quarter of
# the timeout when that is shorter) and kills the Apache process of a request
# that has run longer, as mod_wsgi replaces a daemon process; Apache's parent
# starts another.  Apache's scoreboard rounds to whole seconds.
WATCH_EVERY = 5.0


def watch(listener, timeout, killed):
    """Kill the Apache processes running a request older than timeout seconds
    (once each: killed holds their pids)."""
    for seconds, line, pid in in_flight(*listener) or ():
        if seconds > timeout and pid not in killed:
            killed.add(pid)
            say.warn("request time limit exceeded (%d s, MOD_WSGI_REQUEST_TIMEOUT): %s has "
                     "run %d s; its Apache process (pid %d) is killed and replaced, with the "
                     "requests it was serving" % (timeout, line, seconds, pid))
            _signal(pid, signal.SIGKILL)


def supervise(pid, listener, env, request_timeout=0):
    """Wait on Apache (pid, started by start_apache), translate signals, return its status.

    A stop (TERM or INT) becomes Apache's graceful stop.  Requests in flight
    get stop_budget()[0] seconds to finish; Apache is then stopped at once
    (TERM: it ends its children) and at stop_budget()[1] its whole process
    group is killed, so the container exits by itself (status 143) before
    Docker's or Kubernetes' SIGKILL, and the log names the requests that were
    in flight when the stop began, asked on the status listener (port, token).
    With a request_timeout (embedded mode), watch() runs while no stop is asked.
    """
    stopping = []  # the stop signals received, in order

    def forward(signum, frame):
        if signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            stopping.append(signum)
            if signum != signal.SIGQUIT:
                return  # the loop below begins the stop
        _signal(pid, SIGNAL_MAP[signum])

    for signum in SIGNAL_MAP:
        signal.signal(signum, forward)
    signal.signal(signal.SIGWINCH, signal.SIG_IGN)
    _block(False)  # what came since start_apache comes now
    graceful, total = stop_budget(env)
    began = cut_off = None
    handled = 0
    # Poll rather than block in waitpid, and stay single-threaded: Python 2
    # runs signal handlers only in the main thread, between bytecodes.
    oom_before = seen = oom_kills()
    every = min(WATCH_EVERY, request_timeout / 4.0)
    watched, killed = time.time(), set()
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise
            continue
        if done:
            break
        if len(stopping) > handled:
            handled = len(stopping)
            if began is None:
                began = time.time()
                snapshot = in_flight(*listener)
                if stopping[0] != signal.SIGQUIT:  # QUIT went on as TERM: no graceful part
                    _signal(pid, signal.SIGWINCH)
            else:  # asked again: stop now
                graceful = min(graceful, time.time() - began)
        if began is not None:
            elapsed = time.time() - began
            if cut_off is None and elapsed >= graceful:
                cut_off = elapsed
                say.warn("requests still running %.0f s after the stop signal are cut off "
                         "(WHISKEY_STOP_TIMEOUT); in flight when the stop began: %s"
                         % (elapsed, describe(snapshot)))
                _signal(pid, signal.SIGTERM)
            elif cut_off is not None and elapsed >= total - 0.5:
                say.warn("Apache did not stop %.0f s after the stop signal; killing its "
                         "processes" % elapsed)
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
        now = oom_kills()
        if seen is not None and now is not None and now > seen:
            say.error("the kernel's OOM killer killed %d process(es) in this container: it ran "
                      "out of memory (mod_wsgi logs a daemon process killed so as terminated "
                      "by signal 9; Apache replaces one of its own without a word)"
                      % (now - seen))
        seen = now
        if request_timeout and began is None and time.time() - watched >= every:
            watch(listener, request_timeout, killed)
            watched = time.time()
        time.sleep(0.1)
    if cut_off is not None:
        # Stopped, if not gracefully: the status of a process ended by TERM.
        say.note("stopped %.1f s after the stop signal" % (time.time() - began))
        return 128 + signal.SIGTERM
    return report_exit(pid, status, oom_before, bool(stopping))


def _signal(pid, signum):
    try:
        os.kill(pid, signum)
    except OSError:
        pass


def signal_name(signum):
    for name in dir(signal):
        if name.startswith("SIG") and not name.startswith("SIG_") and \
                getattr(signal, name) == signum:
            return name
    return "signal %d" % signum


def oom_kills():
    """How many processes the kernel's OOM killer killed in this container's
    cgroup (v2 memory.events, v1 memory.oom_control); None if unknown."""
    for path in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
        try:
            with open(path) as f:
                for line in f:
                    fields = line.split()
                    if len(fields) == 2 and fields[0] == "oom_kill":
                        return int(fields[1])
        except (IOError, OSError, ValueError):
            pass
    return None


def report_exit(pid, status, oom_before, stopping):
    """Log why Apache's parent process ended; the exit status to return."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        cause = ""
        after = oom_kills()
        if signum == signal.SIGKILL and oom_before is not None and after is not None \
                and after > oom_before:
            cause = ": the kernel's OOM killer (the container ran out of memory)"
        say.error("Apache (pid %d) was killed by %s (%d)%s"
                  % (pid, signal_name(signum), signum, cause))
        return 128 + signum
    code = os.WEXITSTATUS(status)
    if code != 0 or not stopping:
        (say.error if code else say.warn)(
            "Apache (pid %d) exited with status %d%s"
            % (pid, code, "" if stopping else " without being asked to stop"))
    return code


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: supervise.py APACHE_PID STATUS_PORT STATUS_TOKEN "
                         "REQUEST_TIMEOUT\n")
        return 2
    return supervise(int(argv[0]), (int(argv[1]), argv[2]), os.environ, int(argv[3]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
