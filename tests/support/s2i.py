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

With a runtime image (``s2i build --runtime-image``), the assembled builder
container is not committed: the paths its ``io.openshift.s2i.assemble-input-
files`` label names are copied out, uploaded into a container of the runtime
image under its working directory (each to its mapped subdirectory, with the
modes s2i gives them: 0755 directories and executables, 0644 the rest, owned
by root as when s2i runs as root), ``assemble-runtime`` runs there as the
label ``io.openshift.s2i.assemble-runtime-user`` says, and that container is
committed with ``run`` as its command and the runtime image's user.

An extra CA bundle (TLS-inspecting proxies, corporate CAs) is bind-mounted
read-only into the assemble container only; it never lands in a layer.
"""

import io
import os
import tarfile

SCRIPTS = "/usr/libexec/s2i"
DESTINATION = "/tmp"
INPUT_FILES_LABEL = "io.openshift.s2i.assemble-input-files"
RUNTIME_USER_LABEL = "io.openshift.s2i.assemble-runtime-user"
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
            # s2i unpacks the upload inside the container as the assemble user,
            # so every directory of artifacts/ is that user's: said explicitly here.
            with tarfile.open(fileobj=io.BytesIO(artifacts)) as saved:
                dirs = set(["artifacts"])
                for member in saved.getmembers():
                    parts = ("artifacts/" + member.name.lstrip("./")).split("/")[:-1]
                    dirs.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
                for name in sorted(dirs):
                    info = tarfile.TarInfo(name)
                    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o775, 1001, 0
                    tar.addfile(info)
                for member in saved.getmembers():
                    name = member.name[2:] if member.name.startswith("./") else member.name
                    member.name = "artifacts/" + name.lstrip("/")
                    member.pax_headers.pop("path", None)  # else it names the old place
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
              network_mode=None, log=None, runtime_image=None):
    """Build the application image ``tag`` from directory ``src``; returns (image, logs).

    runtime_image: assemble in the builder, then install the result into this
    runtime image (``s2i build --runtime-image``); not with incremental, as in s2i.

    env: extra -e values (applied after .s2i/environment, as s2i does).
    incremental: reuse save-artifacts of the existing ``tag`` image, if any.
    ca_bundle: host path of an extra CA bundle for pip during assemble.
    """
    import docker.errors
    if incremental and runtime_image is not None:
        raise ValueError("s2i cannot combine --incremental with --runtime-image")
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
        if runtime_image is not None:
            image, more = install_in_runtime(client, container, runtime_image, tag, environment)
            return image, logs + more
        # docker commit keeps the container's environment, so the image gets
        # the build environment as s2i's does; the CA mount is not kept.
        changes = ['CMD ["%s/run"]' % SCRIPTS, "USER 1001"]
        repo, _, t = tag.rpartition(":")
        image = container.commit(repository=repo, tag=t, changes=changes)
        return image, logs
    finally:
        container.remove(force=True)


def input_files(label):
    """[(source, destination)] from an assemble-input-files label, as s2i parses it."""
    out = []
    for spec in (label or "").split(";"):
        if spec.strip():
            source, sep, dest = spec.rpartition(":")
            if not sep:
                source, dest = dest, ""
            out.append((source.strip("'\""), dest.strip("'\"") or "."))
    return out


def _runtime_upload(client, assembled, mappings):
    """One tar of every mapped path of the assembled container, as s2i uploads it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out:
        made = set()
        for source, dest in mappings:
            prefix = os.path.normpath(dest)
            if prefix != "." and prefix not in made:
                info = tarfile.TarInfo(prefix)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                out.addfile(info)
                made.add(prefix)
            stream, _ = client.api.get_archive(assembled, source)
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as got:
                for member in got.getmembers():
                    data = got.extractfile(member) if member.isreg() else None
                    if prefix != ".":
                        member.name = prefix + "/" + member.name
                    if member.isdir() or (member.isreg() and member.mode & 0o111):
                        member.mode = 0o755
                    elif member.isreg():
                        member.mode = 0o644
                    member.uid = member.gid = 0
                    member.uname = member.gname = ""
                    out.addfile(member, data)
    return buf.getvalue()


def install_in_runtime(client, assembled, runtime_image, tag, environment=None):
    """Commit ``tag`` from runtime_image plus what the assembled container (a
    container or image id) made, as ``s2i build --runtime-image`` does;
    returns (image, logs of assemble-runtime)."""
    runtime = client.images.get(runtime_image)
    labels = runtime.labels or {}
    mappings = input_files(labels.get(INPUT_FILES_LABEL))
    if not mappings:
        raise AssembleError("%s has no %s label: it is not a runtime image"
                            % (runtime_image, INPUT_FILES_LABEL), "")
    config = runtime.attrs["Config"]
    container = client.containers.create(
        runtime_image, ["/bin/sh", "-c", SCRIPTS + "/assemble-runtime"],
        user=labels.get(RUNTIME_USER_LABEL) or config.get("User") or "",
        environment=environment or {})
    try:
        container.put_archive(config.get("WorkingDir") or "/", _runtime_upload(
            client, getattr(assembled, "id", assembled), mappings))
        container.start()
        status = container.wait()["StatusCode"]
        logs = container.logs().decode("utf-8", "replace")
        if status != 0:
            raise AssembleError("assemble-runtime in %s failed with exit status %d"
                                % (runtime_image, status), logs)
        changes = ['CMD ["%s/run"]' % SCRIPTS, "USER %s" % (config.get("User") or "1001")]
        repo, _, t = tag.rpartition(":")
        return container.commit(repository=repo, tag=t, changes=changes), logs
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


def _context(dockerfile, src):
    """A tar (file object) of a Dockerfile's text and src as upload/src."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        _add_tree(tar, src, "upload/src", uid=0, gid=0)
    buf.seek(0)
    return buf


def dockerfile_context(builder, src, env=None):
    """A tar (file object) of the --as-dockerfile context: Dockerfile + upload/src."""
    return _context(as_dockerfile(builder, src, env), src)


def runtime_from_app_image(client, app_image, runtime_image, tag, environment=None):
    """install_in_runtime with the files of an application image the builder
    committed: the same files s2i copies from the assembled container."""
    container = client.containers.create(app_image, ["true"])
    try:
        return install_in_runtime(client, container.id, runtime_image, tag, environment)
    finally:
        container.remove(force=True)


def runtime_dockerfile(builder, runtime_image, src, input_paths, env=None):
    """The multi-stage Dockerfile equivalent of a runtime-image build (README:
    "Runtime images"): assemble in the builder, then copy what the runtime
    image's assemble-input-files label names into it, owned by the app user."""
    stages = as_dockerfile(builder, src, env).replace(
        "FROM %s\n" % builder, "FROM %s AS build\n" % builder, 1).splitlines()
    stages = [line for line in stages if not line.startswith("CMD ")]
    stages.append("FROM %s" % runtime_image)
    # .s2i/environment and -e values stay in the application image, as with s2i.
    stages += [line for line in stages if line.startswith("ENV ")]
    stages += ["COPY --from=build --chown=1001:0 %s %s" % (p, p) for p in input_paths]
    return "\n".join(stages) + "\n"


def runtime_dockerfile_context(builder, runtime_image, src, input_paths, env=None):
    """A tar (file object): runtime_dockerfile + upload/src."""
    return _context(runtime_dockerfile(builder, runtime_image, src, input_paths, env), src)
