"""A Flask app reporting what whiskey installed from its lock file."""
import json
from importlib.metadata import PackageNotFoundError, version

from flask import Flask

PROJECT = ""
app = Flask(__name__)


def installed(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return None


@app.route("/")
def index():
    names = ["flask", "click", "werkzeug", "colorama", "pytest", "pluggy"] + ([PROJECT] if PROJECT else [])
    report = {name: installed(name) for name in names}
    if PROJECT:
        report["greeting"] = __import__(PROJECT).greeting()
    return app.response_class(json.dumps(report, sort_keys=True), mimetype="application/json")


application = app
