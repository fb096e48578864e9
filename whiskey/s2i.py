"""Turn an application directory into an application image, as `s2i build` does.

Two strategies, both without the s2i binary:

* ``build_app`` follows s2i's default strategy: create a container of the
  builder, upload a tar holding ``src/`` (and ``artifacts/`` on incremental
  builds) to the destination ``/tmp``, run ``assemble`` as the image user,
  and commit the container with ``run`` as its command.  Incremental builds
  first run ``save-artifacts`` in the previous image and feed its tar back,
  exactly as ``s2i build --incremental`` does.
* ``as_dockerfile`` writes the Dockerfile that ``s2i build --as-dockerfile``
  generates (FROM builder, COPY src to /tmp/src, chown, assemble, CMD run).

An extra CA bundle (TLS-inspecting proxies, corporate CAs) is bind-mounted
read-only into the assemble container only; it never lands in a layer.
"""

import io
import os
import tarfile

SCRIPTS = "/usr/libexec/s2i"
DESTINATION = "/tmp"
# assemble appends every *.pem / *.crt in this directory to pip's CA bundle.
CA_DIR = "/run/secrets/whiskey-ca"


class AssembleError(RuntimeError):
    """assemble failed; ``logs`` holds its whole output."""

    def __init__(self, message, logs):
        tail = "\n  ".join(logs.rstrip("\n").splitlines()[-20:])
        RuntimeError.__init__(self, "%s; its last lines:\n  %s" % (message, tail))
        self.logs = logs


def read_environment_file(src):
    """KEY=VALUE lines of src/.s2i/environment (comments and blanks skipped)."""
    env = {}
    path = os.path.join(src, ".s2i", "environment")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    env[key.strip()] = value
    return env


def _add_tree(tar, src, prefix, uid=1001, gid=0):
    info = tarfile.TarInfo(prefix)
    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o775, uid, gid
    tar.addfile(info)
    for top, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            full = os.path.join(top, name)
            arc = os.path.join(prefix, os.path.relpath(full, src))
            info = tar.gettarinfo(full, arc)
            info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
            if info.isreg():
                with open(full, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)


def upload_tar(src, artifacts=None):
    """The tar s2i uploads: src/ (and artifacts/), owned by the assemble user."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_tree(tar, src, "src")
        if artifacts is not None:
            with tarfile.open(fileobj=io.BytesIO(artifacts)) as saved:
                for member in saved.getmembers():
                    name = member.name[2:] if member.name.startswith("./") else member.name
                    member.name = "artifacts/" + name.lstrip("/")
                    member.uid, member.gid = 1001, 0
                    data = saved.extractfile(member) if member.isreg() else None
                    tar.addfile(member, data)
    return buf.getvalue()


def save_artifacts(client, previous_image):
    """Run save-artifacts in previous_image; its stdout (a tar) as bytes.

    stdout is read through an attach made before the start, which is binary
    safe; the logs API is not (the json-file driver stores text).  The
    container logs nothing, so the tar is not written to the engine's logs.
    """
    from docker.types import LogConfig
    container = client.containers.create(previous_image, [SCRIPTS + "/save-artifacts"],
                                         log_config=LogConfig(type="none"))
    try:
        stream = client.api.attach(container.id, stdout=True, stderr=False, stream=True,
                                   logs=False)
        container.start()
        out = b"".join(stream)
        status = container.wait()["StatusCode"]
        if status != 0:
            raise AssembleError("save-artifacts in %s exited %d" % (previous_image, status), "")
        return out
    finally:
        container.remove(force=True)


def build_app(client, builder, src, tag, env=None, incremental=False, ca_bundle=None,
              network_mode=None, log=None):
    """Build the application image ``tag`` from directory ``src``; returns (image, logs).

    env: extra -e values (applied after .s2i/environment, as s2i does).
    incremental: reuse save-artifacts of the existing ``tag`` image, if any.
    ca_bundle: host path of an extra CA bundle for pip during assemble.
    """
    import docker.errors
    environment = read_environment_file(src)
    environment.update(env or {})
    artifacts = None
    if incremental:
        try:
            client.images.get(tag)
            artifacts = save_artifacts(client, tag)
        except docker.errors.ImageNotFound:
            pass
    from docker.types import Mount
    mounts = []
    if ca_bundle:
        mounts.append(Mount(CA_DIR + "/ca-bundle.pem", os.path.abspath(ca_bundle),
                            type="bind", read_only=True))
    container = client.containers.create(
        builder, [SCRIPTS + "/assemble"], user="1001", environment=environment,
        mounts=mounts, network_mode=network_mode)
    try:
        container.put_archive(DESTINATION, upload_tar(src, artifacts))
        container.start()
        lines = []
        for chunk in container.logs(stream=True, follow=True):
            text = chunk.decode("utf-8", "replace")
            lines.append(text)
            if log:
                log(text.rstrip("\n"))
        status = container.wait()["StatusCode"]
        logs = "".join(lines)
        if status != 0:
            raise AssembleError("assemble of %s failed with exit status %d" % (src, status), logs)
        # docker commit keeps the container's environment, so the image gets
        # the build environment as s2i's does; the CA mount is not kept.
        changes = ['CMD ["%s/run"]' % SCRIPTS, "USER 1001"]
        repo, _, t = tag.rpartition(":")
        image = container.commit(repository=repo, tag=t, changes=changes)
        return image, logs
    finally:
        container.remove(force=True)


def _quote(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def as_dockerfile(builder, src, env=None):
    """The Dockerfile `s2i build --as-dockerfile` would write for src.

    Its context holds the source under upload/src, like s2i's output.
    """
    environment = read_environment_file(src)
    environment.update(env or {})
    lines = ["FROM %s" % builder]
    if environment:
        lines.append("ENV " + " ".join("%s=%s" % (k, _quote(v)) for k, v in sorted(environment.items())))
    lines += [
        "USER root",
        "COPY upload/src %s/src" % DESTINATION,
        "RUN chown -R 1001:0 %s/src" % DESTINATION,
        "USER 1001",
        "RUN %s/assemble" % SCRIPTS,
        'CMD ["%s/run"]' % SCRIPTS,
    ]
    return "\n".join(lines) + "\n"


def dockerfile_context(builder, src, env=None):
    """A tar (file object) of the --as-dockerfile context: Dockerfile + upload/src."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = as_dockerfile(builder, src, env).encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        _add_tree(tar, src, "upload/src", uid=0, gid=0)
    buf.seek(0)
    return buf
