"""The tag policy's decisions (dated, never moved) and `outdated`'s reading of apt, without Docker."""

import datetime

import pytest

from whiskey import UsageError, matrix, outdated, publish

from .conftest import build_py

DIGEST_A, DIGEST_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def variant(name="python-3.11"):
    (v,) = matrix.select(matrix.load(), [name])
    return v


def registry(tags):
    """A Lookup over {(repository, tag): digest}, recording what was asked."""
    asked = []

    def lookup(repo, tag):
        asked.append((repo, tag))
        return tags.get((repo, tag))
    return lookup, asked


def test_the_dated_tag_is_the_full_version_and_the_day():
    assert publish.dated_tag(variant(), datetime.date(2026, 12, 6)) == "python-3.11.2-20261206"
    assert publish.dated_tag(variant("python-2.7"), datetime.date(2027, 1, 2)) == \
        "python-2.7.18-20270102"


def test_a_free_dated_tag_is_taken_for_both_images():
    lookup, asked = registry({})
    assert publish.immutable_tag("python-3.11.2-20261206", {"r/whiskey": DIGEST_A,
                                                            "r/whiskey-runtime": DIGEST_B},
                                 lookup) == "python-3.11.2-20261206"
    assert sorted(asked) == [("r/whiskey", "python-3.11.2-20261206"),
                             ("r/whiskey-runtime", "python-3.11.2-20261206")]


def test_a_taken_dated_tag_is_never_moved_the_next_number_is_used():
    # The builder's tag of the day names another build: both images move on to .1,
    # though the runtime image's tag of the day is free.
    lookup, _ = registry({("r/whiskey", "python-3.11.2-20261206"): DIGEST_B,
                          ("r/whiskey", "python-3.11.2-20261206.1"): DIGEST_B})
    assert publish.immutable_tag("python-3.11.2-20261206", {"r/whiskey": DIGEST_A,
                                                            "r/whiskey-runtime": DIGEST_B},
                                 lookup) == "python-3.11.2-20261206.2"


def test_a_dated_tag_that_names_these_images_already_is_kept():
    lookup, _ = registry({("r/whiskey", "python-3.11.2-20261206"): DIGEST_B,
                          ("r/whiskey", "python-3.11.2-20261206.1"): DIGEST_A,
                          ("r/whiskey-runtime", "python-3.11.2-20261206.1"): DIGEST_B})
    assert publish.immutable_tag("python-3.11.2-20261206", {"r/whiskey": DIGEST_A,
                                                            "r/whiskey-runtime": DIGEST_B},
                                 lookup) == "python-3.11.2-20261206.1"


def test_running_out_of_numbered_tags_is_an_error_not_a_moved_tag():
    lookup, _ = registry({("r/whiskey", "t" if n == 0 else "t.%d" % n): DIGEST_B
                          for n in range(3)})
    with pytest.raises(publish.PushError, match="t and its next 2 numbered tags"):
        publish.immutable_tag("t", {"r/whiskey": DIGEST_A}, lookup, limit=3)


class Image(object):
    short_id = "sha256:0123456789"

    def __init__(self, created):
        self.labels = {"org.opencontainers.image.created": created} if created else {}


def test_the_build_day_comes_from_the_images_creation_label():
    assert publish.build_day(Image("2026-12-06T23:59:59Z")) == datetime.date(2026, 12, 6)
    with pytest.raises(publish.PushError, match="no build time to date it by"):
        publish.build_day(Image(None))


def test_days_and_digests_given_on_the_command_line_are_checked():
    assert publish.parse_day("20261206") == datetime.date(2026, 12, 6)
    with pytest.raises(UsageError, match="--day '2026-12-06': give the day as YYYYMMDD"):
        publish.parse_day("2026-12-06")
    assert publish.parse_digests(["whiskey-runtime=" + DIGEST_A]) == {"whiskey-runtime": DIGEST_A}
    for bad in ("whiskey=sha256:abc", "whiskey", "Whiskey=" + DIGEST_A, "=" + DIGEST_A):
        with pytest.raises(UsageError, match="--digest"):
            publish.parse_digests([bad])


def test_dated_and_a_tag_suffix_do_not_go_together():
    with pytest.raises(UsageError, match="--dated and --tag-suffix"):
        publish.push([variant()], "localhost:5000/ns", docker_client=object(), environ={},
                     tag_suffix="-amd64", dated=True)


def test_dated_tag_refuses_bad_input_in_one_line_before_asking_any_engine(env):
    for args, said in (
            (["--day", "20261206"], "give the digest of each image to date"),
            (["--day", "12/06/2026", "--digest", "whiskey=" + DIGEST_A], "--day '12/06/2026'"),
            (["--day", "20261206", "--digest", "whiskey=sha1:00"], "--digest 'whiskey=sha1:00'")):
        p = build_py(env, "dated-tag", "python-3.11", "--registry", "localhost:5000/ns", *args)
        assert p.returncode == 2, p.stderr
        assert p.stderr.startswith("build.py: error: ") and said in p.stderr
        assert p.stderr.count("\n") == 1, p.stderr


# What `apt-get --simulate dist-upgrade` prints (bookworm), an upgrade that brings a new
# dependency included: only packages the image has count.
SIMULATED = """\
Reading package lists...
Building dependency tree...
Calculating upgrade...
The following packages will be upgraded:
  apache2-bin libssl3
Inst perl-modules-5.36 (5.36.0-7+deb12u2 Debian:12.12/stable [all])
Inst libssl3 [3.0.15-1~deb12u1] (3.0.17-1~deb12u2 Debian-Security:12/stable-security [amd64])
Inst apache2-bin [2.4.62-1~deb12u2] (2.4.65-1~deb12u1 Debian-Security:12/stable-security [amd64]) []
Conf libssl3 (3.0.17-1~deb12u2 Debian-Security:12/stable-security [amd64])
"""


def test_outdated_reads_the_upgrades_apt_would_make():
    assert outdated.upgrades(SIMULATED) == [
        ("libssl3", "3.0.15-1~deb12u1", "3.0.17-1~deb12u2"),
        ("apache2-bin", "2.4.62-1~deb12u2", "2.4.65-1~deb12u1")]
    assert outdated.upgrades("Reading package lists...\n0 upgraded, 0 newly installed\n") == []
