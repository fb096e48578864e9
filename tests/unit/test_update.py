"""`./build.py update` against a package index served on 127.0.0.1."""

import hashlib
import json

import pytest

from whiskey import matrix

from .conftest import build_py


def sha(name):
    return hashlib.sha256(name.encode()).hexdigest()


# Two variants: an old interpreter and a current one, each pinning old files.
MATRIX = """\
# A matrix in the shape maintainers write it; comments must survive an update.
variants:

  python-2.7:
    python: 2.7.18
    base: debian:bookworm-slim
    interpreter: compiled
    source: {{file: Python-2.7.18.tgz, sha256: {py27}, url: https://upstream.invalid/Python-2.7.18.tgz,
              unsigned: a test tarball}}
    pins:
      pip: {{file: pip-20.0-py2.py3-none-any.whl, sha256: {pip20}}}
      setuptools: {{file: setuptools-44.0.0-py2.py3-none-any.whl, sha256: {st44}}}
      wheel: {{file: wheel-0.37.0-py2.py3-none-any.whl, sha256: {wh37}}}
      # kept below 4.9 on purpose
      mod_wsgi: {{file: mod_wsgi-4.7.1.tar.gz, sha256: {mw47}, constraint: "<4.9"}}

  python-3.11:
    python: 3.11.2
    base: debian:bookworm-slim
    interpreter: distribution
    pins:
      pip: {{file: pip-25.0-py3-none-any.whl, sha256: {pip25}}}
      setuptools: {{file: setuptools-80.0.0-py3-none-any.whl, sha256: {st80}}}
      wheel: {{file: wheel-0.45.0-py3-none-any.whl, sha256: {wh45}}}
      mod_wsgi: {{file: mod_wsgi-6.0.0.tar.gz, sha256: {mw60}}}
""".format(py27=sha("Python-2.7.18.tgz"), pip20=sha("pip-20.0"), st44=sha("st44"), wh37=sha("wh37"),
           mw47=sha("mw47"), pip25=sha("pip-25.0"), st80=sha("st80"), wh45=sha("wh45"),
           mw60=sha("mw60"))

# project -> [(file name, requires-python, extra attributes)]
INDEX = {
    "pip": [("pip-20.0-py2.py3-none-any.whl", "", ""),
            ("pip-20.3.4-py2.py3-none-any.whl", ">=2.7,!=3.0.*,!=3.1.*,!=3.2.*,!=3.3.*,!=3.4.*", ""),
            ("pip-21.0-py3-none-any.whl", ">=3.6", ""),
            ("pip-25.0-py3-none-any.whl", ">=3.8", ""),
            ("pip-26.3-py3-none-any.whl", ">=3.9", ""),
            ("pip-27.0b1-py3-none-any.whl", ">=3.9", ""),           # a pre-release
            ("pip-26.3.tar.gz", ">=3.9", "")],                      # not the pin's kind
    "setuptools": [("setuptools-44.1.1-py2.py3-none-any.whl", ">=2.7", ""),
                   ("setuptools-81.0.0-py3-none-any.whl", ">=3.9", ""),
                   ("setuptools-82.0.0-py3-none-any.whl", ">=3.9", ' data-yanked=""')],
    "wheel": [("wheel-0.37.1-py2.py3-none-any.whl", ">=2.7", ""),
              ("wheel-0.45.1-py3-none-any.whl", ">=3.8", "")],
    "mod-wsgi": [("mod_wsgi-4.8.0.tar.gz", "", ""),
                 ("mod_wsgi-4.9.4.tar.gz", "", ""),
                 ("mod_wsgi-6.1.1.tar.gz", ">=3.10", "")],
}


def packages(*stanzas):
    import lzma
    return lzma.compress("\n\n".join("Package: %s\nVersion: %s\nArchitecture: amd64" % s
                                     for s in stanzas).encode() + b"\n")


