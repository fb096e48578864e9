"""Local base images: which names can be made, and the apt sources they get."""

import pytest

from whiskey import baseimage, sources


@pytest.mark.parametrize("name, suite", [("debian:bookworm-slim", "bookworm"),
                                         ("debian:trixie", "trixie")])
def test_debian_suites_can_be_made(name, suite):
    assert baseimage.parse_base(name) == suite


@pytest.mark.parametrize("name", ["ubuntu:24.04", "debian:12-slim", "registry.example/debian:bookworm"])
def test_other_bases_must_come_from_a_registry(name):
    with pytest.raises(baseimage.BaseImageError) as exc:
        baseimage.parse_base(name)
    assert "pull it from a registry" in str(exc.value)


def _rootfs(tmp_path):
    (tmp_path / "etc" / "apt").mkdir(parents=True)
    (tmp_path / "etc" / "apt" / "sources.list").write_text(
        "deb http://mirror.invalid/debian bookworm main\n")
    return str(tmp_path)


def test_sources_add_updates_and_the_hosts_security_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "apt_source_uris", lambda: [
        "http://mirror.invalid/debian", "http://security.invalid/debian-security"])
    text = baseimage._sources(_rootfs(tmp_path), "bookworm")
    assert "URIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n" in text
    assert "URIs: http://security.invalid/debian-security\nSuites: bookworm-security\n" in text


def test_sources_without_a_known_security_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "apt_source_uris", lambda: [])
    text = baseimage._sources(_rootfs(tmp_path), "trixie")
    assert "Suites: trixie trixie-updates" in text and "security" not in text


def test_unstable_has_neither_updates_nor_security(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "apt_source_uris", lambda: [
        "http://mirror.invalid/debian", "http://security.invalid/debian-security"])
    text = baseimage._sources(_rootfs(tmp_path), "sid")
    assert "Suites: sid\n" in text
    assert "updates" not in text and "security" not in text


def test_an_expired_release_is_told_apart(tmp_path):
    lists = tmp_path / "var" / "lib" / "apt" / "lists"
    lists.mkdir(parents=True)
    (lists / "mirror_debian_dists_sid_InRelease").write_text(
        "Origin: Debian\nValid-Until: Fri, 06 Nov 2026 08:08:01 UTC\n")
    assert baseimage.expired_release(str(tmp_path), now=1_800_000_000) == \
        "Fri, 06 Nov 2026 08:08:01 UTC"
    assert baseimage.expired_release(str(tmp_path), now=1_700_000_000) is None
    (lists / "mirror_debian_dists_sid_InRelease").write_text("Origin: Debian\n")
    assert baseimage.expired_release(str(tmp_path)) is None
