"""CI workflows, the CI build matrix and the publish logic, checked without Docker or network.

The workflows are only ever run by GitHub, so what can go wrong in them
(a renamed subcommand, a tox env that no longer exists, publishing from a
pull request or a fork, a secret or a write permission in a job that does
not need it, an unpinned action or scanner, an expression expanded inside a
script) is checked here, against the real parser and tox.ini.  The steps
whose logic is a script (the job list, the vulnerability gate, joining,
dating, signing and attesting the pushed digests, the provenance statement,
the scheduled report) run here with bash and jq as on GitHub's runners,
with fakes for build.py, docker and cosign where those would reach a
registry.  The publish logic runs against a fake engine;
tests/behaviour/test_publish.py does the real round trip through a registry
on 127.0.0.1.
"""

import configparser
import fnmatch
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from whiskey import UsageError, ci, cli, context, images, matrix, outdated, publish, render, settings

from .conftest import ROOT, build_py

WORKFLOWS = os.path.join(ROOT, ".github", "workflows")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# What each expression that reaches a build.py command line (through `env:`)
# stands for here.
PLACEHOLDERS = {
    "matrix.variant": "python-2.7",
    "matrix.arch": "arm64",
    "vars.REGISTRY": "example.invalid",
    "vars.REGISTRY_NAMESPACE": "ns",
    # The variants `build.py outdated` found outdated: words, split on purpose.
    "steps.outdated.outputs.variants": "python-3.11 python-2.7",
    "needs.matrix.outputs.day": "20261206",
}
# What each shell variable a script assigns itself (rather than getting it
# from `env:`) stands for where it reaches a build.py command line.
SHELL_PLACEHOLDERS = {
    "builder_index": "sha256:" + "b" * 64,
    "runtime_index": "sha256:" + "c" * 64,
}
# `python build.py`, `python src/build.py` (a checkout elsewhere), `./build.py`.
BUILD_PY = re.compile(
    r"(?:\bpython3?\s+(?P<dir>(?:[\w.-]+/)*)|\./)build\.py\b(?P<args>[^)|;&>\n]*)")
SHELL_VARIABLE = re.compile(r"\$\{?(\w+)\}?")
# The parts of the decision to publish: not a pull request, not a fork, the
# default branch (or the schedule, which runs on it).
PUBLISH_GUARD = ("github.event_name != 'pull_request'",
                 "github.event.repository.fork == false",
                 "format('refs/heads/{0}', github.event.repository.default_branch)")
# What writes to the registry: pushing, moving tags, signing and attesting.
# Reading it (`build.py outdated`, `imagetools inspect`, `cosign verify-attestation`) does not.
PUBLISHING = re.compile(r"\bbuild\.py\s+push\b|\bimagetools\s+create\b|\bcosign\s+(?:sign|attest)\b")
RELEASE = re.compile(r"v\d+\.\d+\.\d+")
ARCHS = ("amd64", "arm64")
IMAGES = (publish.PUBLISHED_NAME, publish.PUBLISHED_NAME + "-runtime")

needs_bash_and_jq = pytest.mark.skipif(not (shutil.which("bash") and shutil.which("jq")),
                                       reason="runs the step as GitHub's runners do, with bash and jq")


# -- helpers ---------------------------------------------------------------------------------

def workflow_files():
    return sorted(glob.glob(os.path.join(WORKFLOWS, "*.yml")))


def load_workflow(name):
    with open(os.path.join(WORKFLOWS, name)) as f:
        return yaml.safe_load(f)


def triggers(workflow):
    # YAML 1.1 reads the key `on` as True.
    return workflow.get("on", workflow.get(True))


def steps(workflow):
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def the_step(job, name=None, step_id=None):
    """The one step of job with this name (or id)."""
    found = [s for s in job["steps"] if (name is not None and s.get("name") == name)
             or (step_id is not None and s.get("id") == step_id)]
    assert len(found) == 1, "%d steps named %r" % (len(found), name or step_id)
    return found[0]


def script_lines(script):
    """A script's lines as bash reads them: a backslash at the end of a line continues it."""
    return re.sub(r"\\\n\s*", " ", script).splitlines()


def run_lines(workflow):
    for job_name, step in steps(workflow):
        for line in script_lines(step.get("run", "")):
            yield job_name, step, line


def step_env(workflow, job_name, step):
    """The environment a step's script sees from the workflow: workflow, job, step `env:`."""
    env = dict(workflow.get("env") or {})
    env.update(workflow["jobs"][job_name].get("env") or {})
    env.update(step.get("env") or {})
    return env


def expand(text, placeholders=None):
    """text with each expression replaced by its placeholder; an unknown one fails the test."""
    placeholders = PLACEHOLDERS if placeholders is None else placeholders
    unknown = [e for e in EXPRESSION.findall(text) if e not in placeholders]
    assert not unknown, "no placeholder for %s in %r: add one to PLACEHOLDERS" % (unknown, text)
    return EXPRESSION.sub(lambda e: placeholders[e.group(1)], text)


def build_py_matches(workflow):
    """(job, step, line, match of BUILD_PY) for each build.py call in the workflow's run steps."""
    for job, step, line in run_lines(workflow):
        for m in BUILD_PY.finditer(line):
            yield job, step, line, m


def shell_value(name, env, script, line):
    if name in env:
        return str(env[name])
    assigned = re.search(r"(?m)^\s*%s=" % re.escape(name), script)
    assert assigned and name in SHELL_PLACEHOLDERS, (
        "%r uses $%s, which no `env:` sets (nor the script, with an entry in SHELL_PLACEHOLDERS)"
        % (line, name))
    return SHELL_PLACEHOLDERS[name]


def build_py_calls(workflow, placeholders=None):
    """(line, argv after build.py) for each build.py call in the workflow's run steps.

    Shell variables are replaced by their `env:` values (a variable the script
    assigns itself by SHELL_PLACEHOLDERS), expressions by PLACEHOLDERS.
    """
    calls = []
    for job, step, line, m in build_py_matches(workflow):
        env = step_env(workflow, job, step)
        text = SHELL_VARIABLE.sub(lambda v, env=env, step=step, line=line: shell_value(
            v.group(1), env, step["run"], line), m.group("args"))
        calls.append((line.strip(), shlex.split(expand(text, placeholders))))
    return calls


def tox_envs():
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "tox.ini"))
    envs = {s.split(":", 1)[1] for s in config.sections() if s.startswith("testenv:")}
    envs |= {e.strip() for e in config.get("tox", "envlist").split(",")}
    return envs


def is_publish_step(step):
    return bool(PUBLISHING.search(step.get("run", ""))) or "login-action" in step.get("uses", "")


def uses_secrets(job):
    return "secrets." in json.dumps([job.get("env", {}), job.get("steps", [])])


def tools(bindir, **scripts):
    """bindir holding an executable per keyword, running its /bin/sh script."""
    bindir.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        (bindir / name).write_text("#!/bin/sh\n%s\n" % body)
        (bindir / name).chmod(0o755)
    return bindir


def run_step(step, cwd, env, bindir=None):
    """Run a step's script as GitHub's runners do (bash -eo pipefail) in cwd, with env on top
    of this process's environment (less GitHub's own variables) and bindir first on PATH."""
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    if bindir is not None:
        run_env["PATH"] = str(bindir) + os.pathsep + run_env.get("PATH", os.defpath)
    run_env.update(env)
    os.makedirs(cwd, exist_ok=True)
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          cwd=cwd, env=run_env, capture_output=True, text=True, timeout=60)