@pytest.fixture
def index(server, env):
    for project, files in INDEX.items():
        links = "".join(
            '<a href="/files/%s#sha256=%s" data-requires-python="%s"%s>%s</a>\n'
            % (name, sha(name), rp.replace(">", "&gt;").replace("<", "&lt;"), extra, name)
            for name, rp, extra in files)
        server.serve("/simple/%s/" % project, ("<html><body>%s</body></html>" % links).encode(),
                     "text/html")
    env["PIP_INDEX_URL"] = server.url + "/simple/"
    # Debian's bookworm, for the distribution variant's interpreter: no newer release.
    server.serve("/debian/dists/bookworm/main/binary-amd64/Packages.xz",
                 packages(("python3.11", "3.11.2-6+deb12u6")))
    server.serve("/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz", packages())
    env["WHISKEY_DEBIAN_MIRROR"] = server.url + "/debian"
    return server


@pytest.fixture
def matrix_file(tmp_path):
    path = tmp_path / "matrix.yaml"
    path.write_text(MATRIX)
    return path


def pins(path):
    return {(v.name, n): a.file for v in matrix.load(str(path)) for n, a in v.pins.items()}


def test_each_pin_moves_to_the_newest_file_its_python_can_run(index, env, matrix_file):
    p = build_py(env, "--matrix", str(matrix_file), "update")
    assert p.returncode == 0, p.stderr
    assert pins(matrix_file) == {
        ("python-2.7", "pip"): "pip-20.3.4-py2.py3-none-any.whl",     # 21.0 needs 3.6
        ("python-2.7", "setuptools"): "setuptools-44.1.1-py2.py3-none-any.whl",
        ("python-2.7", "wheel"): "wheel-0.37.1-py2.py3-none-any.whl",
        ("python-2.7", "mod_wsgi"): "mod_wsgi-4.8.0.tar.gz",          # the constraint: <4.9
        ("python-3.11", "pip"): "pip-26.3-py3-none-any.whl",          # not the beta, not the sdist
        ("python-3.11", "setuptools"): "setuptools-81.0.0-py3-none-any.whl",  # 82 is yanked
        ("python-3.11", "wheel"): "wheel-0.45.1-py3-none-any.whl",
        ("python-3.11", "mod_wsgi"): "mod_wsgi-6.1.1.tar.gz",
    }
    (v27, v311) = matrix.load(str(matrix_file))
    assert v311.pins["pip"].sha256 == sha("pip-26.3-py3-none-any.whl")
    assert v27.pins["mod_wsgi"].constraint == "<4.9"
    text = matrix_file.read_text()
    assert "# A matrix in the shape maintainers write it" in text and "# kept below 4.9" in text
    assert "8 pins updated" in p.stderr
    # Nothing newer is left: a second run changes nothing.
    p = build_py(env, "--matrix", str(matrix_file), "update")
    assert p.returncode == 0 and "every pin is the newest its variant allows" in p.stdout


def test_dry_run_writes_nothing(index, env, matrix_file):
    p = build_py(env, "--matrix", str(matrix_file), "update", "--dry-run", "python-3.11")
    assert p.returncode == 0, p.stderr
    assert "pip-25.0-py3-none-any.whl" in p.stdout and "pip-26.3-py3-none-any.whl" in p.stdout
    assert "python-2.7" not in p.stdout
    assert matrix_file.read_text() == MATRIX
    p = build_py(env, "--matrix", str(matrix_file), "update", "--dry-run", "--json", "python-3.11")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)[0] == {
        "variant": "python-3.11", "pin": "pip", "from": "pip-25.0-py3-none-any.whl",
        "to": "pip-26.3-py3-none-any.whl", "sha256": sha("pip-26.3-py3-none-any.whl"),
        "package": None}
    assert matrix_file.read_text() == MATRIX


def test_an_unreachable_index_is_one_line(env, matrix_file):
    env["PIP_INDEX_URL"] = "http://127.0.0.1:9/simple/"
    p = build_py(env, "--matrix", str(matrix_file), "update")
    assert p.returncode == 1
    assert p.stderr.startswith("build.py: error: cannot read the package index")
    assert "Traceback" not in p.stderr
    assert matrix_file.read_text() == MATRIX


def test_a_bad_constraint_names_the_pin(tmp_path):
    path = tmp_path / "matrix.yaml"
    path.write_text(MATRIX.replace('constraint: "<4.9"', 'constraint: "before 4.9"'))
    with pytest.raises(matrix.MatrixError) as e:
        matrix.load(str(path))
    assert "key 'pins.mod_wsgi.constraint'" in str(e.value)


