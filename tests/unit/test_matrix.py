"""matrix.yaml: loading, the model of a variant, and every validation error.

Error tests start from a deep copy of the real matrix.yaml, break one thing
and check that the message names both the variant and the key at fault.
"""

import copy
import dataclasses

import pytest
import yaml

from whiskey import matrix

LEGACY = ["python-2.7", "python-3.3", "python-3.4", "python-3.5"]

with open(matrix.DEFAULT_PATH) as _f:
    RAW = yaml.safe_load(_f)


@pytest.fixture
def raw():
    """A private deep copy of the real matrix.yaml, as plain data."""
    return copy.deepcopy(RAW)


@pytest.fixture(scope="module")
def variants():
    return matrix.load()


def by_name(variants):
    return {v.name: v for v in variants}


def assert_names(exc_info, variant, key):
    msg = str(exc_info.value)
    assert "variant %r" % variant in msg, msg
    assert "key %r" % key in msg, msg
    return msg


# -- the real matrix ----------------------------------------------------------

def test_real_matrix_loads_with_legacy_and_modern_variants(variants):
    names = [v.name for v in variants]
    for name in LEGACY:
        assert name in names
    modern = [v for v in variants if v.name not in LEGACY]
    assert modern, "matrix.yaml has no modern variant"
    for v in variants:
        if v.name in LEGACY:
            assert v.interpreter == "compiled" and v.compiled, v.name
            assert v.source is not None and v.source.file == "Python-%s.tgz" % v.python
            assert v.source.version == v.python
        else:
            assert v.interpreter == "distribution" and not v.compiled, v.name
            assert v.source is None and v.openssl is None and v.configure == ()


def test_real_matrix_variant_names_follow_their_python(variants):
    for v in variants:
        assert v.name == "python-" + v.major_minor
        assert len(v.version_info) == 3


def test_real_matrix_python_27_details(variants):
    v = by_name(variants)["python-2.7"]
    assert v.python == "2.7.18"
    assert v.version_info == (2, 7, 18)
    assert v.base == "debian:bookworm-slim"
    assert v.source.debian == "python2.7_2.7.18.orig.tar.gz"
    assert v.source.url.endswith("/Python-2.7.18.tgz")
    assert v.openssl is None
    assert "--enable-unicode=ucs4" in v.configure
    assert v.pin_version("mod_wsgi") == "4.9.4"
    assert v.pin_version("pip") == "20.3.4"


def test_real_matrix_artifacts_in_stable_order(variants):
    v = by_name(variants)["python-3.3"]
    files = [a.file for a in v.artifacts]
    assert files == [v.openssl.file, v.source.file] + [v.pins[p].file for p in matrix.PIN_NAMES]
    assert files[0] == "openssl-1.0.2u.tar.gz"
    assert [v.pins[p].project for p in matrix.PIN_NAMES] == list(matrix.PIN_NAMES)


def test_real_matrix_tags_are_unique_and_well_formed(variants):
    seen = {}
    for v in variants:
        assert v.tags[:2] == ["python-%s" % v.major_minor, "python-%s" % v.python]
        assert tuple(v.tags[2:]) == v.aliases
        for tag in v.tags:
            assert tag not in seen, "tag %s of %s is also a tag of %s" % (tag, v.name, seen[tag])
            seen[tag] = v.name
    assert seen["python-2.7.18"] == "python-2.7"


def test_real_matrix_latest_alias_is_on_one_variant(variants):
    owners = [v.name for v in variants if "latest" in v.tags]
    assert len(owners) == 1


def test_parse_of_the_raw_yaml_equals_load(raw, variants):
    parsed = matrix.parse(raw)
    assert [v.name for v in parsed] == [v.name for v in variants]
    for a, b in zip(parsed, variants, strict=True):
        assert a.artifacts == b.artifacts
        assert a.tags == b.tags


# -- the model -------------------------------------------------------------------

def test_derived_facts_of_a_compiled_variant_with_openssl(variants):
    v = by_name(variants)["python-3.3"]
    assert v.version_info == (3, 3, 7)
    assert v.major_minor == "3.3"
    assert v.compiled
    assert v.openssl_version == "1.0.2u"
    assert v.tags == ["python-3.3", "python-3.3.7"]


def test_derived_facts_of_a_distribution_variant(variants):
    v = by_name(variants)["python-3.13"]
    assert not v.compiled
    assert v.openssl_version is None
    assert v.artifacts == [v.pins[p] for p in matrix.PIN_NAMES]