def github_output(path):
    """The name=value lines a step wrote to $GITHUB_OUTPUT, as a dict."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


# -- the workflows -------------------------------------------------------------------------------

def test_the_workflows_exist():
    names = [os.path.basename(f) for f in workflow_files()]
    assert {"lint.yml", "images.yml", "update.yml"} <= set(names)


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_workflow_is_valid_yaml_with_triggers_and_jobs(path):
    with open(path) as f:
        workflow = yaml.safe_load(f)
    assert isinstance(workflow, dict)
    assert triggers(workflow), "%s has no `on:`" % path
    assert workflow["jobs"] and all("runs-on" in j for j in workflow["jobs"].values())
    for _job, step in steps(workflow):
        assert ("run" in step) != ("uses" in step), step


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_every_build_py_call_parses_with_the_real_cli(path):
    p = cli.parser()
    commands = set(p._subparsers._group_actions[0].choices)
    calls = build_py_calls(yaml.safe_load(open(path)))
    assert calls
    for line, argv in calls:
        words = [w for w in argv if not w.startswith("-")]
        assert words and words[0] in commands, "%s: %r names no build.py subcommand" % (path, line)
        try:
            args = p.parse_args(argv)
        except SystemExit:
            pytest.fail("%s: build.py rejects %r (see the usage error above)" % (path, line))
        # The placeholders are real variants, registries, digests and days.
        if getattr(args, "variants", None):
            matrix.select(matrix.load(), args.variants)
        if getattr(args, "variant", None):
            matrix.select(matrix.load(), [args.variant])
        if getattr(args, "registry", None):
            publish.parse_registry(args.registry)
        if getattr(args, "digest", None):
            publish.parse_digests(args.digest)
        if getattr(args, "day", None):
            publish.parse_day(args.day)


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_build_py_runs_from_its_jobs_checkout(path):
    workflow = yaml.safe_load(open(path))
    for job_name, step, line, m in build_py_matches(workflow):
        job = workflow["jobs"][job_name]
        (checkout,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
        assert job["steps"].index(checkout) < job["steps"].index(step), line
        where = (checkout.get("with") or {}).get("path", ".")
        assert os.path.normpath(os.path.join(where, "build.py")) == os.path.normpath(
            os.path.join(m.group("dir") or ".", "build.py")), "%s: %r" % (job_name, line)


def test_the_workflows_call_the_commands_ci_needs():
    called = {}
    for name in ("lint.yml", "images.yml", "update.yml"):
        called[name] = [argv[0] for _line, argv in build_py_calls(load_workflow(name))]
    assert called["lint.yml"] == ["render"]
    assert called["images.yml"] == ["outdated", "ci-matrix", "ci-matrix", "build", "test", "sbom",
                                    "sbom", "push", "dated-tag"]
    assert called["update.yml"] == ["update", "render"]


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_tox_envs_named_in_workflows_exist(path):
    known = tox_envs()
    named = []
    for _job, _step, line in run_lines(yaml.safe_load(open(path))):
        if re.search(r"\btox\b|build\.py\s+test\b", line):
            for m in re.finditer(r"(?:-e|--env)[ =]([\w,-]+)", line):
                named += m.group(1).split(",")
    for env_name in named:
        assert env_name in known, "%s names tox env %r, not in tox.ini (%s)" % (
            path, env_name, ", ".join(sorted(known)))


def tox_envs_run(workflow):
    """The tox envs a workflow's run steps run, in order."""
    named = []
    for _job, _step, line in run_lines(workflow):
        if re.search(r"\btox\b", line):
            for m in re.finditer(r"(?:-e|--env)[ =]([\w,-]+)", line):
                named += m.group(1).split(",")
    return named


def test_lint_workflow_checks_every_change_without_building_images():
    workflow = load_workflow("lint.yml")
    on = triggers(workflow)
    assert "push" in on and "pull_request" in on
    calls = [cli.parser().parse_args(argv) for _line, argv in build_py_calls(workflow)]
    assert [(a.command, a.check) for a in calls] == [("render", True)]
    assert set(tox_envs_run(workflow)) >= {"lint", "unit"}
    assert "behaviour" not in tox_envs_run(workflow)


def assert_weekly(on):
    crons = [entry["cron"] for entry in on["schedule"]]
    assert len(crons) == 1
    fields = crons[0].split()
    assert len(fields) == 5 and fields[2:4] == ["*", "*"] and fields[4] not in ("*", "*/1"), (
        "not weekly: %r" % crons[0])


def test_images_workflow_triggers_include_a_weekly_schedule():
    on = triggers(load_workflow("images.yml"))
    assert {"push", "pull_request", "workflow_dispatch", "schedule"} <= set(on)
    assert_weekly(on)


def test_images_workflow_builds_the_matrix_from_build_py():
    # build.strategy.matrix <- a job's output <- a step's output <- build.py ci-matrix
    jobs = load_workflow("images.yml")["jobs"]
    build = jobs["build"]
    assert build["strategy"]["fail-fast"] is False
    m = re.fullmatch(r"\$\{\{\s*fromJSON\(needs\.([\w-]+)\.outputs\.([\w-]+)\)\s*\}\}",
                     build["strategy"]["matrix"])
    assert m, build["strategy"]["matrix"]
    job, output = m.groups()
    assert job in ([build["needs"]] if isinstance(build["needs"], str) else build["needs"])
    m = re.fullmatch(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.[\w-]+\s*\}\}",
                     jobs[job]["outputs"][output])
    assert m, jobs[job]["outputs"][output]
    step = the_step(jobs[job], step_id=m.group(1))
    # Every variant, or those `build.py outdated` named (see the next test).
    assert [argv for _l, argv in build_py_calls({"jobs": {job: {"steps": [step]}}})] == [
        ["ci-matrix"], ["ci-matrix"] + PLACEHOLDERS["steps.outdated.outputs.variants"].split()]
    # Nothing is built when the same step says there is nothing to build.
    assert build["if"].replace(" ", "") == "needs.%s.outputs.any=='true'" % job
    assert jobs[job]["outputs"]["any"].replace(" ", "") == "${{steps.%s.outputs.any}}" % step["id"]


def test_a_scheduled_run_builds_what_build_py_outdated_names():
    job = load_workflow("images.yml")["jobs"]["matrix"]
    listed = the_step(job, step_id="matrix")
    (check,) = [s for s in job["steps"] if re.search(r"build\.py\s+outdated\b", s.get("run", ""))]
    assert job["steps"].index(check) < job["steps"].index(listed)
    assert check["if"].replace(" ", "") == "github.event_name=='schedule'"
    assert listed["env"]["OUTDATED"].replace(" ", "") == "${{steps.%s.outputs.variants}}" % check["id"]
    assert listed["env"]["EVENT"].replace(" ", "") == "${{github.event_name}}"
    (call,) = build_py_calls({"jobs": {"matrix": {"steps": [check]}}})
    assert cli.parser().parse_args(call[1]).json


def publish_decision(jobs):
    """(job, expression): the one job output that says whether this run publishes."""
    (decision,) = [(name, job["outputs"]["publish"]) for name, job in jobs.items()
                   if "publish" in job.get("outputs", {})]
    return decision


def publish_gate(jobs):
    return "needs.%s.outputs.publish == 'true'" % publish_decision(jobs)[0]


def test_publishing_is_decided_once_never_for_pull_requests_or_forks():
    jobs = load_workflow("images.yml")["jobs"]
    decider, expression = publish_decision(jobs)
    for part in PUBLISH_GUARD:
        assert part in expression, "the publish decision lacks %r" % part
    gate = publish_gate(jobs)
    # The build job builds, tests and scans on every event; every step after
    # the first publishing one is gated on the decision, and nothing before it is.
    build = jobs["build"]
    assert build["needs"] == decider or decider in build["needs"]
    gated = [i for i, s in enumerate(build["steps"]) if "if" in s]
    assert gated and gated == list(range(gated[0], len(build["steps"]))), "a gap in the gated steps"
    for step in build["steps"][gated[0]:]:
        assert step["if"].strip() == gate, step
    assert all(not is_publish_step(s) for s in build["steps"][:gated[0]])
    published = build["steps"][gated[0]:]
    assert any("build.py push" in s.get("run", "") for s in published)
    assert any("login-action" in s.get("uses", "") for s in published)
    # The job that joins, dates and signs what the builds pushed is gated as a
    # whole, and runs even when one variant's build failed (so that it does
    # not hold up the others).  Reading the registry (build.py outdated, the
    # scheduled report) is no publishing.
    others = [name for name, job in jobs.items()
              if name != "build" and any(is_publish_step(s) for s in job.get("steps", []))]
    assert others == ["publish"]
    for name in others:
        job = jobs[name]
        assert gate in job["if"], name
        assert "!cancelled()" in job["if"], name
        assert decider in job["needs"] and "build" in job["needs"], name


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_jobs_that_get_secrets_run_in_an_environment(path):
    # Secrets live in environments (publish, update), which the repository's
    # settings restrict to the default branch; a job outside one gets none.
    workflow = yaml.safe_load(open(path))
    with_secrets = {name: job.get("environment") for name, job in workflow["jobs"].items()
                    if uses_secrets(job)}
    name = os.path.basename(path)
    if name == "images.yml":
        # The build job only when it publishes: its expression yields no environment otherwise.
        assert with_secrets == {
            "build": "${{ %s && 'publish' || '' }}" % publish_gate(workflow["jobs"]),
            "publish": "publish"}
    else:
        assert with_secrets == {"lint.yml": {}, "update.yml": {"update": "update"}}[name]


