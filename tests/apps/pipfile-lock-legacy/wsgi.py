"""Reports what whiskey installed from Pipfile.lock; runs on Python 2.7 and 3.3+."""
import json

import six

try:
    from importlib.metadata import PackageNotFoundError, version  # 3.8+
except ImportError:  # 2.7 to 3.7: setuptools' pkg_resources
    from pkg_resources import DistributionNotFound as PackageNotFoundError
    from pkg_resources import get_distribution

    def version(name):
        return get_distribution(name).version


def installed(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def application(environ, start_response):
    report = dict((name, installed(name)) for name in ("six", "colorama", "nose"))
    report["six_module"] = six.__version__
    body = json.dumps(report, sort_keys=True).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
