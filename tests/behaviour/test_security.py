"""Attacks on an image, each reproduced as an attacker would make it, in every
buildable variant: a build that plants code for root, a build that leaves a
setuid file, links where the runtime image expects directories, a proxy in the
container's own network namespace, control characters in settings, a full
/tmp, malformed lock files.  (A poisoned previous image of an incremental
build is in test_runtime.py, next to the other incremental builds.)
"""

import io
import json
import re
import tarfile
import time

import pytest
from conftest import HOSTILE_ENV, REFUSED_STARTS, REPOSITORY, Running, run_to_exit

from tests.support import s2i
from tests.unit.test_locks import MALFORMED  # the unit suite's cases, run in every image here
from whiskey import images

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def hostile(apps, builder):
    """The hostile app (its build hook plants a .pth for root) from the builder alone."""
    return apps.build(builder, "hostile", env=HOSTILE_ENV)[0]


def shell(client, image, script, user="1001", **kwargs):
    """(exit status, output) of sh -c script in a new container of image."""
    return run_to_exit(client, image, timeout=120, command=["sh", "-c", script], user=user, **kwargs)


def errors(text):
    return [line for line in text.splitlines() if line.startswith("whiskey: ERROR")]


# -- root during the runtime image's assembly ----------------------------------------

def test_a_runtime_build_runs_none_of_the_builds_python_as_root(apps, builder, docker_client):
    """The build's .pth would plant a setuid-root bash if any Python started as root
    while assemble-runtime put the build in place: it starts as the app user only.
    The build's environment reaches assemble-runtime too, and does not choose where
    root deletes and moves (PYTHON_VERSION named the site-packages once)."""
    image, _ = apps.build(builder, "hostile", kind="runtime", env=HOSTILE_ENV)
    status, out = shell(docker_client, image.id,
                        "find / -xdev -type f -perm /6000; ls /tmp /usr/local/bin", user="0")
    assert status == 0, out
    assert "rb" not in out.split() and "/usr/local/bin/rb" not in out
    assert "hostile-python-uid-0" not in out and "hostile-python-uid-1001" in out, out


def test_a_setuid_file_left_by_a_build_fails_it_in_one_line(apps, builder):
    with pytest.raises(s2i.AssembleError) as exc:
        apps.build(builder, "hostile", env={"HOSTILE_SETUID": "1"}, suffix="-setuid")
    assert errors(exc.value.logs) == [
        "whiskey: ERROR: setuid or setgid files after the build: /opt/app-root/src/rb "
        "(refused: the image must hold none)"], exc.value.logs


def test_site_packages_or_bin_arriving_as_a_link_is_refused(apps, builder, hostile, variant,
                                                            docker_client):
    """A build that turns them into links would have root chmod what they point to."""
    runtime = images.runtime_image_name(variant, REPOSITORY)
    site = "/opt/app-root/lib/python%s/site-packages" % variant.major_minor
    for path, part in ((site, "site-packages"), ("/opt/app-root/bin", "bin")):
        box = docker_client.containers.run(
            hostile.id, ["sh", "-c", "mv %s %s.real && ln -s /etc %s" % (path, path, path)],
            detach=True, user="1001")
        try:
            assert box.wait(timeout=60)["StatusCode"] == 0
            linked = box.commit()
        finally:
            box.remove(force=True)
        try:
            with pytest.raises(s2i.AssembleError) as exc:
                s2i.runtime_from_app_image(docker_client, linked.id, runtime,
                                           apps.tag(builder, "hostile", "-link"))
        finally:
            docker_client.images.remove(linked.id, force=True, noprune=True)
        assert errors(exc.value.logs) == [
            "whiskey: ERROR: %s arrived from the builder as a symbolic link (/etc), not a "
            "directory: refused, it would make root change files elsewhere" % part], exc.value.logs


# -- what the server exposes and accepts ---------------------------------------------

# A loopback forwarder inside the container, as an oauth-proxy or a mesh sidecar
# is: PORT=TARGET pairs, each accepted on 0.0.0.0 and relayed to 127.0.0.1.
# Python 2.7 to 3.x; it ends with the container.
FORWARDER = r"""
import socket, sys, threading
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except Exception:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except Exception:
            pass
def serve(port, target):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(16)
    while True:
        c, _ = srv.accept()
        u = socket.create_connection(("127.0.0.1", target))
        for args in ((c, u), (u, c)):
            t = threading.Thread(target=pipe, args=args)
            t.daemon = True
            t.start()
for pair in sys.argv[1:]:
    port, target = pair.split("=")
    t = threading.Thread(target=serve, args=(int(port), int(target)))
    t.daemon = True
    t.start()
threading.Event().wait(600)
"""


