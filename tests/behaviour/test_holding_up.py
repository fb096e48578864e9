"""The server under hostile or careless clients, in every buildable variant:
slow clients, requests that never return, stops with work in flight, and the
embedded mode that trades daemon processes for speed.

Every load here goes to a container this test started, through 127.0.0.1,
and is bounded in connections and in time.
"""

import contextlib
import resource
import selectors
import socket
import statistics
import threading
import time
import traceback
from http.client import HTTPConnection

import pytest
from conftest import embedded_by_default, processes, serving
from server import THREADS  # whiskey's default, which the hung scenario must exhaust

pytestmark = pytest.mark.slow

LIMITS = {"nano_cpus": 10 ** 9, "mem_limit": "256m"}  # the sizes the issue was measured at


@pytest.fixture(autouse=True)
def quiet(apps):
    """No application build of this session still running on the machine: these tests time things."""
    apps.settle()


def _port(app):
    return int(app.url.rsplit(":", 1)[1])


def _get(port, path="/", timeout=5):
    """(status, seconds) of one request on a new connection; status 0 if it failed."""
    began = time.time()
    conn = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.time() - began
    except (OSError, ValueError):
        return 0, time.time() - began
    finally:
        conn.close()


class SlowClients(object):
    """Keeps ``count`` connections open to 127.0.0.1:port, each sending one
    byte of an endless request header every 3 s (slowloris), and opens a new
    one whenever the server closes one."""

    HEADER = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 4096

    def __init__(self, port, count):
        self.port, self.count = port, count
        self.opened = self.cut = 0
        self.peak_open = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)

    def _open(self, sel):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", self.port))
        sel.register(s, selectors.EVENT_READ, [0, time.time()])
        self.opened += 1

    def _run(self):
        sel = selectors.DefaultSelector()
        for _ in range(self.count):
            self._open(sel)
        while not self._stop.is_set():
            for key, _ in sel.select(timeout=0.1):  # readable: the server closed it (or answered)
                sel.unregister(key.fileobj)
                key.fileobj.close()
                self.cut += 1
                self._open(sel)
            now = time.time()
            for key in list(sel.get_map().values()):
                sent, last = key.data
                if now - last >= 3:
                    try:
                        key.fileobj.send(self.HEADER[sent % len(self.HEADER):][:1])
                        key.data[:] = [sent + 1, now]
                    except BlockingIOError:
                        pass  # still connecting
                    except OSError:
                        sel.unregister(key.fileobj)
                        key.fileobj.close()
                        self.cut += 1
                        self._open(sel)
            self.peak_open = max(self.peak_open, len(sel.get_map()))
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        sel.close()


