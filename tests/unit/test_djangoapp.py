"""root/usr/libexec/whiskey/djangoapp.py: a Django project the official builder's way.
Its collectstatic with a real Django is a behaviour test (test_official.py); here, the
decisions around it, with real subprocesses and a manage.py of the test's own."""

import json
import sys

import djangoapp
import pytest
from say import Failed

MANAGE = """import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
with open("ran", "w") as f:
    f.write(" ".join(sys.argv[1:]))
sys.exit(int(os.environ.get("MANAGE_STATUS", "0")))
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project in tmp_path/src whose manage.py records its arguments, and a package
    named django on sys.path (what makes Django 'installed'), which cannot be imported."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "manage.py").write_text(MANAGE)
    (tmp_path / "site" / "django").mkdir(parents=True)
    (tmp_path / "site" / "django" / "__init__.py").write_text("raise ImportError('not this one')\n")
    monkeypatch.setattr(sys, "path", sys.path + [str(tmp_path / "site")])
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))  # and for the programs run
    return src


def test_the_settings_are_the_environments_else_manage_pys(project, tmp_path):
    assert djangoapp.settings_module({}, str(project)) == "mysite.settings"
    assert djangoapp.settings_module({"DJANGO_SETTINGS_MODULE": "x.prod"}, str(project)) == "x.prod"
    assert djangoapp.settings_module({}, str(tmp_path)) is None  # no manage.py


def test_migrate_runs_at_start_unless_disabled_or_a_deploy_hook_has_it(project, capsys):
    djangoapp.migrate({}, str(project), str(project))
    assert (project / "ran").read_text() == "migrate --noinput"
    assert "as the official builder does at every start (DISABLE_MIGRATE=1" in capsys.readouterr().err
    (project / "ran").unlink()
    djangoapp.migrate({"DISABLE_MIGRATE": "1"}, str(project), str(project))
    assert "Not running manage.py migrate (DISABLE_MIGRATE is set)" in capsys.readouterr().err
    (project / ".whiskey" / "action_hooks").mkdir(parents=True)
    (project / ".whiskey" / "action_hooks" / "deploy").write_text("")
    djangoapp.migrate({}, str(project), str(project))
    assert "the deploy hook is the application's own step for it" in capsys.readouterr().err
    assert not (project / "ran").exists()


def test_a_failed_migration_stops_the_start(project, monkeypatch):
    monkeypatch.setenv("MANAGE_STATUS", "3")
    with pytest.raises(Failed, match=r"^manage.py migrate --noinput failed \(its output is "
                                     r"above\): not starting on a database it could not migrate"):
        djangoapp.migrate({}, str(project), str(project))


def test_without_django_nothing_is_run(project, monkeypatch):
    monkeypatch.setattr(sys, "path", [p for p in sys.path if not p.endswith("site")])
    djangoapp.migrate({}, str(project), str(project))
    djangoapp.collect_static({}, str(project), str(project))
    assert not (project / "ran").exists()


def test_a_project_that_cannot_collect_is_built_with_a_warning_naming_why(project, capsys):
    (project / djangoapp.RECORD).write_text('{"url": "/x/", "root": "/"}')  # not this build's
    djangoapp.collect_static({}, str(project), str(project))
    err = capsys.readouterr().err
    assert ("whiskey: WARNING: Django's static files are not collected, so not served: "
            "ImportError: not this one (python manage.py collectstatic --noinput") in err, err
    assert not (project / djangoapp.RECORD).exists()
    djangoapp.collect_static({"DISABLE_COLLECTSTATIC": "1"}, str(project), str(project))
    assert "Not collecting Django's static files (DISABLE_COLLECTSTATIC is set)" in \
        capsys.readouterr().err


@pytest.mark.parametrize("url, args, expected, said", [
    ("/static/", [], ["--url-alias", "/static", "ROOT"], "---> Serving /static from ROOT with "
                                                          "Apache (Django's STATIC_URL"),
    ("/static/", ["--url-alias", "/static/", "elsewhere"], [],
     "---> Django's static files: .whiskey/server_args aliases /static itself"),
    ("https://cdn.example/s/", [], [], "static files are served from there, not by Apache"),
])
def test_the_start_serves_what_the_build_collected(tmp_path, capsys, url, args, expected, said):
    root = tmp_path / "staticfiles"
    root.mkdir()
    (tmp_path / djangoapp.RECORD).write_text(json.dumps({"url": url, "root": str(root)}))
    assert djangoapp.static_alias(args, str(tmp_path)) == [
        str(root) if word == "ROOT" else word for word in expected]
    assert said.replace("ROOT", str(root)) in capsys.readouterr().err


def test_a_static_root_missing_from_the_image_is_said(tmp_path, capsys):
    assert djangoapp.static_alias([], str(tmp_path)) == []  # nothing collected: nothing said
    assert capsys.readouterr().err == ""
    (tmp_path / djangoapp.RECORD).write_text('{"url": "/static/", "root": "/nowhere"}')
    assert djangoapp.static_alias([], str(tmp_path)) == []
    assert ("whiskey: WARNING: Django's STATIC_ROOT /nowhere, collected at build, is not in "
            "this image: /static is not served") in capsys.readouterr().err
