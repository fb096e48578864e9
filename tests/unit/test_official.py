"""root/usr/libexec/whiskey/official.py: the official OpenShift builder's settings, honoured
or refused in one line, with whiskey's own winning."""

import sys

import official
import pytest


@pytest.fixture
def src(tmp_path):
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "app.py").write_text("")
    (tmp_path / "wsgi.py").write_text("")
    return str(tmp_path)


def test_each_setting_becomes_its_option_and_is_said(src):
    env = {"PORT": "8085", "WEB_CONCURRENCY": "3", "APP_HOME": "project",
           "APP_MODULE": "app:application"}
    args, said = official.options(env, [], src)
    assert args == ["--port", "8085", "--processes", "3", "--working-directory", src + "/project",
                    "--application-type", "module", "--entry-point", "app",
                    "--callable-object", "application"]
    assert said[0] == "PORT=8085 (the official builder's): --port 8085"
    assert said[-1].startswith("APP_MODULE=app:application (the official builder's): ")
    assert official.options({"APP_MODULE": "myproject.wsgi"}, [], src)[0][-1] == "application"


def test_whiskeys_own_settings_win_and_the_log_says_which(src):
    env = {"PORT": "8085", "MOD_WSGI_PORT": "9000", "WEB_CONCURRENCY": "3",
           "APP_MODULE": "app:application"}
    args, said = official.options(env, ["--processes", "2", "wsgi.py"], src)
    assert args == []
    assert said == [
        "PORT=8085 (the official builder's) is overridden by MOD_WSGI_PORT=9000 (whiskey's)",
        "WEB_CONCURRENCY=3 (the official builder's) is overridden by --processes (whiskey's)",
        "APP_MODULE=app:application (the official builder's) is overridden by wsgi.py (whiskey's)"]


def test_gunicorns_own_settings_are_named_not_read(src):
    _, said = official.options({"APP_CONFIG": "gunicorn.conf.py", "GUNICORN_CMD_ARGS": "-w 3"},
                               [], src)
    assert said == ["%s (gunicorn's configuration) is not read: whiskey serves with Apache and "
                    "mod_wsgi; put mod_wsgi-express options in .whiskey/server_args" % name
                    for name in ("APP_CONFIG", "GUNICORN_CMD_ARGS")]


@pytest.mark.parametrize("env, said", [
    ({"PORT": "80a"}, "PORT='80a' is not a positive whole number"),
    ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY='0' is not a positive whole number"),
    ({"APP_HOME": "nowhere"}, "APP_HOME=nowhere: there is no such directory in the application"),
    ({"APP_MODULE": "app:application; rm"}, "APP_MODULE='app:application; rm' is not "
                                            "module:callable (as app:application)"),
    ({"APP_FILE": "missing.py"}, "APP_FILE=missing.py: there is no such file in "),
])
def test_a_value_that_cannot_mean_what_it_means_there_is_refused_in_one_line(src, env, said):
    with pytest.raises(official.Refused) as exc:
        official.options(env, [], src)
        official.server(env, [], src)
    assert str(exc.value).startswith(said)


def test_app_file_and_app_script_run_instead_of_apache_unless_whiskey_names_the_app(src):
    env = {"APP_FILE": "app.py", "APP_HOME": "project"}
    command, said = official.server(env, [], src)
    assert command == [sys.executable, src + "/project/app.py"]
    assert "Apache and mod_wsgi are bypassed" in said[0]
    command, said = official.server(env, ["--entry-point", "wsgi.py"], src)
    assert command is None and "is not run: --entry-point (whiskey's)" in said[0]
    assert official.server({}, [], src) == (None, [])


def layout(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


MANAGE = 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")\n'


@pytest.mark.parametrize("files, options, said", [
    ({"wsgi.py": "", "manage.py": MANAGE}, ["--entry-point", "wsgi", "--callable-object",
                                              "application"], "Serving wsgi:application (wsgi.py "
                                                              "in the application)"),
    ({"manage.py": MANAGE, "mysite/settings.py": "WSGI_APPLICATION = 'mysite.web.app'\n"},
     ["--entry-point", "mysite.web", "--callable-object", "app"],
     "Serving mysite.web:app (the Django project's WSGI_APPLICATION in mysite.settings, named "
     "by manage.py)"),
    ({"manage.py": MANAGE, "mysite/settings.py": "", "mysite/wsgi.py": ""},
     ["--entry-point", "mysite.wsgi", "--callable-object", "application"],
     "Serving mysite.wsgi:application (the Django project's next to mysite.settings"),
    ({"manage.py": MANAGE, "mysite/settings.py": ""}, [], None),
    ({"README.txt": ""}, [], None),
])
def test_conventional_layouts_are_found_in_order_and_said(tmp_path, files, options, said):
    src = layout(tmp_path, files)
    found, command, lines = official.convention({}, [], src)
    assert command is None
    assert found[:2] == (["--application-type", "module"] if options else [])
    assert found[2:] == options
    if said:
        assert lines[0].startswith(said) and lines[0].endswith(
            "no setting names the application; to choose otherwise, set APP_MODULE="
            "module:callable or --entry-point in .whiskey/server_args"), lines
    else:
        assert lines == []


def test_app_sh_and_app_py_come_first_and_nothing_is_guessed_over_a_setting(tmp_path):
    src = layout(tmp_path, {"project/app.py": "", "project/app.sh": "", "project/wsgi.py": ""})
    _, command, lines = official.convention({"APP_HOME": "project"}, [], src)
    assert command == [src + "/project/app.sh"] and "Apache and mod_wsgi are bypassed" in lines[0]
    (tmp_path / "project" / "app.sh").unlink()
    _, command, _ = official.convention({"APP_HOME": "project"}, [], src)
    assert command == [sys.executable, src + "/project/app.py"]
    (tmp_path / "project" / "app.py").unlink()
    found, _, _ = official.convention({"APP_HOME": "project"}, [], src)
    assert found[-2:] == ["--working-directory", src + "/project"]
    for env, args in (({"APP_MODULE": "x:y"}, []), ({}, ["--entry-point", "x"]),
                      ({"MOD_WSGI_ENTRY_POINT": "x"}, [])):
        assert official.convention(dict(env, APP_HOME="project"), args, src) == ([], None, [])