@pytest.mark.parametrize("file, version", [
    ("Python-3.5.10.tgz", "3.5.10"),
    ("openssl-1.1.1w.tar.gz", "1.1.1w"),
    ("mod_wsgi-5.0.2.tar.gz", "5.0.2"),
    ("pip-24.3.1-py3-none-any.whl", "24.3.1"),
    ("setuptools-44.1.1-py2.py3-none-any.whl", "44.1.1"),
    ("something.zip", None),
])
def test_artifact_version_comes_from_the_file_name(file, version):
    a = matrix.Artifact(file, "0" * 64)
    if version is None:
        with pytest.raises(ValueError):
            _ = a.version
    else:
        assert a.version == version


def test_variants_are_values(variants):
    v = by_name(variants)["python-3.11"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.base = "debian:trixie-slim"
    other = dataclasses.replace(v, base="debian:trixie-slim")
    assert other.base == "debian:trixie-slim" and v.base == "debian:bookworm-slim"
    assert other.version_info == v.version_info
    assert matrix.load()[[x.name for x in variants].index("python-3.11")] == v
    # Artifacts are hashable values: they key the map of verified files, and
    # the same pin in two variants is one key.
    assert len(set(v.artifacts)) == len(v.artifacts)
    assert matrix.Artifact("a-1.tar.gz", "0" * 64) == matrix.Artifact("a-1.tar.gz", "0" * 64)


# -- entry errors ---------------------------------------------------------------

def test_unknown_key(raw):
    raw["variants"]["python-3.11"]["optimise"] = True
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.11", "optimise")
    assert "unknown key" in msg


def test_missing_python(raw):
    del raw["variants"]["python-3.4"]["python"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.4", "python")
    assert "missing" in msg


def test_missing_pin(raw):
    del raw["variants"]["python-3.11"]["pins"]["mod_wsgi"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse_variant("python-3.11", raw["variants"]["python-3.11"])
    msg = assert_names(e, "python-3.11", "pins.mod_wsgi")
    assert "missing pin" in msg


def test_unknown_pin(raw):
    raw["variants"]["python-3.11"]["pins"]["requests"] = {
        "file": "requests-2.0.0-py3-none-any.whl", "sha256": "a" * 64}
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert_names(e, "python-3.11", "pins.requests")


@pytest.mark.parametrize("bad", [
    "a" * 63,                     # too short
    "a" * 65,                     # too long
    "A" * 64,                     # upper case
    "g" * 64,                     # not hex
    "",                           # empty
], ids=["short", "long", "upper", "non-hex", "empty"])
def test_malformed_pin_sha256(raw, bad):
    raw["variants"]["python-3.5"]["pins"]["wheel"]["sha256"] = bad
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.5", "pins.wheel.sha256")
    assert "64 lower-case hex digits" in msg


def test_malformed_source_sha256(raw):
    src = raw["variants"]["python-2.7"]["source"]
    src["sha256"] = src["sha256"].upper()
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert_names(e, "python-2.7", "source.sha256")


def test_pin_file_of_another_distribution(raw):
    pins = raw["variants"]["python-3.13"]["pins"]
    pins["setuptools"]["file"] = pins["wheel"]["file"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.13", "pins.setuptools.file")
    assert "is not a distribution file of setuptools" in msg
    assert "wheel-0.45.1-py3-none-any.whl" in msg


def test_pin_with_extra_key(raw):
    raw["variants"]["python-3.13"]["pins"]["pip"]["url"] = "https://example.invalid/pip.whl"
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert_names(e, "python-3.13", "pins.pip")


def test_duplicate_tag_through_an_alias(raw):
    raw["variants"]["python-3.13"]["aliases"] = ["latest", "python-3.11"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.13", "aliases")
    assert "'python-3.11' is also a tag of variant 'python-3.11'" in msg


def test_duplicate_alias_on_two_variants(raw):
    raw["variants"]["python-3.11"]["aliases"] = ["latest"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.13", "aliases")
    assert "'latest'" in msg and "python-3.11" in msg


def test_invalid_alias(raw):
    raw["variants"]["python-3.13"]["aliases"] = ["not a tag"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert_names(e, "python-3.13", "aliases")


def test_debian_variant_with_a_source_key(raw):
    raw["variants"]["python-3.11"]["source"] = copy.deepcopy(RAW["variants"]["python-2.7"]["source"])
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.11", "source")
    assert "only allowed with interpreter: compiled" in msg


def test_debian_variant_with_configure(raw):
    raw["variants"]["python-3.13"]["configure"] = ["--enable-shared"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert_names(e, "python-3.13", "configure")


def test_source_variant_without_source(raw):
    del raw["variants"]["python-3.4"]["source"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.4", "source")
    assert "missing (required with interpreter: compiled)" in msg


def test_bad_interpreter(raw):
    raw["variants"]["python-3.11"]["interpreter"] = "conda"
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.11", "interpreter")
    assert "must be one of compiled, distribution, got 'conda'" in msg


def test_missing_interpreter(raw):
    del raw["variants"]["python-3.13"]["interpreter"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert "missing" in assert_names(e, "python-3.13", "interpreter")


def test_the_old_from_key_is_an_unknown_key(raw):
    # A matrix written before the rename says where it went wrong.
    entry = raw["variants"]["python-2.7"]
    entry["from"] = "source"
    del entry["interpreter"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-2.7", "from")
    assert "unknown key" in msg and "interpreter" in msg


def test_distribution_variant_with_openssl(raw):
    raw["variants"]["python-3.13"]["openssl"] = copy.deepcopy(RAW["variants"]["python-3.3"]["openssl"])
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.13", "openssl")
    assert "only allowed with interpreter: compiled" in msg


def test_source_tarball_of_another_python(raw):
    # The 3.4 entry moved to 3.4.9 without its tarball: the image would
    # fail its version check after compiling for minutes.
    raw["variants"]["python-3.4"]["python"] = "3.4.9"
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.4", "source.file")
    assert "'Python-3.4.10.tgz' is not the tarball of Python 3.4.9" in msg


def test_source_tarball_of_another_python_even_with_a_matching_url(raw):
    src = raw["variants"]["python-2.7"]["source"]
    src["file"] = "Python-2.7.17.tgz"
    src["url"] = "https://www.python.org/ftp/python/2.7.17/Python-2.7.17.tgz"
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert "is not the tarball of Python 2.7.18" in assert_names(e, "python-2.7", "source.file")


def test_source_file_without_a_readable_version_names_the_key(raw):
    src = raw["variants"]["python-3.4"]["source"]
    src["file"] = "Python-latest.tgz"
    src["url"] = "https://www.python.org/ftp/python/3.4.10/Python-latest.tgz"
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert "Python-latest.tgz" in assert_names(e, "python-3.4", "source.file")


def test_an_xz_source_tarball_is_accepted(raw):
    # python.org serves recent releases as .tar.xz only.
    src = raw["variants"]["python-3.4"]["source"]
    src["file"] = "Python-3.4.10.tar.xz"
    src["url"] = "https://www.python.org/ftp/python/3.4.10/Python-3.4.10.tar.xz"
    (v,) = [v for v in matrix.parse(raw) if v.name == "python-3.4"]
    assert v.source.version == "3.4.10"


def test_openssl_file_without_a_version_is_rejected_on_load(raw):
    ssl = raw["variants"]["python-3.3"]["openssl"]
    ssl["file"] = "openssl.tar.gz"
    ssl["url"] = "https://www.openssl.org/source/openssl.tar.gz"
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert_names(e, "python-3.3", "openssl.file")


@pytest.mark.parametrize("name, python", [("python-3.11", "3.12.1"), ("python-3.11", "3.1.1"),
                                          ("python-3.1", "3.11.2")])
def test_python_x_y_variant_pins_a_python_x_y(raw, name, python):
    entry = raw["variants"].pop("python-3.11")
    entry["python"] = python
    raw["variants"][name] = entry
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, name, "python")
    assert "%s does not belong in variant %s" % (python, name) in msg


def test_a_variant_named_python_x_y_dash_something_may_pin_x_y(raw):
    # Not named python-X.Y, and none of its tags is taken: nothing is wrong.
    entry = copy.deepcopy(raw["variants"]["python-3.11"])
    entry["python"] = "3.12.0"
    raw["variants"]["python-3.12-rc"] = entry
    (v,) = [v for v in matrix.parse(raw) if v.name == "python-3.12-rc"]
    assert v.tags == ["python-3.12", "python-3.12.0"]


def test_a_variant_not_named_python_x_y_may_pin_any_python(raw):
    entry = raw["variants"].pop("python-3.13")
    raw["variants"]["edge"] = entry
    (v,) = [v for v in matrix.parse(raw) if v.name == "edge"]
    assert v.tags == ["python-3.13", "python-%s" % v.python, "latest"]


def test_python_version_must_be_exact(raw):
    # As YAML reads it: `python: 3.11` is the float 3.11.
    raw["variants"]["python-3.11"]["python"] = 3.11
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.11", "python")
    assert "exact X.Y.Z version, got '3.11'" in msg


def test_python_version_from_yaml_text(tmp_path):
    text = open(matrix.DEFAULT_PATH).read().replace("python: 3.11.2", "python: 3.11")
    assert "python: 3.11\n" in text
    path = tmp_path / "matrix.yaml"
    path.write_text(text)
    with pytest.raises(matrix.MatrixError) as e:
        matrix.load(str(path))
    assert_names(e, "python-3.11", "python")


def test_bad_base(raw):
    raw["variants"]["python-3.11"]["base"] = "Debian Bookworm"
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert_names(e, "python-3.11", "base")


def test_non_https_url(raw):
    src = raw["variants"]["python-2.7"]["source"]
    src["url"] = src["url"].replace("https://", "http://")
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-2.7", "source.url")
    assert "https://" in msg


def test_url_not_ending_with_the_file_name(raw):
    ssl = raw["variants"]["python-3.5"]["openssl"]
    ssl["url"] = ssl["url"].replace("1.1.1w", "1.1.1v")
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.5", "openssl.url")
    assert "must end with the file name 'openssl-1.1.1w.tar.gz'" in msg


@pytest.mark.parametrize("orig", [
    "python2.7-2.7.18.orig.tar.gz",      # no underscore
    "python2.7_2.7.18.tar.gz",           # not .orig
    "Python2.7_2.7.18.orig.tar.gz",      # upper case package
    "python2.7_2.7.18.orig.tar.zst",     # unknown compression
])
def test_invalid_debian_orig_name(raw, orig):
    raw["variants"]["python-2.7"]["source"]["debian"] = orig
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-2.7", "source.debian")
    assert repr(orig) in msg


def test_tarball_missing_file(raw):
    del raw["variants"]["python-3.3"]["openssl"]["file"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = assert_names(e, "python-3.3", "openssl.file")
    assert "missing" in msg


def test_tarball_unknown_key(raw):
    raw["variants"]["python-3.3"]["source"]["md5"] = "0" * 32
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert_names(e, "python-3.3", "source.md5")


def test_configure_must_be_options(raw):
    raw["variants"]["python-3.4"]["configure"] = ["enable-shared"]
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert_names(e, "python-3.4", "configure")


def test_bad_variant_name(raw):
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse_variant("Python 3.11", raw["variants"]["python-3.11"])
    assert "'Python 3.11'" in str(e.value)


@pytest.mark.parametrize("data", [
    {},
    {"variants": {}},
    {"variants": []},
    {"variants": {"python-3.11": RAW["variants"]["python-3.11"]}, "extra": 1},
    [],
])
def test_bad_top_level(data):
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(copy.deepcopy(data))
    assert "matrix.yaml" in str(e.value)


# -- loading files ----------------------------------------------------------------

def test_load_a_copy(tmp_path, variants):
    path = tmp_path / "matrix.yaml"
    path.write_text(open(matrix.DEFAULT_PATH).read())
    assert [v.name for v in matrix.load(str(path))] == [v.name for v in variants]


def test_duplicate_yaml_key_names_its_line(tmp_path):
    lines = open(matrix.DEFAULT_PATH).read().splitlines(True)
    at = next(i for i, line in enumerate(lines) if line.strip() == "python: 3.11.2")
    lines.insert(at + 1, "    python: 3.11.9\n")
    path = tmp_path / "matrix.yaml"
    path.write_text("".join(lines))
    with pytest.raises(matrix.MatrixError) as e:
        matrix.load(str(path))
    msg = str(e.value)
    assert "line %d" % (at + 2) in msg
    assert "'python' appears twice" in msg


def test_duplicate_variant_name(tmp_path):
    text = open(matrix.DEFAULT_PATH).read()
    block = text[text.index("  python-3.13:"):]
    path = tmp_path / "matrix.yaml"
    path.write_text(text + "\n" + block)
    line = text.count("\n") + 2
    with pytest.raises(matrix.MatrixError) as e:
        matrix.load(str(path))
    assert "line %d: key 'python-3.13' appears twice" % line in str(e.value)


def test_invalid_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("variants: [\n")
    with pytest.raises(matrix.MatrixError) as e:
        matrix.load(str(path))
    assert str(path) in str(e.value)
    assert "not valid YAML" in str(e.value)


# -- select ------------------------------------------------------------------------

def test_select_all_and_some(variants):
    assert matrix.select(variants, []) == list(variants)
    chosen = matrix.select(variants, ["python-3.11", "python-2.7"])
    assert [v.name for v in chosen] == ["python-3.11", "python-2.7"]


def test_select_unknown_lists_known_names(variants):
    with pytest.raises(matrix.MatrixError) as e:
        matrix.select(variants, ["python-2.7", "python-4.0"])
    msg = str(e.value)
    assert msg.startswith("unknown variant python-4.0 (known: ")
    for v in variants:
        assert v.name in msg



def test_one_file_name_with_two_sha256s_is_rejected(raw):
    # The source cache is keyed by file name.
    raw["variants"]["python-3.4"]["pins"]["mod_wsgi"]["sha256"] = "b" * 64
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = str(e.value)
    assert "mod_wsgi-4.7.1.tar.gz" in msg and "differs from variant 'python-3.3'" in msg


@pytest.mark.parametrize("name", ["Python-3.4.10.tar.bz2", "Python-3.4.10.zip"])
def test_a_source_tarball_the_build_cannot_unpack_is_rejected(raw, name):
    src = raw["variants"]["python-3.4"]["source"]
    src["file"], src["url"] = name, "https://www.python.org/ftp/python/3.4.10/" + name
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert name in assert_names(e, "python-3.4", "source.file")


def test_select_names_each_variant_once_in_the_order_given():
    variants = matrix.load()
    chosen = matrix.select(variants, ["python-3.5", "python-2.7", "python-3.5"])
    assert [v.name for v in chosen] == ["python-3.5", "python-2.7"]


# -- upstream signatures --------------------------------------------------------

def test_a_signed_tarball_names_its_signature_and_key(variants):
    openssl = by_name(variants)["python-3.5"].openssl
    assert openssl.signature.asc.file == "openssl-1.1.1w.tar.gz.asc"
    assert openssl.signature.fingerprint == "EFC0A467D613CB83C7ED6D30D894E2CE8B3D79F5"
    assert openssl.signature.member == "debian/upstream/signing-key.asc"


def test_every_tarball_is_signed_or_says_why_not(variants):
    for v in variants:
        for a in (v.source, v.openssl):
            if a is not None:
                assert (a.signature is None) != (a.unsigned is None), (v.name, a.file)


@pytest.mark.parametrize("change", ["neither", "both"])
def test_a_tarball_needs_exactly_one_of_signature_and_unsigned(raw, change):
    openssl = raw["variants"]["python-3.5"]["openssl"]
    if change == "neither":
        del openssl["signature"]
    else:
        openssl["unsigned"] = "no reason"
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert "give either signature" in assert_names(e, "python-3.5", "openssl.signature")


@pytest.mark.parametrize("key, value, words", [
    ("fingerprint", "D894E2CE8B3D79F5", "40 upper-case hex digits"),
    ("fingerprint", "efc0a467d613cb83c7ed6d30d894e2ce8b3d79f5", "40 upper-case hex digits"),
    ("keyring", {"file": "k.asc"}, "must be {file, sha256, debian"),
    ("sha256", "0" * 63, "sha256 must be 64"),
])
def test_a_malformed_signature_entry(raw, key, value, words):
    raw["variants"]["python-3.5"]["openssl"]["signature"][key] = value
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    msg = str(e.value)
    assert "variant 'python-3.5'" in msg and "openssl.signature" in msg and words in msg, msg


def test_optimize_defaults_on_and_must_be_a_boolean(raw, variants):
    assert all(v.optimize for v in variants)
    raw["variants"]["python-3.5"]["optimize"] = "no"
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert "must be true or false" in assert_names(e, "python-3.5", "optimize")


def test_optimize_is_for_compiled_variants_only(raw):
    raw["variants"]["python-3.11"]["optimize"] = False
    with pytest.raises(matrix.MatrixError) as e:
        matrix.parse(raw)
    assert "only allowed with interpreter: compiled" in assert_names(e, "python-3.11", "optimize")