def _enough_file_descriptors(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        assert hard == resource.RLIM_INFINITY or hard >= needed, (
            "this test opens %d sockets; the open-files limit is %d (ulimit -n)" % (needed, hard))
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _memory_mib(container):
    stats = container.stats(stream=False)["memory_stats"]
    usage = stats.get("max_usage") or stats.get("usage", 0)  # cgroup v1 keeps the peak
    return usage / 2.0 ** 20


def _hang(port, count):
    """count requests to /hang, each on its own connection, left waiting."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), 5)
        s.sendall(b"GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n")
        socks.append(s)
    return socks


class Scenario(threading.Thread):
    """A timed scenario on its own container, run beside the module's other tests
    (its test reads the outcome); an error in it is kept for that test to raise."""

    def __init__(self, app):
        threading.Thread.__init__(self)
        self.app, self.error = app, None

    def run(self):
        try:
            self.play()
        except Exception:  # noqa: BLE001 - reported by the scenario's test
            self.error = traceback.format_exc()

    def outcome(self):
        self.join(60)
        assert not self.is_alive(), "the scenario did not end within a minute of its test"
        assert self.error is None, "the scenario itself failed:\n" + self.error
        return self


class HungRecovery(Scenario):
    """Hangs as many requests as 2 processes x whiskey's default threads run at
    once, then asks every 0.5 s when the service went down and came back, and
    notes when the server had cut every hung connection."""

    TIMEOUT = 5  # MOD_WSGI_REQUEST_TIMEOUT, short so that the test is

    down_at = back_at = cut_at = None

    def __init__(self, app, embedded):
        Scenario.__init__(self, app)
        self.embedded = embedded

    def play(self):
        port = _port(self.app)
        socks = _hang(port, 2 * THREADS)
        began = time.time()
        sel = selectors.DefaultSelector()
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        try:
            while time.time() - began < self.TIMEOUT + 40:
                for key, _ in sel.select(timeout=0):  # readable: closed (or answered)
                    sel.unregister(key.fileobj)
                if not sel.get_map() and self.cut_at is None:
                    self.cut_at = time.time() - began
                status, _ = _get(port, timeout=2)
                if status != 200 and self.down_at is None:
                    self.down_at = time.time() - began
                if status == 200 and self.down_at is not None and self.back_at is None:
                    self.back_at = time.time() - began
                if self.back_at is not None and (self.cut_at is not None or not self.embedded):
                    break
                if self.embedded and self.cut_at is not None and self.down_at is None:
                    break  # cut, and never down
                time.sleep(0.5)
        finally:
            sel.close()
            for s in socks:
                s.close()


class StopWithHungRequest(Scenario):
    """One request hung, /sleep (2 s) in flight, then `docker stop` (10 s grace)."""

    elapsed = None

    def play(self):
        port = _port(self.app)
        socks = _hang(port, 1)
        self.finished = {}
        slow = threading.Thread(target=lambda: self.finished.update(r=_get(port, "/sleep", timeout=15)))
        try:
            time.sleep(1)
            slow.start()
            time.sleep(0.5)  # /sleep (2 s) is in flight too
            began = time.time()
            self.app.container.stop(timeout=10)
            self.elapsed = time.time() - began
            slow.join(15)
        finally:
            socks[0].close()


class SlowClientAttack(Scenario):
    """1,000 slowloris connections held open while a normal client asks every 0.2 s."""

    CLIENTS = 1000

    def play(self):
        port = _port(self.app)
        with SlowClients(port, self.CLIENTS) as attack:
            time.sleep(2)  # all connected and sending
            self.results = []
            began = time.time()
            first_cut = None
            # 15 s at least (mod_reqtimeout ends a slow connection 15 s after it
            # began, and the attacker opens a new one for each it loses), and 3 s
            # of that churn.
            while time.time() - began < 30:
                self.results.append(_get(port))
                if first_cut is None and attack.cut:
                    first_cut = time.time()
                if time.time() - began >= 15 and first_cut and time.time() - first_cut >= 3:
                    break
                time.sleep(0.2)
            self.opened, self.cut, self.peak = attack.opened, attack.cut, attack.peak_open


def _selected(session, name, variant):
    return any(item.originalname == name and item.callspec.params.get("variant") is variant
               for item in session.items if hasattr(item, "callspec"))


@pytest.fixture(scope="module", autouse=True)
def scenarios(request, docker_client, probe, apps, variant):
    """The slow-client (where its test is selected), hung-request and stop scenarios,
    begun with the module's first test so that their waits overlap each other and
    the other tests (every container here has one CPU, and no application build
    runs meanwhile); each test reads its scenario's outcome."""
    apps.settle()
    hung = {"WHISKEY_CPUS": "2", "MOD_WSGI_REQUEST_TIMEOUT": str(HungRecovery.TIMEOUT)}
    embedded = embedded_by_default(variant)
    with contextlib.ExitStack() as stack:
        running = {
            "hung": HungRecovery(stack.enter_context(serving(
                docker_client, probe[0].id, environment=hung, **LIMITS)), embedded),
            "stop": StopWithHungRequest(stack.enter_context(serving(
                docker_client, probe[0].id, **LIMITS)))}
        if embedded:  # daemon processes too, as asked for (mod_wsgi 6 scales their limit)
            running["hung-daemon"] = HungRecovery(stack.enter_context(serving(
                docker_client, probe[0].id, environment=dict(hung, MOD_WSGI_EMBEDDED_MODE="0"),
                **LIMITS)), False)
        if _selected(request.session, "test_slow_clients_do_not_stop_service", variant):
            _enough_file_descriptors(SlowClientAttack.CLIENTS + 200)
            running["slow"] = SlowClientAttack(stack.enter_context(serving(
                docker_client, probe[0].id, **LIMITS)))
        for scenario in running.values():
            scenario.start()
        yield running
        for scenario in running.values():
            scenario.join(60)


def test_embedded_mode_serves_in_apache_s_own_processes_and_keeps_the_protections(
        run, probe, variant, docker_client):
    """MOD_WSGI_EMBEDDED_MODE=1: the application runs inside Apache's worker
    processes (no daemon hop; see BENCHMARKS.md), which keep the front end's
    slow-client sizing, and a request over the request timeout has its process
    replaced by whiskey's watchdog as a daemon's would be.  mod_wsgi before
    4.9 has no embedded mode in mod_wsgi-express: the container says so and stops."""
    env = {"MOD_WSGI_EMBEDDED_MODE": "1", "MOD_WSGI_REQUEST_TIMEOUT": "3"}
    if tuple(int(n) for n in variant.pin_version("mod_wsgi").split(".")[:2]) < (4, 9):
        container = docker_client.containers.run(probe[0].id, detach=True, environment=env)
        try:
            assert container.wait(timeout=60)["StatusCode"] != 0
            logs = container.logs().decode("utf-8", "replace")
        finally:
            container.remove(force=True)
        assert "mod_wsgi-express rejected the server options" in logs
        assert "--embedded-mode" in logs
        return
    app = run(probe[0].id, environment=env)
    data = app.get("/environ").json()
    assert data["mod_wsgi:process_group"] == "" and data["wsgi:mod_wsgi.process_group"] == ""
    assert data["wsgi:GREETING_ARG"] == "hello from user_vars"  # server_args still apply
    daemons = [cmd for _, cmd in processes(app) if cmd.startswith("(wsgi:")]
    assert not daemons, "a mod_wsgi daemon process runs in embedded mode"
    _, conf = app.exec(["cat", "/tmp/whiskey-1001/whiskey-httpd.conf"])
    assert "ThreadsPerChild 128" in conf and "MaxRequestWorkers 1280" in conf, conf
    # A hung request: its connection is cut once its process is killed (no answer),
    # the log names it, and the other processes serve meanwhile and after.
    hung = _hang(_port(app), 1)[0]
    began = time.time()
    hung.settimeout(3 + 15)
    try:
        cut = hung.recv(1) == b""
    except OSError:  # reset: cut too
        cut = True
    finally:
        hung.close()
    waited = time.time() - began
    assert cut and waited < 3 + 15, "the hung request was not cut within timeout + 15 s"
    assert app.get("/").text == "probe ok"
    logs = app.logs()
    line = [x for x in logs.splitlines() if "request time limit exceeded" in x]
    assert line and "GET /hang HTTP/1.1" in line[0], logs[-3000:]
    print("hung request cut after %.1f s (request timeout 3 s)" % waited)
    app.container.stop(timeout=10)
    app.container.reload()
    assert app.container.attrs["State"]["ExitCode"] == 0


def test_an_oom_kill_is_named_in_the_log_and_service_comes_back(run, probe, variant):
    """A request that needs more memory than the container has: the kernel
    kills the process serving it (an Apache process in embedded mode, else the
    daemon process); the log says it was the OOM killer, and another takes its place."""
    app = run(probe[0].id, mem_limit="128m", memswap_limit="128m")
    status, _ = _get(_port(app), "/allocate", timeout=30)
    assert status != 200  # the process serving it was killed
    deadline = time.time() + 20
    while "OOM killer" not in app.logs() and time.time() < deadline:
        time.sleep(0.5)
    logs = app.logs()
    assert "whiskey: ERROR: the kernel's OOM killer killed" in logs, logs[-3000:]
    if not embedded_by_default(variant):
        assert "terminated by signal 9" in logs  # mod_wsgi's word for its daemon
    back = None
    while back is None and time.time() < deadline + 20:
        if _get(_port(app))[0] == 200:
            back = True
        time.sleep(0.5)
    assert back, logs[-3000:]


# -- the scenarios' outcomes, read after the tests above ran beside them ----------------

@pytest.mark.once_per("server_stack")
def test_slow_clients_do_not_stop_service(scenarios):
    """Issue: 300 such clients left a normal client 1 answer in 7 tries.
    Goal: >= 95% answered, p50 < 100 ms, memory bounded (no OOM at 256 MiB).
    Run with 1,000 (the 300 of the issue, and more).  Apache's front end (event
    MPM, mod_reqtimeout) meets them before any Python runs: once per server stack."""
    attack = scenarios["slow"].outcome()
    app, results, slow = attack.app, attack.results, attack.CLIENTS
    served = [seconds for status, seconds in results if status == 200]
    p50 = statistics.median(served) if served else None
    report = ("%d slow clients (peak %d open, %d cut by the server): %d of %d normal requests "
              "served, p50 %s ms" % (slow, attack.peak, attack.cut, len(served), len(results),
                                     None if p50 is None else round(p50 * 1000, 1)))
    print(report)
    assert attack.peak >= slow and attack.opened >= slow, report  # the attack really happened
    assert attack.cut > 0, "no slow connection was ever ended by the server: " + report
    assert len(served) >= 0.95 * len(results), report
    assert p50 < 0.1, report
    app.container.reload()
    assert app.container.status == "running", app.logs()[-2000:]
    assert not app.container.attrs["State"]["OOMKilled"]
    assert "OOM killer" not in app.logs()
    print("peak memory %.0f MiB of 256" % _memory_mib(app.container))


def test_hung_requests_are_recovered_within_request_timeout_plus_15s(scenarios):
    """Issue: with every daemon thread hung the service was down ~230 s for a
    60 s request timeout.  Goal: back within request-timeout + 15 s (5 s here,
    so the test is short).  In embedded mode (whiskey's default where
    mod_wsgi-express has it) the watchdog cuts the hung requests in that time
    too, whether or not they had taken every slot; daemon processes as asked
    for are held to the goal beside it."""
    for name in ("hung", "hung-daemon"):
        if name not in scenarios:
            continue
        scenario = scenarios[name].outcome()
        down_at, back_at, app = scenario.down_at, scenario.back_at, scenario.app
        print("%s: down after %s s, back after %s s, hung requests cut after %s s"
              % (name, down_at, back_at, scenario.cut_at))
        limit = scenario.TIMEOUT + 15
        logs = app.logs()
        if scenario.embedded:
            assert scenario.cut_at is not None and scenario.cut_at <= limit, (
                "hung requests not cut %d s after they began\n%s" % (limit, logs[-3000:]))
            assert down_at is None or (back_at is not None and back_at <= limit), logs[-3000:]
        else:
            assert down_at is not None, (
                "the hung requests never took every thread: the test proves nothing")
            assert back_at is not None and back_at <= limit, (
                "service back after %s s (request timeout %d s)\n%s"
                % (back_at, scenario.TIMEOUT, logs[-3000:]))
        assert "request time limit exceeded" in logs


def test_docker_stop_with_a_hung_request_exits_in_time_and_names_it(scenarios):
    """Issue: a hung request made `docker stop` end in SIGKILL (137, 10.3 s).
    Goal: exit 0 or 143 in < 10 s; requests that can finish do; the log says
    what was cut off."""
    scenario = scenarios["stop"].outcome()
    app = scenario.app
    app.container.reload()
    code = app.container.attrs["State"]["ExitCode"]
    logs = app.logs()
    print("stopped in %.1f s, exit status %d" % (scenario.elapsed, code))
    assert code in (0, 143), logs[-3000:]
    assert scenario.elapsed < 10
    assert scenario.finished["r"][0] == 200, "the request that could finish was cut off"
    cut = [line for line in logs.splitlines() if "are cut off" in line]
    assert cut and "GET /hang HTTP/1.1" in cut[0], logs[-3000:]