def test_write_permissions_only_where_needed():
    writes = set()
    for path in workflow_files():
        workflow = yaml.safe_load(open(path))
        name = os.path.basename(path)
        # Read-only by default, for every job that says no more.
        assert workflow["permissions"] == {"contents": "read"}, name
        for job_name, job in workflow["jobs"].items():
            permissions = job.get("permissions", {})
            assert isinstance(permissions, dict), "%s: %s: %r" % (name, job_name, permissions)
            writes |= {(name, job_name, scope) for scope, level in permissions.items()
                       if level == "write"}
    assert writes == {
        # The OIDC token cosign signs with (keyless), in the job that signs.
        ("images.yml", "publish", "id-token"),
        # The branch and pull request of the pin updates.
        ("update.yml", "update", "contents"),
        ("update.yml", "update", "pull-requests"),
    }


def test_the_registry_comes_from_settings_and_credentials_from_secrets():
    workflow = load_workflow("images.yml")
    logins = [s for _j, s in steps(workflow) if "login-action" in s.get("uses", "")]
    assert logins
    (push,) = [argv for _l, argv in build_py_calls(workflow) if argv[0] == "push"]
    registry = cli.parser().parse_args(push).registry
    assert publish.parse_registry(registry) == registry
    # Checked, dated and pushed in the same place.
    for _line, argv in build_py_calls(workflow):
        assert getattr(cli.parser().parse_args(argv), "registry", registry) == registry, argv
    for login in logins:
        for key in ("username", "password"):
            assert re.fullmatch(r"\$\{\{\s*secrets\.\w+\s*\}\}", login["with"][key]), key
        # build.py pushes to the registry host the action logged in to.
        assert registry.split("/")[0] == expand(login["with"]["registry"])


GH = re.compile(r"(?:^|[\s;&|(])gh\s")


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_no_secret_is_echoed_or_reaches_a_shell(path):
    workflow = yaml.safe_load(open(path))
    for _job, step in steps(workflow):
        # Secrets go to the login action's inputs, and to gh as GH_TOKEN (gh
        # reads it from its environment): not into a script (where they could
        # be printed), nor into any other step's environment.
        assert "secrets." not in step.get("run", ""), step
        for key, value in (step.get("env") or {}).items():
            if "secrets." in str(value):
                assert key == "GH_TOKEN" and GH.search(step["run"]), step
                assert "GH_TOKEN" not in step["run"], step
        if "secrets." in json.dumps(step.get("with", {})):
            assert "login-action" in step["uses"], step
    for job in workflow["jobs"].values():
        assert "secrets." not in json.dumps(job.get("env", {}))
    assert "secrets." not in json.dumps(workflow.get("env", {}))
    for _job, _step, line in run_lines(workflow):
        assert not re.search(r"\becho\b.*(secret|PASSWORD|TOKEN)", line, re.I), line


USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(.*?)\s*$")
PINNED = re.compile(r"([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)")


def pins(path):
    """(action, sha, release) for every `uses:` line of a workflow, as written."""
    out = []
    with open(path) as f:
        for line in f:
            m = USES_LINE.match(line)
            if m:
                pinned = PINNED.fullmatch(m.group(1))
                assert pinned, "%s: %r is not `OWNER/ACTION@<40-hex SHA> # vX.Y.Z`" % (
                    os.path.basename(path), m.group(1))
                out.append(pinned.groups())
    return out


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_every_action_is_pinned_by_commit_sha_with_its_release(path):
    found = pins(path)
    used = [s["uses"] for _j, s in steps(yaml.safe_load(open(path))) if "uses" in s]
    assert ["%s@%s" % (action, sha) for action, sha, _v in found] == used