def test_no_status_page_leaks_through_a_sidecar_in_the_containers_network(probe, run):
    """Requests a same-pod proxy relays arrive from 127.0.0.1: the application's
    port has no status page, and the supervisor's own listener wants its token."""
    app = run(probe[0].id,
              ports={"9000/tcp": ("127.0.0.1", None), "9001/tcp": ("127.0.0.1", None)})
    _, conf = app.exec(["cat", "/tmp/whiskey-1001/whiskey-httpd.conf"])
    status_port = int(re.search(r"^Listen 127\.0\.0\.1:([0-9]+)$", conf, re.M).group(1))
    app.container.exec_run(["python", "-c", FORWARDER, "9000=8080", "9001=%d" % status_port],
                           detach=True)
    published = app.container.attrs["NetworkSettings"]["Ports"]
    sidecar = Running(app.container, published["9000/tcp"][0]["HostPort"])
    beside = Running(app.container, published["9001/tcp"][0]["HostPort"])
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if sidecar.get("/", timeout=5).status == 200:
                break
        except (IOError, OSError):
            time.sleep(0.3)
    for path in ("/.whiskey/server-status", "/server-status", "/.whiskey/server-status?auto"):
        answer = sidecar.get(path)
        assert (answer.status, answer.text) == (404, "probe: no such path"), path
    answer = beside.get("/?auto")
    assert answer.status == 403 and "Server Version" not in answer.text
    assert "Server Version" not in app.get("/.whiskey/server-status").text


@pytest.mark.parametrize("name", ["MOD_WSGI_LOG_LEVEL", "MOD_WSGI_PROCESSES"])
def test_a_control_character_in_a_setting_stops_the_start_in_one_line(refused_starts, name):
    (value,) = REFUSED_STARTS[name][1].values()
    assert "\n" in value or "\r" in value
    status, out, _ = refused_starts[name]
    assert errors(out) == [
        "whiskey: ERROR: %s: %r is refused: it holds a control character, which would end a line "
        "of Apache's configuration and begin a directive" % (name, value)], out
    assert status == 2


def test_a_full_tmp_at_start_is_one_line(probe, docker_client):
    status, out = shell(docker_client, probe[0].id,
                        "head -c 2097152 /dev/zero > /tmp/fill 2>/dev/null; "
                        "/usr/libexec/s2i/run; echo status=$?",
                        read_only=True, tmpfs={"/tmp": "size=1m"})
    assert errors(out) == [
        "whiskey: ERROR: /tmp/whiskey-1001 has 0 KiB free, and starting needs about 256: give "
        "the container a writable $TMPDIR (default /tmp) with room"], out
    assert "status=1" in out and "Traceback" not in out


# -- lock files ------------------------------------------------------------------------

def test_every_malformed_lock_is_one_line_naming_it_in_this_image(builder, docker_client):
    """The unit suite's malformed locks, read by this image's Python and pip."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i, (lock, text, _) in enumerate(MALFORMED):
            data = text if isinstance(text, bytes) else text.encode("utf-8")
            info = tarfile.TarInfo("locks/%d/%s" % (i, lock))
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    container = docker_client.containers.create(
        builder, ["sh", "-c", "cd /tmp/locks && for d in $(ls | sort -n); do "
                  "python /usr/libexec/whiskey/whiskey.py pins $d >/dev/null 2>/tmp/$d.err; s=$?; "
                  "echo \"$d $s $(wc -l < /tmp/$d.err) $(head -n 1 /tmp/$d.err)\"; done"],
        user="1001")
    try:
        container.put_archive("/tmp", buf.getvalue())
        container.start()
        assert container.wait(timeout=120)["StatusCode"] == 0
        out = container.logs().decode("utf-8", "replace")
    finally:
        container.remove(force=True)
    seen = {}
    for line in out.splitlines():
        i, status, count, first = (line.split(" ", 3) + ["", "", ""])[:4]
        seen[int(i)] = (int(status), int(count), first)
    wrong = [(lock, message, seen.get(i)) for i, (lock, _, message) in enumerate(MALFORMED)
             if seen.get(i, (0, 0, ""))[:2] != (1, 1)
             or not seen[i][2].startswith("whiskey: ERROR: " + message)]
    assert not wrong, json.dumps(wrong, indent=1)
