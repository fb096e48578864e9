"""root/usr/libexec/whiskey/wheelhouse.py: saved wheels are checked before a build trusts them."""

import base64
import hashlib
import zipfile

import wheelhouse


def digest(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel(path, name="demo", damaged=None, method=zipfile.ZIP_DEFLATED):
    data = ("VALUE = %r\n" % ("x" * 2000)).encode()
    record = "%s/__init__.py,sha256=%s,%d\n%s-1.0.dist-info/RECORD,,\n" % (
        name, digest(data), len(data), name)
    if damaged == "unrecorded":
        record = "%s-1.0.dist-info/RECORD,,\n" % name
    elif damaged == "replaced":  # consistent zip, but not what the RECORD says
        data = b"import os; os.system('id')\n"
    with zipfile.ZipFile(str(path), "w", method) as whl:
        whl.writestr("%s/__init__.py" % name, data)
        whl.writestr("%s-1.0.dist-info/RECORD" % name, record)
    data = path.read_bytes()
    if damaged == "truncated":
        path.write_bytes(data[:100])
    elif damaged == "flipped":  # one byte of the first member flipped; the zip still opens
        i = data.index(b"PK\x03\x04") + 60
        path.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:])
    return path


def test_sound_wheels_and_the_stamp_are_restored(tmp_path):
    saved, house = tmp_path / "saved", tmp_path / "house"
    saved.mkdir()
    wheel(saved / "demo-1.0-py3-none-any.whl")
    (saved / ".requirements").write_text("Python 3.11.2 abc\n")
    warnings = []
    assert wheelhouse.restore(str(saved), str(house), warnings.append) == (1, 0)
    assert sorted(p.name for p in house.iterdir()) == [".requirements", "demo-1.0-py3-none-any.whl"]
    assert warnings == []


def test_damaged_wheels_are_dropped_by_name_and_the_stamp_with_them(tmp_path):
    saved, house = tmp_path / "saved", tmp_path / "house"
    saved.mkdir()
    wheel(saved / "good-1.0-py3-none-any.whl", "good")
    wheel(saved / "cut-1.0-cp311-cp311-linux_x86_64.whl", "cut", damaged="truncated")
    wheel(saved / "flipped-1.0-py3-none-any.whl", "flipped", damaged="flipped",
          method=zipfile.ZIP_STORED)
    wheel(saved / "inflate-1.0-py3-none-any.whl", "inflate", damaged="flipped")
    (saved / "norecord-1.0-py3-none-any.whl").write_bytes(b"")
    with zipfile.ZipFile(str(saved / "norecord-1.0-py3-none-any.whl"), "w") as whl:
        whl.writestr("norecord/__init__.py", "")
    wheel(saved / "unrecorded-1.0-py3-none-any.whl", "unrecorded", damaged="unrecorded")
    wheel(saved / "replaced-1.0-py3-none-any.whl", "replaced", damaged="replaced")
    (saved / "linked-1.0-py3-none-any.whl").symlink_to(saved / "good-1.0-py3-none-any.whl")
    (saved / ".requirements").write_text("Python 3.11.2 abc\n")
    warnings = []
    assert wheelhouse.restore(str(saved), str(house), warnings.append) == (1, 6)
    assert sorted(p.name for p in house.iterdir()) == ["good-1.0-py3-none-any.whl"]
    said = "\n".join(warnings)
    assert "cut-1.0-cp311-cp311-linux_x86_64.whl is damaged (it is not a readable zip file" in said
    assert "flipped-1.0-py3-none-any.whl is damaged (flipped/__init__.py fails its CRC check)" in said
    assert "inflate-1.0-py3-none-any.whl is damaged (it is not a readable zip file (" in said
    assert "norecord-1.0-py3-none-any.whl is damaged (it has 0 .dist-info/RECORD files, not one)" in said
    assert ("unrecorded-1.0-py3-none-any.whl is damaged (unrecorded/__init__.py is not in its "
            "RECORD with a hash)") in said
    assert "replaced-1.0-py3-none-any.whl is damaged (replaced/__init__.py does not match its RECORD)" in said
    assert all(w.endswith("dropped, it is fetched or built again") for w in warnings)