def test_an_action_is_pinned_to_the_same_release_everywhere():
    seen = {}
    for path in workflow_files():
        for action, sha, release in pins(path):
            seen.setdefault(action, set()).add((sha, release))
    assert seen and all(len(v) == 1 for v in seen.values()), seen


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_checkouts_do_not_persist_the_token(path):
    checkouts = [s for _j, s in steps(yaml.safe_load(open(path)))
                 if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    for step in checkouts:
        assert (step.get("with") or {}).get("persist-credentials") is False, step


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_no_expression_is_expanded_inside_a_script(path):
    # Expressions reach scripts through `env:`, as shell variables: expanded
    # into the script's text, a value (a branch name, a matrix entry) is code.
    for _job, step in steps(yaml.safe_load(open(path))):
        assert "${{" not in step.get("run", ""), step


def test_dependabot_keeps_the_pinned_actions_and_the_requirements_current():
    with open(os.path.join(ROOT, ".github", "dependabot.yml")) as f:
        config = yaml.safe_load(f)
    assert config["version"] == 2
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    for ecosystem in ("github-actions", "pip"):
        assert updates[ecosystem]["directory"] == "/"
        assert updates[ecosystem]["schedule"]["interval"] == "weekly"
    # The pip updates look at requirements*.txt in that directory.
    assert glob.glob(os.path.join(ROOT, "requirements*.txt"))


def test_pip_and_the_verified_sources_are_cached(monkeypatch):
    for path in workflow_files():
        for _job, step in steps(yaml.safe_load(open(path))):
            if step.get("uses", "").startswith("actions/setup-python@"):
                assert step["with"]["cache"] == "pip", path
    build = load_workflow("images.yml")["jobs"]["build"]
    (cache,) = [s for s in build["steps"] if s.get("uses", "").startswith("actions/cache@")]
    monkeypatch.delenv("WHISKEY_SOURCE_CACHE", raising=False)
    assert os.path.expanduser(cache["with"]["path"]) == settings.source_cache()
    assert "hashFiles('matrix.yaml')" in cache["with"]["key"]
    # Restored before anything is fetched.
    first_build = min(i for i, s in enumerate(build["steps"]) if "build.py" in s.get("run", ""))
    assert build["steps"].index(cache) < first_build


def test_both_architectures_build_on_native_runners():
    jobs = load_workflow("images.yml")["jobs"]
    assert jobs["build"]["runs-on"].replace(" ", "") == "${{matrix.runner}}"
    step = the_step(jobs["matrix"], step_id="matrix")
    assert '"ubuntu-24.04-arm"' in step["run"] and '"ubuntu-24.04"' in step["run"]
    used = [s.get("uses", "") for _j, s in steps({"jobs": jobs})]
    assert not [u for u in used if "qemu" in u], "emulation instead of native arm64 runners"


@needs_bash_and_jq
@pytest.mark.parametrize("event, outdated_variants, built", [
    ("push", "", None),                                  # None: every variant
    ("schedule", "", []),                                # nothing outdated: nothing to build
    ("schedule", "python-3.11 python-2.7", ["python-3.11", "python-2.7"]),
])
def test_the_job_list_step_gives_every_variant_on_both_architectures(
        env, tmp_path, event, outdated_variants, built):
    step = the_step(load_workflow("images.yml")["jobs"]["matrix"], step_id="matrix")
    bindir = tools(tmp_path / "bin", python='exec "%s" "$@"' % sys.executable)
    output = tmp_path / "github-output"
    p = run_step(step, ROOT, {"DOCKER_HOST": env["DOCKER_HOST"],
                              "WHISKEY_SOURCE_CACHE": env["WHISKEY_SOURCE_CACHE"],
                              "GITHUB_OUTPUT": str(output), "EVENT": event,
                              "OUTDATED": outdated_variants}, bindir)
    assert p.returncode == 0, p.stderr
    outputs = github_output(output)
    every = json.loads(ci.matrix_json())["include"]
    # The day of the dated tags, and every variant for the scheduled report.
    assert re.fullmatch(r"\d{8}", outputs["day"]) and publish.parse_day(outputs["day"])
    assert json.loads(outputs["published"])["include"] == every
    if built == []:
        assert outputs["any"] == "false"
        assert "matrix" not in outputs and "variants" not in outputs
        return
    assert outputs["any"] == "true"
    variants = json.loads(outputs["variants"])["include"]
    if built is None:
        assert variants == every
    else:
        assert [v["variant"] for v in variants] == built
    assert json.loads(outputs["matrix"])["include"] == [
        dict(v, arch=arch, runner=runner) for v in variants
        for arch, runner in (("amd64", "ubuntu-24.04"), ("arm64", "ubuntu-24.04-arm"))]


@needs_bash_and_jq
def test_the_outdated_step_names_just_the_outdated_variants(tmp_path):
    job = load_workflow("images.yml")["jobs"]["matrix"]
    step = the_step(job, step_id="outdated")
    verdicts = [outdated.Verdict(v, "example.invalid/ns/whiskey:python-%s" % v.python, reasons)
                for v, reasons in zip(matrix.select(matrix.load(), ["python-2.7", "python-3.4",
                                                                     "python-3.11"]),
                                      [["a newer libssl3"], [], ["not published"]], strict=True)]
    verdicts_json = tmp_path / "outdated.json"
    verdicts_json.write_text(json.dumps([v.as_dict() for v in verdicts], indent=1))
    bindir = tools(tmp_path / "bin", python='cat "%s"' % verdicts_json)
    output, summary = tmp_path / "github-output", tmp_path / "summary"
    p = run_step(step, tmp_path / "work", {"REGISTRY": "example.invalid", "REGISTRY_NAMESPACE": "ns",
                                           "GITHUB_OUTPUT": str(output),
                                           "GITHUB_STEP_SUMMARY": str(summary)}, bindir)
    assert p.returncode == 0, p.stderr
    # Words, for `ci-matrix $OUTDATED`.
    assert github_output(output) == {"variants": "python-2.7 python-3.11"}
    rows = summary.read_text().splitlines()
    assert "| python-2.7 | outdated | a newer libssl3 |" in rows
    assert "| python-3.4 | current |  |" in rows
    assert "| python-3.11 | outdated | not published |" in rows


# -- the vulnerability gate and the scheduled report ------------------------------------------------

def trivy_steps(workflow):
    return [(job, s) for job, s in steps(workflow)
            if s.get("uses", "").startswith("aquasecurity/trivy-action@")]


def test_every_scan_is_by_the_same_pinned_trivy_and_records_what_has_a_fix():
    scans = [s for path in workflow_files() for _j, s in trivy_steps(yaml.safe_load(open(path)))]
    assert scans
    versions = {s["with"].get("version") for s in scans}
    # The scan at publish time and the scheduled one compare like with like.
    assert len(versions) == 1 and RELEASE.fullmatch(versions.pop() or ""), versions
    for scan in scans:
        assert scan["with"]["format"] == "cosign-vuln", scan
        assert scan["with"]["ignore-unfixed"] is True, scan


def test_the_gate_scans_the_images_built_before_anything_is_published():
    build = load_workflow("images.yml")["jobs"]["build"]
    order = build["steps"]
    scans = [s for _j, s in trivy_steps({"jobs": {"build": build}})]
    (variant,) = matrix.select(matrix.load(), [PLACEHOLDERS["matrix.variant"]])
    assert sorted(expand(s["with"]["image-ref"]) for s in scans) == sorted(
        [images.image_name(variant, "whiskey"), images.runtime_image_name(variant, "whiskey")])
    # Trivy does not make its output's directory: a step before does.
    made = set()
    for step in order[:order.index(scans[0])]:
        for m in re.finditer(r"\bmkdir\s+-p\s+([^\n;&|]+)", step.get("run", "")):
            made.update(shlex.split(m.group(1), comments=True))
    for scan in scans:
        assert os.path.dirname(scan["with"]["output"]) in made, scan["with"]["output"]
    gate = the_step(build, "no fixable critical vulnerability")
    first_publishing = min(i for i, s in enumerate(order) if is_publish_step(s))
    assert max(order.index(s) for s in scans) < order.index(gate) < first_publishing
    assert "if" not in gate


def cosign_vuln(*vulnerabilities):
    """A scan record as Trivy writes it with --format cosign-vuln."""
    return {"scanner": {"uri": "pkg:github/aquasecurity/trivy", "result": {
        "SchemaVersion": 2, "Results": [{"Target": "whiskey (debian 12.9)",
                                         "Vulnerabilities": list(vulnerabilities)}]}}}


def vulnerability(vid, severity, fixed="", package="libssl3", installed="3.0.15-1~deb12u1"):
    found = {"VulnerabilityID": vid, "PkgName": package, "InstalledVersion": installed,
             "Severity": severity}
    if fixed:  # Trivy leaves it out when there is none
        found["FixedVersion"] = fixed
    return found


@needs_bash_and_jq
@pytest.mark.parametrize("records, fails", [
    ({"a.json": cosign_vuln(vulnerability("CVE-2026-0001", "CRITICAL", "3.0.17-1~deb12u2"),
                            vulnerability("CVE-2026-0002", "LOW", "3.0.17-1~deb12u2"))}, True),
    ({"a.json": cosign_vuln(vulnerability("CVE-2026-0003", "CRITICAL"),
                            vulnerability("CVE-2026-0004", "HIGH", "3.0.17-1~deb12u2")),
      # Nothing found at all: Trivy leaves out the Results.
      "b.json": {"scanner": {"result": {"SchemaVersion": 2}}}}, False),
])
def test_the_vulnerability_gate_fails_on_a_critical_finding_with_a_fix(tmp_path, records, fails):
    build = load_workflow("images.yml")["jobs"]["build"]
    gate = the_step(build, "no fixable critical vulnerability")
    (where,) = {os.path.dirname(s["with"]["output"]) for _j, s in trivy_steps({"jobs": {"b": build}})}
    work = tmp_path / "work"
    (work / where).mkdir(parents=True)
    for name, record in records.items():
        (work / where / name).write_text(json.dumps(record))
    p = run_step(gate, work, {"VARIANT": "python-2.7", "ARCH": "arm64"})
    if fails:
        assert p.returncode == 1, p.stderr
        assert "CVE-2026-0001 libssl3 3.0.15-1~deb12u1 -> 3.0.17-1~deb12u2" in p.stdout.splitlines()
        assert "CVE-2026-0002" not in p.stdout
        assert p.stdout.startswith("::error::python-2.7 on arm64 ")
    else:
        assert p.returncode == 0, p.stdout + p.stderr
        assert p.stdout == ""


def test_the_report_compares_with_the_scan_this_workflow_attested():
    jobs = load_workflow("images.yml")["jobs"]
    report = jobs["report"]
    # After publishing (whatever became of it), so that it reads what is published now.
    assert report["needs"] == ["matrix", "publish"]
    assert report["if"].replace(" ", "") == "${{!cancelled()&&github.event_name=='schedule'&&%s}}" % (
        publish_gate(jobs).replace(" ", ""))
    assert "environment" not in report and not uses_secrets(report)
    assert not any(is_publish_step(s) for s in report["steps"])
    identity = report["env"]["IDENTITY"].replace(" ", "")
    assert identity.endswith("/.github/workflows/images.yml@refs/heads/"
                             "${{github.event.repository.default_branch}}")
    verify = " ".join(script_lines(the_step(report, step_id="published")["run"]))
    assert re.search(r'cosign verify-attestation --type vuln --certificate-identity "\$IDENTITY"\s+'
                     r'--certificate-oidc-issuer https://token.actions.githubusercontent.com\s', verify)


@needs_bash_and_jq
@pytest.mark.parametrize("verified", [True, False])
def test_the_report_shows_only_what_became_fixable_since_publishing(tmp_path, verified):
    step = the_step(load_workflow("images.yml")["jobs"]["report"], "what became fixable")
    was_fixable = vulnerability("CVE-2026-0010", "HIGH", "1.1")
    gone = vulnerability("CVE-2026-0011", "CRITICAL", "2.1", package="zlib1g")
    became_fixable = vulnerability("CVE-2026-0012", "MEDIUM", "3.1", package="libexpat1")
    unfixed = vulnerability("CVE-2026-0013", "CRITICAL", package="libc6")
    work = tmp_path / "work"
    work.mkdir()
    # Without a verified record of the publish-time scan (an image published
    # before its scans were attested), the step compares with an empty one.
    (work / "then.json").write_text(json.dumps(cosign_vuln(was_fixable, gone) if verified else {}))
    (work / "now.json").write_text(json.dumps(cosign_vuln(was_fixable, became_fixable, unfixed)))
    summary = tmp_path / "summary"
    p = run_step(step, work, {"VARIANT": "python-2.7", "IMAGE": "example.invalid/ns/whiskey@sha256:"
                              + "d" * 64, "GITHUB_STEP_SUMMARY": str(summary)})
    assert p.returncode == 0, p.stderr
    text = summary.read_text()
    assert text.startswith("### python-2.7 (example.invalid/ns/whiskey@sha256:")
    assert "MEDIUM CVE-2026-0012 libexpat1 3.0.15-1~deb12u1 -> 3.1" in text.splitlines()
    assert ("CVE-2026-0010" in text) is not verified
    assert "CVE-2026-0011" not in text and "CVE-2026-0013" not in text
    # And nothing when nothing changed.
    (work / "now.json").write_text((work / "then.json").read_text())
    assert run_step(step, work, {"VARIANT": "python-2.7", "IMAGE": "x",
                                 "GITHUB_STEP_SUMMARY": str(summary)}).returncode == 0
    assert summary.read_text().endswith("Nothing became fixable since it was published.\n")


# -- the pin updates --------------------------------------------------------------------------

def test_the_update_workflow_proposes_rendered_pin_updates_weekly():
    workflow = load_workflow("update.yml")
    on = triggers(workflow)
    # Never on a pull request or push: it writes a branch with its token.
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert_weekly(on)
    (job,) = workflow["jobs"].values()
    assert "github.event.repository.fork == false" in job["if"]
    calls = [cli.parser().parse_args(argv) for _line, argv in build_py_calls(workflow)]
    assert [(a.command, getattr(a, "check", None), getattr(a, "dry_run", None)) for a in calls] == [
        ("update", None, False), ("render", True, None)]
    (updating,) = [s for s in job["steps"] if any(m.group("args").split()[:1] == ["update"]
                                                  for m in BUILD_PY.finditer(s.get("run", "")))]
    (proposing,) = [s for s in job["steps"] if GH.search(s.get("run", ""))]
    assert job["steps"].index(updating) < job["steps"].index(proposing)
    # The one secret-fed variable, read by gh itself: no script mentions it.
    fed = [(key, s.get("name")) for _j, s in steps(workflow) for key, value in (s.get("env") or {}).items()
           if "secrets." in str(value)]
    assert fed == [("GH_TOKEN", proposing.get("name"))]
    assert proposing["env"]["GH_TOKEN"].replace(" ", "") == "${{secrets.UPDATE_TOKEN||github.token}}"
    assert not [line for _j, _s, line in run_lines(workflow) if "GH_TOKEN" in line]
    # gh, not a URL or a file, holds the token for git's push.
    assert "gh auth setup-git" in proposing["run"]
    assert "x-access-token" not in proposing["run"] and "https://" not in proposing["run"]


# -- the CI build matrix ---------------------------------------------------------------------------

def list_offline(env, *args):
    p = build_py(env, *(list(args) + ["list", "--offline"]))
    assert p.returncode == 0, p.stderr
    rows = [line.split() for line in p.stdout.splitlines()[1:]]
    return [{"variant": r[0], "python": r[1], "base": r[3], "tags": r[4].replace(",", " ")}
            for r in rows]


def from_load(path=matrix.DEFAULT_PATH):
    return [{"variant": v.name, "python": v.python, "base": v.base, "tags": " ".join(v.tags)}
            for v in matrix.load(path)]


def test_matrix_json_is_one_line_for_github_output():
    text = ci.matrix_json()
    assert "\n" not in text
    data = json.loads(text)
    assert list(data) == ["include"]
    assert all(set(e) == {"variant", "python", "base", "tags"} for e in data["include"])


def test_matrix_json_agrees_with_list_and_with_the_matrix(env):
    ours = json.loads(ci.matrix_json())["include"]
    assert ours == from_load()
    assert ours == list_offline(env)
    p = build_py(env, "ci-matrix")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["include"] == ours
    assert p.stdout.count("\n") == 1


def test_ci_matrix_of_some_variants_keeps_the_order_given(env):
    p = build_py(env, "ci-matrix", "python-3.11", "python-2.7")
    assert p.returncode == 0, p.stderr
    assert [e["variant"] for e in json.loads(p.stdout)["include"]] == ["python-3.11", "python-2.7"]


def test_ci_matrix_unknown_variant(env):
    p = build_py(env, "ci-matrix", "python-4.0")
    assert p.returncode == 2
    assert p.stderr.startswith("build.py: error: unknown variant python-4.0")


@pytest.fixture
def bigger_matrix(tmp_path):
    """matrix.yaml plus python-3.12, a copy of the python-3.11 entry."""
    with open(matrix.DEFAULT_PATH) as f:
        data = yaml.safe_load(f)
    entry = dict(data["variants"]["python-3.11"], python="3.12.0")
    data["variants"]["python-3.12"] = entry
    path = tmp_path / "matrix.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_a_new_matrix_entry_reaches_ci_and_render(env, bigger_matrix, tmp_path):
    p = build_py(env, "--matrix", bigger_matrix, "ci-matrix")
    assert p.returncode == 0, p.stderr
    include = json.loads(p.stdout)["include"]
    assert include[-1] == {"variant": "python-3.12", "python": "3.12.0",
                           "base": "debian:bookworm-slim", "tags": "python-3.12 python-3.12.0"}
    assert include == from_load(bigger_matrix) == list_offline(env, "--matrix", bigger_matrix)
    assert include[:-1] == json.loads(ci.matrix_json())["include"]

    versions = str(tmp_path / "versions")
    written = render.write(matrix.load(bigger_matrix), versions=versions)
    assert sorted(os.listdir(versions)) == sorted([e["variant"] for e in include] + ["README.md"])
    assert os.path.join("python-3.12", "Dockerfile") in written
    new = matrix.select(matrix.load(bigger_matrix), ["python-3.12"])[0]
    with open(os.path.join(versions, "python-3.12", "Dockerfile")) as f:
        assert f.read() == render.render_variant(new)["Dockerfile"]


# -- publish logic, against a fake engine --------------------------------------------------------------

class FakeImage(object):
    def __init__(self, labels):
        self.labels = labels
        self.tags = []

    def tag(self, repository, tag):
        self.tags.append("%s:%s" % (repository, tag))
        return True


class FakeEngine(object):
    """Just what publish uses: images.get, api.push, login."""

    def __init__(self, local, push_chunks=None):
        import docker.errors
        self._missing = docker.errors.ImageNotFound
        self.local = local
        self.push_chunks = push_chunks or (lambda ref: [
            {"status": "Pushed"},
            {"status": "%s: digest: sha256:%s size: 1234" % (ref.rsplit(":", 1)[1], "a" * 64)},
            {"aux": {"Tag": ref.rsplit(":", 1)[1], "Digest": "sha256:" + "a" * 64, "Size": 1234}}])
        self.pushed = []
        self.logins = []
        self.images = self
        self.api = self

    def get(self, name):
        if name not in self.local:
            raise self._missing("No such image: %s" % name)
        return self.local[name]

    def push(self, repository, tag, stream, decode):
        assert stream and decode
        ref = "%s:%s" % (repository, tag)
        self.pushed.append(ref)
        return iter(self.push_chunks(ref))

    def login(self, username, password, registry, reauth):
        self.logins.append((username, registry))


@pytest.fixture
def v311():
    return matrix.select(matrix.load(), ["python-3.11"])[0]


def current_image(variant):
    return FakeImage({images.LABEL_INPUTS: context.plan(variant).inputs_hash})


@pytest.mark.parametrize("registry", [
    "127.0.0.1:5000/whiskey-test", "registry.example.invalid/team", "localhost/a/b",
    "registry:5000", "example.invalid/my-team.x"])
def test_registry_accepted(registry):
    assert publish.parse_registry(registry) == registry


@pytest.mark.parametrize("registry, message", [
    ("team/x", "'team' is not a registry host"),      # would mean the default public registry
    ("http://example.invalid/ns", "without a scheme"),
    ("example.invalid/", "namespace component '' is empty"),   # REGISTRY_NAMESPACE unset
    ("/ns", "'' is not a registry host"),
    ("example.invalid/Team", "'Team' is invalid"),
])
def test_registry_rejected(registry, message):
    with pytest.raises(UsageError) as exc:
        publish.parse_registry(registry)
    assert message in str(exc.value)


def local(v311, image=None, runtime=None):
    """The local images publish looks up: the builder and its runtime image."""
    return {"whiskey:python-3.11": image or current_image(v311),
            "whiskey-runtime:python-3.11": runtime or current_image(v311)}


def test_push_tags_and_pushes_every_tag(v311):
    image, runtime = current_image(v311), current_image(v311)
    engine = FakeEngine(local(v311, image, runtime))
    (o,) = publish.push([v311], "example.invalid/ns", docker_client=engine,
                        log=lambda t: None, environ={})
    expected = ["example.invalid/ns/whiskey:python-3.11", "example.invalid/ns/whiskey:python-3.11.2"]
    expected_runtime = ["example.invalid/ns/whiskey-runtime:python-3.11",
                        "example.invalid/ns/whiskey-runtime:python-3.11.2"]
    assert o.result == "pushed" and o.refs == expected + expected_runtime
    assert image.tags == expected and runtime.tags == expected_runtime
    assert engine.pushed == expected + expected_runtime
    assert o.digest == "sha256:" + "a" * 64
    assert engine.logins == []
    assert publish.problems([o], explicit=True) == []
    assert "example.invalid/ns/whiskey:python-3.11, :python-3.11.2" in publish.summary([o])


def test_a_tag_suffix_is_appended_to_every_pushed_tag(v311):
    image, runtime = current_image(v311), current_image(v311)
    engine = FakeEngine(local(v311, image, runtime))
    (o,) = publish.push([v311], "example.invalid/ns", docker_client=engine,
                        log=lambda t: None, environ={}, tag_suffix="-arm64")
    expected = ["example.invalid/ns/whiskey:python-3.11-arm64",
                "example.invalid/ns/whiskey:python-3.11.2-arm64"]
    expected_runtime = ["example.invalid/ns/whiskey-runtime:python-3.11-arm64",
                        "example.invalid/ns/whiskey-runtime:python-3.11.2-arm64"]
    assert o.result == "pushed" and o.refs == expected + expected_runtime
    assert image.tags == expected and runtime.tags == expected_runtime
    assert engine.pushed == expected + expected_runtime
    assert "example.invalid/ns/whiskey:python-3.11-arm64, :python-3.11.2-arm64" in publish.summary([o])


@pytest.mark.parametrize("suffix, message", [
    ("/arm64", "a tag suffix consists of letters, digits"),
    (":arm64", "a tag suffix consists of letters, digits"),
    ("-arm 64", "a tag suffix consists of letters, digits"),
    ("-" + "x" * 120, "would be longer than the 128 characters a tag may have"),
])
def test_a_bad_tag_suffix_is_rejected_before_anything_is_pushed(v311, suffix, message):
    engine = FakeEngine(local(v311))
    with pytest.raises(UsageError) as exc:
        publish.push([v311], "example.invalid/ns", docker_client=engine, log=lambda t: None,
                     environ={publish.ENV_USER: "ci", publish.ENV_PASSWORD: "s3cret"},
                     tag_suffix=suffix)
    assert str(exc.value).startswith("--tag-suffix %r: " % suffix)
    assert message in str(exc.value)
    assert engine.pushed == [] and engine.logins == []


def test_the_longest_tag_suffix_allowed():
    (v,) = matrix.select(matrix.load(), ["python-3.11"])
    longest = max(len(t) for t in v.tags)
    suffix = "-" * (publish.MAX_TAG - longest)
    assert publish.parse_tag_suffix(suffix, [v]) == suffix
    with pytest.raises(UsageError):
        publish.parse_tag_suffix(suffix + "x", [v])


def test_push_cli_takes_a_tag_suffix():
    args = cli.parser().parse_args(["push", "python-3.11", "--registry", "example.invalid/ns",
                                    "--tag-suffix=-arm64"])
    assert args.tag_suffix == "-arm64"
    assert cli.parser().parse_args(["push", "--registry", "example.invalid/ns"]).tag_suffix == ""


def test_push_cli_bad_tag_suffix_is_one_line(env):
    p = build_py(env, "push", "python-3.11", "--registry", "example.invalid/ns", "--tag-suffix=/x")
    assert p.returncode == 2
    assert p.stderr.startswith("build.py: error: --tag-suffix '/x': ")
    assert p.stderr.count("\n") == 1


def test_an_error_chunk_is_a_failure_with_its_message(v311):
    engine = FakeEngine(local(v311), push_chunks=lambda ref: [
        {"status": "Preparing"},
        {"errorDetail": {"message": "denied: requested access to the resource is denied"},
         "error": "denied: requested access to the resource is denied"}])
    (o,) = publish.push([v311], "example.invalid/ns", docker_client=engine,
                        log=lambda t: None, environ={})
    assert o.result == "failed"
    assert o.detail == ("pushing example.invalid/ns/whiskey:python-3.11 failed: "
                        "denied: requested access to the resource is denied")
    assert engine.pushed == ["example.invalid/ns/whiskey:python-3.11"]  # stops at the first
    assert publish.problems([o], explicit=False) == ["python-3.11: push failed"]


def test_a_push_without_a_digest_is_a_failure(v311):
    engine = FakeEngine(local(v311), push_chunks=lambda ref: [{"status": "Preparing"}])
    (o,) = publish.push([v311], "example.invalid/ns", docker_client=engine,
                        log=lambda t: None, environ={})
    assert o.result == "failed" and "no manifest digest" in o.detail


def test_not_built_and_stale_images_are_skipped(v311):
    v27 = matrix.select(matrix.load(), ["python-2.7"])[0]
    engine = FakeEngine({"whiskey:python-3.11": FakeImage({images.LABEL_INPUTS: "0" * 64})})
    outcomes = publish.push([v27, v311], "example.invalid/ns", docker_client=engine,
                            log=lambda t: None, environ={})
    assert [o.result for o in outcomes] == ["not built", "stale"]
    assert engine.pushed == []
    text = publish.summary(outcomes)
    assert "not built, skipped" in text and "stale, skipped" in text
    assert "run ./build.py build python-2.7" in text
    named = publish.problems(outcomes, explicit=True)
    assert named[:2] == ["python-2.7 was named but not pushed (not built, skipped)",
                         "python-3.11 was named but not pushed (stale, skipped)"]
    assert publish.problems(outcomes, explicit=False) == [
        "nothing was pushed: no variant has a current local image"]


def test_unnamed_variants_not_built_do_not_fail_the_push(v311):
    v27 = matrix.select(matrix.load(), ["python-2.7"])[0]
    engine = FakeEngine(local(v311))
    outcomes = publish.push([v27, v311], "example.invalid/ns", docker_client=engine,
                            log=lambda t: None, environ={})
    assert [o.result for o in outcomes] == ["not built", "pushed"]
    assert publish.problems(outcomes, explicit=False) == []


def test_login_only_when_both_variables_are_set(v311):
    engine = FakeEngine(local(v311))
    env = {publish.ENV_USER: "ci", publish.ENV_PASSWORD: "s3cret"}
    publish.push([v311], "example.invalid:5000/ns", docker_client=engine,
                  log=lambda t: None, environ=env)
    assert engine.logins == [("ci", "example.invalid:5000")]
    with pytest.raises(publish.PushError) as exc:
        publish.push([v311], "example.invalid/ns", docker_client=FakeEngine({}),
                     log=lambda t: None, environ={publish.ENV_USER: "ci"})
    assert "set both WHISKEY_REGISTRY_USER and WHISKEY_REGISTRY_PASSWORD" in str(exc.value)


@pytest.mark.parametrize("json_out", [False, True])
def test_push_cli_logs_to_stderr_and_prints_only_its_result(v311, monkeypatch, capsys, json_out):
    monkeypatch.setattr(images, "client", lambda: FakeEngine(local(v311)))
    monkeypatch.delenv(publish.ENV_USER, raising=False)
    monkeypatch.delenv(publish.ENV_PASSWORD, raising=False)
    argv = ["push", "python-3.11", "--registry", "example.invalid/ns"] + ["--json"] * json_out
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    if json_out:
        (pushed,) = json.loads(out)
        assert (pushed["variant"], pushed["result"]) == ("python-3.11", "pushed")
        assert pushed["refs"][0] == "example.invalid/ns/whiskey:python-3.11"
    else:
        assert out.startswith("VARIANT ") and out.splitlines()[1].split()[:2] == [
            "python-3.11", "pushed"]
    assert err.splitlines()[0] == "[python-3.11] pushing example.invalid/ns/whiskey:python-3.11"


def test_push_cli_errors_are_one_line(env):
    p = build_py(env, "push", "python-3.11", "--registry", "team/x")
    assert p.returncode == 2
    assert p.stderr.startswith("build.py: error: --registry 'team/x': ")
    assert p.stderr.count("\n") == 1
    p = build_py(env, "push", "python-3.11", "--registry", "example.invalid/ns")
    assert p.returncode == 1
    assert "no Docker engine answers" in p.stderr and "Traceback" not in p.stderr
    p = build_py(env, "push", "python-9.9", "--registry", "example.invalid/ns")
    assert p.returncode == 2 and p.stderr.startswith("build.py: error: unknown variant python-9.9")


def test_push_requires_a_registry(env):
    p = build_py(env, "push", "python-3.11")
    assert p.returncode == 2
    assert "the following arguments are required: --registry" in p.stderr


# -- publishing: the publish job's steps, run against fake docker, cosign and build.py -------------

@needs_bash_and_jq
def test_the_provenance_statement_is_slsa_v1_of_this_run(tmp_path):
    step = the_step(load_workflow("images.yml")["jobs"]["publish"], "provenance statement of this run")
    assert step["env"]["SERVER"].replace(" ", "") == "${{github.server_url}}"
    assert step["env"]["RUNNER_ENV"].replace(" ", "") == "${{runner.environment}}"
    sha = "0123456789abcdef" * 2 + "01234567"
    work = tmp_path / "work"
    p = run_step(step, work, {
        "GITHUB_REPOSITORY": "octo/whiskey", "GITHUB_SHA": sha, "GITHUB_REF": "refs/heads/main",
        "GITHUB_WORKFLOW_REF": "octo/whiskey/.github/workflows/images.yml@refs/heads/main",
        "GITHUB_EVENT_NAME": "schedule", "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "2",
        "SERVER": "https://github.com", "RUNNER_ENV": "github-hosted", "VARIANT": "python-2.7"})
    assert p.returncode == 0, p.stderr
    predicate = json.loads((work / "provenance.json").read_text())
    assert set(predicate) == {"buildDefinition", "runDetails"}
    definition = predicate["buildDefinition"]
    assert definition["buildType"] == "https://actions.github.io/buildtypes/workflow/v1"
    assert definition["externalParameters"] == {"variant": "python-2.7", "workflow": {
        "ref": "refs/heads/main", "repository": "https://github.com/octo/whiskey",
        "path": os.path.relpath(os.path.join(WORKFLOWS, "images.yml"), ROOT)}}
    assert definition["internalParameters"] == {"github": {"event_name": "schedule",
                                                           "runner_environment": "github-hosted"}}
    assert definition["resolvedDependencies"] == [
        {"uri": "git+https://github.com/octo/whiskey@refs/heads/main", "digest": {"gitCommit": sha}}]
    # The identity cosign's certificate names, too.
    assert predicate["runDetails"] == {
        "builder": {"id": "https://github.com/octo/whiskey/.github/workflows/images.yml@refs/heads/main"},
        "metadata": {"invocationId": "https://github.com/octo/whiskey/actions/runs/4242/attempts/2"}}


def pushed_digest(image, arch):
    """The digest the fakes give image as pushed from arch (or, for arch "index", joined)."""
    return "sha256:" + hashlib.sha256(("%s %s" % (image, arch)).encode()).hexdigest()


INDEX = {image: pushed_digest(image, "index") for image in IMAGES}
DATED = "python-2.7.18-20261206"  # what the fake `build.py dated-tag` says
FAKE_DOCKER = """echo "docker $*" >> "%(log)s"
if [ "$1 $2 $3" = "buildx imagetools inspect" ]; then
  case "$4" in
    */%(runtime)s:*) echo '{"schemaVersion": 2, "digest": "%(runtime_index)s", "manifests": []}' ;;
    */%(builder)s:*) echo '{"schemaVersion": 2, "digest": "%(builder_index)s", "manifests": []}' ;;
    *) exit 1 ;;
  esac
fi"""
FAKE_COSIGN = """echo "cosign $*" >> "%(log)s"
while [ $# -gt 0 ]; do
  if [ "$1" = --predicate ] && [ ! -f "$2" ]; then echo "cosign: no $2" >&2; exit 1; fi
  shift
done"""


def artifact_step(job, action, prefix):
    key = "name" if action == "upload" else "pattern"
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/%s-artifact@" % action)
               and s["with"][key].startswith(prefix)]
    return step


