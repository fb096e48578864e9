"""root/usr/libexec/whiskey/layout.py: the Python an application declares, and its layout."""


import layout
import pytest
import tomlfile

ENV = {"WHISKEY_VARIANT": "python-3.11"}


def write(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


@pytest.mark.parametrize("constraint, pep440", [
    ("^3.9", [">=3.9,<4"]), ("^0.2.3", [">=0.2.3,<0.3"]), ("~3.9", [">=3.9,<3.10"]),
    (">=3.8,<3.12", [">=3.8,<3.12"]), (">= 3.8, < 3.12", [">=3.8,<3.12"]),
    ("3.9.*", ["==3.9.*"]), ("3.11", ["==3.11.*"]), ("*", [""]), ("~=3.9", ["~=3.9"]),
    ("^2.7 || ^3.5", [">=2.7,<3", ">=3.5,<4"])])
def test_poetry_constraints_in_pep_440(constraint, pep440):
    assert layout.poetry_to_pep440(constraint) == pep440


@pytest.mark.parametrize("files, ok", [
    ({".python-version": "3.11\n"}, True),
    ({".python-version": "3.11.2\n"}, True),
    ({".python-version": "3.11.9\n"}, False),
    ({".python-version": "# pinned\n3.12\n"}, False),
    ({".python-version": "system\n"}, True),
    ({"runtime.txt": "python-3.11.2\n"}, True),
    ({"runtime.txt": "python-3.10\n"}, False),
    ({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.8"\n'}, True),
    ({"pyproject.toml": '[project]\nrequires-python = "<3"\n'}, False),
    ({"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.12"\n'}, False),
    ({"pyproject.toml": '[tool.poetry.dependencies]\npython = ">=3.9,<4"\n'}, True),
    ({"Pipfile": '[requires]\npython_version = "3.11"\n'}, True),
    ({"Pipfile": '[requires]\npython_full_version = "3.11.4"\n'}, False),
    ({}, True),
])
@pytest.mark.parametrize("toml_reader", ["tomllib", "simple"])
def test_declared_python_is_checked(tmp_path, monkeypatch, files, ok, toml_reader):
    if toml_reader == "simple":  # the reader of the images before 3.11
        monkeypatch.setattr(tomlfile, "tomllib", None)
    src = write(tmp_path, files)
    if ok:
        layout.check_python(src, "3.11.2", ENV)
    else:
        with pytest.raises(layout.Mismatch) as e:
            layout.check_python(src, "3.11.2", ENV)
        assert str(e.value).startswith(next(iter(files)) + " declares Python ")
        assert "this image (python-3.11) has Python 3.11.2" in str(e.value)


@pytest.mark.parametrize("files, advice", [
    ({"pyproject.toml": '[project]\nrequires-python = "==3.6.*"\n'},
     "build with whiskey's python-3.6 image"),
    ({".python-version": "3.13\n"}, "build with whiskey's python-3.13 image"),
    ({"runtime.txt": "python-3.5.10\n"}, "build with whiskey's python-3.5 image"),
    ({"pyproject.toml": '[project]\nrequires-python = ">=3.8"\n'},
     "build with a whiskey image whose Python satisfies it (tags python-X.Y; `./build.py list` "
     "names every variant)")])
def test_the_message_says_which_image_to_use(tmp_path, files, advice):
    """The image knows no other variant (a change to one changes no other image):
    it names the tag a declaration asks for, or how to find one."""
    src = write(tmp_path, files)
    with pytest.raises(layout.Mismatch) as e:
        layout.check_python(src, "2.7.18", dict(ENV, WHISKEY_VARIANT="python-2.7"))
    assert str(e.value).startswith(next(iter(files)) + " declares Python ")
    assert str(e.value).endswith(", and this image (python-2.7) has Python 2.7.18; " + advice)


@pytest.mark.parametrize("files, kind", [
    ({"requirements.txt": "six\n", "setup.py": ""}, "requirements"),
    ({"setup.py": "from setuptools import setup; setup()\n"}, "project"),
    ({"pyproject.toml": '[build-system]\nrequires = ["hatchling"]\n'}, "project"),
    ({"pyproject.toml": '[project]\nname = "x"\n'}, "project"),
    ({"pyproject.toml": '[tool.black]\nline-length = 100\n'}, "none"),
    ({"wsgi.py": ""}, "none")])
def test_layout_kind(tmp_path, files, kind):
    assert layout.kind(write(tmp_path, files)) == kind


@pytest.mark.parametrize("files, env, kind", [
    ({"poetry.lock": "", "pyproject.toml": '[build-system]\nrequires = ["poetry-core"]\n'}, {}, "lock"),
    ({"Pipfile.lock": "{}", "requirements.txt": "six\n"}, {}, "lock"),
    ({"Pipfile.lock": "{}", "requirements.txt": "six\n"},
     {"WHISKEY_LOCK_FILE": "requirements.txt"}, "requirements"),
    ({"pylock.web.toml": "", "wsgi.py": ""}, {"WHISKEY_LOCK_FILE": "pylock.web.toml"}, "lock"),
    ({"pylock.web.toml": "", "wsgi.py": ""}, {}, "none")])
def test_lock_files_come_first(tmp_path, files, env, kind):
    assert layout.kind(write(tmp_path, files), env) == kind


def test_a_chosen_file_that_is_not_there_is_an_error(tmp_path):
    src = write(tmp_path, {"requirements.txt": "six\n"})
    with pytest.raises(layout.Mismatch) as e:
        layout.kind(src, {"WHISKEY_LOCK_FILE": "uv.lock"})
    assert str(e.value) == "WHISKEY_LOCK_FILE=uv.lock, and there is no uv.lock in the source"


def test_a_chosen_file_whiskey_does_not_read_is_an_error_before_anything_is_installed(tmp_path):
    src = write(tmp_path, {"wsgi.py": "", "requirements.txt": "six\n"})
    with pytest.raises(layout.Mismatch) as e:
        layout.kind(src, {"WHISKEY_LOCK_FILE": "wsgi.py"})
    assert str(e.value).startswith("WHISKEY_LOCK_FILE=wsgi.py is not a lock file whiskey reads (")


@pytest.mark.parametrize("files, env, warnings", [
    ({"uv.lock": "", "requirements.txt": ""}, {},
     ["requirements.txt is not used: uv.lock is installed (set WHISKEY_LOCK_FILE=requirements.txt "
      "to install requirements.txt instead)"]),
    ({"pylock.web.toml": "", "requirements.txt": ""}, {"WHISKEY_LOCK_FILE": "pylock.web.toml"},
     ["requirements.txt is not used: pylock.web.toml is installed (set "
      "WHISKEY_LOCK_FILE=requirements.txt to install requirements.txt instead)"]),
    ({"uv.lock": "", "Pipfile.lock": "", "requirements.txt": ""},
     {"WHISKEY_LOCK_FILE": "requirements.txt"},
     ["uv.lock is not used: WHISKEY_LOCK_FILE chooses requirements.txt",
      "Pipfile.lock is not used: WHISKEY_LOCK_FILE chooses requirements.txt"]),
    ({"uv.lock": ""}, {}, []),
    ({"requirements.txt": ""}, {}, [])])
def test_every_dependency_file_left_unused_is_named(tmp_path, files, env, warnings):
    assert layout.unused(write(tmp_path, files), env) == warnings


def test_pylock_requires_python_is_checked(tmp_path):
    src = write(tmp_path, {"pylock.toml": 'lock-version = "1.0"\nrequires-python = ">=3.12"\n\n'
                                          '[[packages]]\nname = "six"\nrequires-python = ">=2.7"\n'})
    for reader in (tomlfile.tomllib, None):
        tomlfile.tomllib, saved = reader, tomlfile.tomllib
        try:
            with pytest.raises(layout.Mismatch,
                               match="^pylock.toml declares Python requires-python = '>=3.12'"):
                layout.check_python(src, "3.11.2", ENV)
        finally:
            tomlfile.tomllib = saved