# -- interpreters: a distribution variant follows its Debian suite's python3.X --------

DIST_MATRIX = """\
variants:

  python-3.13:
    python: 3.13.5   # trixie's
    base: debian:trixie-slim
    interpreter: distribution
    pins:
      pip: {{file: pip-26.3-py3-none-any.whl, sha256: {pip}}}
      setuptools: {{file: setuptools-81.0.0-py3-none-any.whl, sha256: {st}}}
      wheel: {{file: wheel-0.45.1-py3-none-any.whl, sha256: {wh}}}
      mod_wsgi: {{file: mod_wsgi-6.1.1.tar.gz, sha256: {mw}}}

  python-3.15:
    python: 3.15.2
    base: debian:sid-slim
    interpreter: distribution
    pins:
      pip: {{file: pip-26.3-py3-none-any.whl, sha256: {pip}}}
      setuptools: {{file: setuptools-81.0.0-py3-none-any.whl, sha256: {st}}}
      wheel: {{file: wheel-0.45.1-py3-none-any.whl, sha256: {wh}}}
      mod_wsgi: {{file: mod_wsgi-6.1.1.tar.gz, sha256: {mw}}}
""".format(pip=sha("pip"), st=sha("st"), wh=sha("wh"), mw=sha("mw"))


@pytest.fixture
def mirror(server):
    dists = "/debian/dists/%s/main/binary-amd64/Packages.xz"
    # trixie keeps its release (fixes are Debian revisions); sid moved to 3.15.3 and has a
    # 3.15.4 release candidate, which is not a release.
    server.serve(dists % "trixie", packages(("python3.13", "3.13.5-2+deb13u5"),
                                            ("python3-defaults", "3.13.5-1")))
    server.serve(dists % "trixie-updates", packages())
    server.serve(dists % "sid", packages(("python3.15", "3.15.4~rc1-1"),
                                         ("python3.15", "3.15.3-1"), ("python3.14", "3.14.11-1")))
    return server.url + "/debian"


def test_a_distribution_variant_moves_to_its_suites_newer_release(mirror, tmp_path):
    from whiskey import update
    path = tmp_path / "matrix.yaml"
    path.write_text(DIST_MATRIX)
    variants = matrix.load(str(path))
    changes = update.interpreter_plan(variants, [mirror], update.http_fetch())
    assert changes == [update.InterpreterChange("python-3.15", "3.15.2", "3.15.3",
                                                "python3.15 3.15.3-1 in sid")]
    text = update.rewrite_python(DIST_MATRIX, changes)
    assert "    python: 3.15.3\n" in text and "    python: 3.13.5   # trixie's\n" in text
    assert [v.python for v in matrix.parse_text(text, "m")] == ["3.13.5", "3.15.3"]


def test_a_suite_no_mirror_has_is_one_error_naming_it(index, env, matrix_file):
    # An unreachable or wrong mirror is a failure (1), not bad input (2).
    env["WHISKEY_DEBIAN_MIRROR"] = index.url + "/nowhere"
    p = build_py(env, "--matrix", str(matrix_file), "update")
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "build.py: error: no Packages index for bookworm on any Debian mirror "
               "(%s/nowhere)\n" % index.url)
    assert matrix_file.read_text() == MATRIX


def test_update_moves_a_distribution_variants_python_and_renders(index, env, tmp_path, mirror):
    path = tmp_path / "matrix.yaml"
    path.write_text(DIST_MATRIX)
    env["WHISKEY_DEBIAN_MIRROR"] = mirror
    p = build_py(env, "--matrix", str(path), "update", "python-3.15", "--dry-run")
    assert p.returncode == 0, p.stderr
    assert "3.15.3 (python3.15 3.15.3-1 in sid)" in p.stdout
    assert path.read_text() == DIST_MATRIX
    p = build_py(env, "--matrix", str(path), "update", "python-3.15")
    assert p.returncode == 0, p.stderr
    assert [v.python for v in matrix.load(str(path))] == ["3.13.5", "3.15.3"]