def push_output(monkeypatch, capsys, argv, arch):
    """What `build.py push ... --json` prints, pushing the placeholder variant built on arch."""
    (variant,) = matrix.select(matrix.load(), [PLACEHOLDERS["matrix.variant"]])

    def chunks(ref):
        repo, tag = ref.rsplit(":", 1)
        return [{"status": "Pushed"},
                {"aux": {"Tag": tag, "Digest": pushed_digest(repo.rsplit("/", 1)[1], arch), "Size": 1}}]

    engine = FakeEngine({images.image_name(variant): current_image(variant),
                         images.runtime_image_name(variant): current_image(variant)}, chunks)
    monkeypatch.setattr(images, "client", lambda: engine)
    monkeypatch.delenv(publish.ENV_USER, raising=False)
    monkeypatch.delenv(publish.ENV_PASSWORD, raising=False)
    assert cli.main(argv) == 0
    return capsys.readouterr().out


class Published(object):
    """The publish job's workspace (work), its env, and the fakes' log."""


@pytest.fixture
def published(monkeypatch, capsys, tmp_path):
    """Each architecture's build job ran its push step (with what the real `build.py push
    --json` prints, pushing through a fake engine); the publish job got their pushed/ files
    as the artifacts hand them over, checked them and made the tags, against fake docker and
    build.py."""
    jobs = load_workflow("images.yml")["jobs"]
    build, job = jobs["build"], jobs["publish"]
    push = the_step(build, "push")
    upload, download = artifact_step(build, "upload", "pushed-"), artifact_step(job, "download", "pushed-")
    assert build["steps"].index(push) < build["steps"].index(upload)
    assert download["with"]["merge-multiple"] is True
    out = Published()
    out.work, out.log, out.bin = tmp_path / "publish", tmp_path / "log", tmp_path / "bin"
    for arch in ARCHS:
        placeholders = dict(PLACEHOLDERS, **{"matrix.arch": arch})
        (argv,) = [argv for _l, argv in build_py_calls({"jobs": {"build": dict(build, steps=[push])}},
                                                      placeholders)]
        # Under this architecture's tags, which the publish job does not read: it joins digests.
        assert cli.parser().parse_args(argv).tag_suffix == "-" + arch
        printed = tmp_path / ("push-%s.json" % arch)
        printed.write_text(push_output(monkeypatch, capsys, argv, arch))
        built = tmp_path / ("build-" + arch)
        step_env = {k: expand(v, placeholders) for k, v in dict(build["env"], **push["env"]).items()
                    if k in SHELL_VARIABLE.findall(push["run"])}
        p = run_step(push, built, step_env, tools(tmp_path / ("bin-" + arch), python='cat "%s"' % printed))
        assert p.returncode == 0, p.stderr
        assert p.stdout.splitlines() == json.loads(printed.read_text())[0]["refs"]
        # One file uploaded: the artifact holds it alone, downloaded into the download's path.
        assert fnmatch.fnmatch(expand(upload["with"]["name"], placeholders),
                               expand(download["with"]["pattern"]))
        sent = built / expand(upload["with"]["path"], placeholders)
        (out.work / download["with"]["path"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(sent, out.work / download["with"]["path"] / sent.name)
    (entry,) = [e for e in json.loads(ci.matrix_json())["include"]
                if e["variant"] == PLACEHOLDERS["matrix.variant"]]
    out.env = {k: expand(v, dict(PLACEHOLDERS, **{"matrix.tags": entry["tags"]}))
               for k, v in job["env"].items()}
    out.env.update(GITHUB_OUTPUT=str(tmp_path / "github-output"),
                   GITHUB_STEP_SUMMARY=str(tmp_path / "summary"))
    p = run_step(the_step(job, step_id="pushed"), out.work, out.env)
    assert p.returncode == 0, p.stderr
    assert github_output(tmp_path / "github-output") == {"complete": "true"}
    tools(out.bin, docker=FAKE_DOCKER % dict(
        log=out.log, builder=IMAGES[0], runtime=IMAGES[1], builder_index=INDEX[IMAGES[0]],
        runtime_index=INDEX[IMAGES[1]]), python='echo "python $*" >> "%s"\necho %s' % (out.log, DATED))
    p = run_step(the_step(job, "create the multi-arch tags"), out.work, out.env, out.bin)
    assert p.returncode == 0, p.stderr
    return out


@needs_bash_and_jq
def test_the_publish_job_joins_the_digests_the_build_jobs_pushed(published, tmp_path):
    job = load_workflow("images.yml")["jobs"]["publish"]
    # Nothing is joined, dated or signed unless both architectures were pushed by this run.
    check = the_step(job, step_id="pushed")
    after = job["steps"][job["steps"].index(check) + 1:]
    assert all(s["if"].replace(" ", "") == "steps.pushed.outputs.complete=='true'" for s in after)
    assert all(s in after for s in job["steps"] if is_publish_step(s))
    half = tmp_path / "half"
    (half / "pushed").mkdir(parents=True)
    shutil.copy(published.work / "pushed" / "amd64", half / "pushed" / "amd64")
    output = tmp_path / "half-output"
    p = run_step(check, half, dict(published.env, GITHUB_OUTPUT=str(output)))
    assert p.returncode == 0 and github_output(output) == {"complete": "false"}
    assert p.stdout.startswith("::warning::python-2.7 was not pushed for arm64")

    registry = "%(REGISTRY)s/%(REGISTRY_NAMESPACE)s" % published.env
    tags = published.env["TAGS"].split()
    log = published.log.read_text().splitlines()
    # Every moving tag names the index of the two digests pushed; the dated tag names that index.
    assert [line for line in log if line.startswith("docker buildx imagetools create ")] == [
        "docker buildx imagetools create %s %s/%s@%s %s/%s@%s" % (
            " ".join("--tag %s/%s:%s" % (registry, image, tag) for tag in tags),
            registry, image, pushed_digest(image, "amd64"), registry, image, pushed_digest(image, "arm64"))
        for image in IMAGES] + [
        "docker buildx imagetools create --tag %s/%s:%s %s/%s@%s" % (
            registry, image, DATED, registry, image, INDEX[image]) for image in IMAGES]
    # Asked of `build.py dated-tag`, with both indexes.
    (called,) = [line.split()[1:] for line in log if line.startswith("python ")]
    assert called[0] == "src/build.py"
    args = cli.parser().parse_args(called[1:])
    assert (args.command, args.variant, args.registry, args.day) == (
        "dated-tag", published.env["VARIANT"], registry, published.env["DAY"])
    assert publish.parse_digests(args.digest) == INDEX
    summary = (tmp_path / "summary").read_text()
    for image in IMAGES:
        assert "| %s/%s | %s %s | %s |" % (registry, image, " ".join(tags), DATED, INDEX[image]) in summary


@needs_bash_and_jq
def test_every_digest_is_signed_and_attested_in_the_publish_job(published):
    workflow = load_workflow("images.yml")
    jobs = workflow["jobs"]
    build, job = jobs["build"], jobs["publish"]
    # The OIDC identity cosign signs with: this job's, and no other's.
    assert "id-token" not in workflow["permissions"]
    assert [name for name, j in jobs.items() if "id-token" in (j.get("permissions") or {})] == ["publish"]
    assert job["permissions"]["id-token"] == "write"
    sign = the_step(job, "sign and attest every digest")
    provenance = the_step(job, "provenance statement of this run")
    (installer,) = [s for s in job["steps"] if s.get("uses", "").startswith("sigstore/cosign-installer@")]
    assert RELEASE.fullmatch(installer["with"]["cosign-release"])
    assert job["steps"].index(installer) < job["steps"].index(sign)
    assert job["steps"].index(provenance) < job["steps"].index(sign)
    assert re.search(r">\s*provenance\.json$", provenance["run"].strip())
    (published.work / "provenance.json").write_text("{}")

    # The SBOMs and scan records the build jobs wrote, uploaded and the publish job downloaded.
    upload, download = artifact_step(build, "upload", "records-"), artifact_step(job, "download", "records-")
    assert download["with"]["merge-multiple"] is True
    (variant,) = matrix.select(matrix.load(), [PLACEHOLDERS["matrix.variant"]])
    scanned = {images.image_name(variant, "whiskey"): IMAGES[0],
               images.runtime_image_name(variant, "whiskey"): IMAGES[1]}
    records = {}
    for arch in ARCHS:
        placeholders = dict(PLACEHOLDERS, **{"matrix.arch": arch})
        assert fnmatch.fnmatch(expand(upload["with"]["name"], placeholders),
                               expand(download["with"]["pattern"]))
        for _line, argv in build_py_calls({"jobs": {"build": build}}, placeholders):
            if argv[0] == "sbom":
                args = cli.parser().parse_args(argv)
                records[IMAGES[args.runtime], arch, "cyclonedx"] = args.output
        for _j, scan in trivy_steps({"jobs": {"build": build}}):
            image = scanned[expand(scan["with"]["image-ref"])]
            records[image, arch, "vuln"] = expand(scan["with"]["output"], placeholders)
    assert len(records) == len(IMAGES) * len(ARCHS) * 2
    for key, path in records.items():
        assert any(fnmatch.fnmatch(path, g) for g in upload["with"]["path"].split()), path
        records[key] = os.path.join(download["with"]["path"], path)
        (published.work / records[key]).parent.mkdir(parents=True, exist_ok=True)
        (published.work / records[key]).write_text("{}")

    tools(published.bin, cosign=FAKE_COSIGN % dict(log=published.log))
    p = run_step(sign, published.work, published.env, published.bin)
    assert p.returncode == 0, p.stderr
    signed, attested = [], set()
    for line in published.log.read_text().splitlines():
        words = line.split()
        if words[0] != "cosign":
            continue
        assert "--yes" in words, line
        if words[1] == "sign":
            signed.append((words[-1], "--recursive" in words))
        else:
            assert words[1] == "attest", line
            attested.add((words[-1], words[words.index("--type") + 1],
                          words[words.index("--predicate") + 1]))
    registry = "%(REGISTRY)s/%(REGISTRY_NAMESPACE)s" % published.env
    # The index and, --recursive, each platform's image.
    assert signed == [("%s/%s@%s" % (registry, image, INDEX[image]), True) for image in IMAGES]
    expected = set()
    for image in IMAGES:
        repo = "%s/%s" % (registry, image)
        expected.add((repo + "@" + INDEX[image], "slsaprovenance1", "provenance.json"))
        for arch in ARCHS:
            for digest in (pushed_digest(image, arch), INDEX[image]):
                expected.add((repo + "@" + digest, "slsaprovenance1", "provenance.json"))
                expected.add((repo + "@" + digest, "cyclonedx", records[image, arch, "cyclonedx"]))
                expected.add((repo + "@" + digest, "vuln", records[image, arch, "vuln"]))
    assert attested == expected


@needs_bash_and_jq
def test_the_report_names_a_variant_that_is_not_published_and_stops_there(tmp_path):
    step = the_step(load_workflow("images.yml")["jobs"]["report"], step_id="published")
    bindir = tools(tmp_path / "bin",
                   docker='echo "ERROR: REGISTRY/ns/whiskey:python-3.11.2: not found" >&2; exit 1',
                   cosign="echo cosign must not run >&2; exit 3")
    output, summary = tmp_path / "output", tmp_path / "summary"
    p = run_step(step, tmp_path / "work", {
        "REGISTRY": "example.invalid", "REGISTRY_NAMESPACE": "ns", "PYTHON": "3.11.2",
        "VARIANT": "python-3.11", "IDENTITY": "x", "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary)}, bindir)
    assert p.returncode == 0, p.stderr
    assert github_output(output) == {"found": "false"}
    assert summary.read_text() == (
        "### python-3.11: example.invalid/ns/whiskey:python-3.11.2 is not published\n")
