"""CI workflows, the CI build matrix and the publish logic, checked without Docker or network.

The workflows are only ever run by GitHub, so what can go wrong in them
(a renamed subcommand, a tox env that no longer exists, publishing from a
pull request or a fork, an unpinned action, an expression expanded inside a
script) is checked here, against the real parser and tox.ini.  The publish
logic runs against a fake engine; tests/behaviour/test_publish.py does the
real round trip through a registry on 127.0.0.1.
"""

import configparser
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from whiskey import UsageError, ci, cli, context, images, matrix, publish, render, settings

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
}
BUILD_PY = re.compile(r"(?:\bpython3?\s+|\./)build\.py\b([^)|;&>\n]*)")
SHELL_VARIABLE = re.compile(r"\$\{?(\w+)\}?")
# The parts of the decision to publish: not a pull request, not a fork, the
# default branch (or the schedule, which runs on it).
PUBLISH_GUARD = ("github.event_name != 'pull_request'",
                 "github.event.repository.fork == false",
                 "format('refs/heads/{0}', github.event.repository.default_branch)")


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


def run_lines(workflow):
    for job_name, step in steps(workflow):
        for line in step.get("run", "").splitlines():
            yield job_name, step, line


def step_env(workflow, job_name, step):
    """The environment a step's script sees from the workflow: workflow, job, step `env:`."""
    env = dict(workflow.get("env") or {})
    env.update(workflow["jobs"][job_name].get("env") or {})
    env.update(step.get("env") or {})
    return env


def build_py_calls(workflow):
    """(line, argv after build.py) for each build.py call in the workflow's run steps.

    Shell variables are replaced by their `env:` values, expressions by PLACEHOLDERS.
    """
    calls = []
    for job, step, line in run_lines(workflow):
        env = step_env(workflow, job, step)
        for m in BUILD_PY.finditer(line):
            unset = [v for v in SHELL_VARIABLE.findall(m.group(1)) if v not in env]
            assert not unset, "%r uses %s, which no `env:` sets" % (line, unset)
            text = SHELL_VARIABLE.sub(lambda v, env=env: str(env[v.group(1)]), m.group(1))
            unknown = [e for e in EXPRESSION.findall(text) if e not in PLACEHOLDERS]
            assert not unknown, "no placeholder for %s in %r: add one to PLACEHOLDERS" % (
                unknown, line)
            text = EXPRESSION.sub(lambda e: PLACEHOLDERS[e.group(1)], text)
            calls.append((line.strip(), shlex.split(text)))
    return calls


def tox_envs():
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "tox.ini"))
    envs = {s.split(":", 1)[1] for s in config.sections() if s.startswith("testenv:")}
    envs |= {e.strip() for e in config.get("tox", "envlist").split(",")}
    return envs


def is_publish_step(step):
    return ("build.py push" in step.get("run", "")
            or "login-action" in step.get("uses", "")
            or "REGISTRY" in json.dumps(step.get("env", {})))


# -- the workflows -------------------------------------------------------------------------------

def test_the_workflows_exist():
    names = [os.path.basename(f) for f in workflow_files()]
    assert "lint.yml" in names and "images.yml" in names


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
    for line, argv in build_py_calls(yaml.safe_load(open(path))):
        words = [w for w in argv if not w.startswith("-")]
        assert words and words[0] in commands, "%s: %r names no build.py subcommand" % (path, line)
        try:
            args = p.parse_args(argv)
        except SystemExit:
            pytest.fail("%s: build.py rejects %r (see the usage error above)" % (path, line))
        if getattr(args, "variants", None):
            matrix.select(matrix.load(), args.variants)  # the placeholder is a real variant


def test_the_workflows_call_the_commands_ci_needs():
    called = {}
    for name in ("lint.yml", "images.yml"):
        called[name] = [argv[0] for _line, argv in build_py_calls(load_workflow(name))]
    assert called["lint.yml"] == ["render"]
    assert called["images.yml"] == ["ci-matrix", "build", "test", "sbom", "sbom", "push"]


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


def test_images_workflow_triggers_include_a_weekly_schedule():
    on = triggers(load_workflow("images.yml"))
    assert {"push", "pull_request", "workflow_dispatch", "schedule"} <= set(on)
    crons = [entry["cron"] for entry in on["schedule"]]
    assert len(crons) == 1
    fields = crons[0].split()
    assert len(fields) == 5 and fields[4] not in ("*", "*/1"), "not weekly: %r" % crons[0]


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
    (step,) = [s for s in jobs[job]["steps"] if s.get("id") == m.group(1)]
    assert [argv for _l, argv in build_py_calls({"jobs": {job: {"steps": [step]}}})] == [["ci-matrix"]]


def publish_decision(jobs):
    """(job, expression): the one job output that says whether this run publishes."""
    (decision,) = [(name, job["outputs"]["publish"]) for name, job in jobs.items()
                   if "publish" in job.get("outputs", {})]
    return decision


def test_publishing_is_decided_once_never_for_pull_requests_or_forks():
    jobs = load_workflow("images.yml")["jobs"]
    decider, expression = publish_decision(jobs)
    for part in PUBLISH_GUARD:
        assert part in expression, "the publish decision lacks %r" % part
    gate = "needs.%s.outputs.publish == 'true'" % decider
    # The build job builds and tests on every event; every step after the
    # first publishing one is gated on the decision, and nothing before it is.
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
    # Any other job that logs in or pushes is gated as a whole, and runs even
    # when one variant's build failed (so that it does not hold up the others).
    for name, job in jobs.items():
        if name != "build" and any(is_publish_step(s) for s in job.get("steps", [])):
            assert gate in job.get("if", ""), name
            assert "!cancelled()" in job["if"], name
            assert decider in job["needs"], name


def test_the_registry_comes_from_settings_and_credentials_from_secrets():
    workflow = load_workflow("images.yml")
    logins = [s for _j, s in steps(workflow) if "login-action" in s.get("uses", "")]
    assert logins
    (push,) = [argv for _l, argv in build_py_calls(workflow) if argv[0] == "push"]
    registry = cli.parser().parse_args(push).registry
    assert publish.parse_registry(registry) == registry
    for login in logins:
        for key in ("username", "password"):
            assert re.fullmatch(r"\$\{\{\s*secrets\.\w+\s*\}\}", login["with"][key]), key
        # build.py pushes to the registry host the action logged in to.
        logged_in = EXPRESSION.sub(lambda e: PLACEHOLDERS[e.group(1)], login["with"]["registry"])
        assert registry.split("/")[0] == logged_in


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_no_secret_is_echoed_or_reaches_a_shell(path):
    workflow = yaml.safe_load(open(path))
    for _job, step in steps(workflow):
        # Secrets go to the login action's inputs, nowhere else: not into a
        # script (where they could be printed) and not into its environment.
        assert "secrets." not in step.get("run", ""), step
        assert "secrets." not in json.dumps(step.get("env", {})), step
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
    (step,) = [s for s in jobs["matrix"]["steps"] if s.get("id") == "matrix"]
    assert '"ubuntu-24.04-arm"' in step["run"] and '"ubuntu-24.04"' in step["run"]
    used = [s.get("uses", "") for _j, s in steps({"jobs": jobs})]
    assert not [u for u in used if "qemu" in u], "emulation instead of native arm64 runners"


@pytest.mark.skipif(not (shutil.which("bash") and shutil.which("jq")),
                    reason="runs the step as GitHub's runners do, with bash and jq")
def test_the_job_list_step_gives_every_variant_on_both_architectures(env, tmp_path):
    (step,) = [s for s in load_workflow("images.yml")["jobs"]["matrix"]["steps"]
               if s.get("id") == "matrix"]
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python").write_text('#!/bin/sh\nexec "%s" "$@"\n' % sys.executable)
    (bindir / "python").chmod(0o755)
    output = tmp_path / "github-output"
    run_env = dict(env, PATH=str(bindir) + os.pathsep + env.get("PATH", ""),
                   GITHUB_OUTPUT=str(output))
    p = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ROOT, env=run_env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    variants = json.loads(outputs["variants"])["include"]
    assert variants == json.loads(ci.matrix_json())["include"]
    assert json.loads(outputs["matrix"])["include"] == [
        dict(v, arch=arch, runner=runner) for v in variants
        for arch, runner in (("amd64", "ubuntu-24.04"), ("arm64", "ubuntu-24.04-arm"))]


def test_each_architecture_pushes_suffixed_tags_that_the_manifest_job_joins():
    workflow = load_workflow("images.yml")
    jobs = workflow["jobs"]
    (push,) = [argv for _l, argv in build_py_calls(workflow) if argv[0] == "push"]
    assert cli.parser().parse_args(push).tag_suffix == "-" + PLACEHOLDERS["matrix.arch"]
    (manifest,) = [name for name, job in jobs.items()
                   if any("imagetools create" in s.get("run", "") for s in job.get("steps", []))]
    job = jobs[manifest]
    assert "build" in job["needs"]
    assert job["strategy"]["fail-fast"] is False
    (create,) = [s for s in job["steps"] if "imagetools create" in s.get("run", "")]
    for name in (publish.PUBLISHED_NAME, publish.PUBLISHED_NAME + "-runtime"):
        assert re.search(r"\b%s\b" % re.escape(name), create["run"]), name
    assert "-amd64" in create["run"] and "-arm64" in create["run"]


def test_every_pushed_image_gets_an_spdx_sbom_attached():
    build = load_workflow("images.yml")["jobs"]["build"]
    syft = [s for s in build["steps"] if s.get("uses", "").startswith("anchore/sbom-action@")]
    images_scanned = sorted(EXPRESSION.sub(r"\1", s["with"]["image"]) for s in syft)
    assert images_scanned == ["steps.refs.outputs.builder", "steps.refs.outputs.runtime"]
    assert all(s["with"]["format"] == "spdx-json" and s["with"]["artifact-name"] for s in syft)
    (attach,) = [s for s in build["steps"] if "oras attach" in s.get("run", "")]
    assert attach["run"].count("application/spdx+json") >= 2
    # After the push, in the same job (the SBOMs describe what was pushed).
    order = [i for i, s in enumerate(build["steps"])
             if "build.py push" in s.get("run", "") or s in syft or s is attach]
    assert "build.py push" in build["steps"][order[0]]["run"]


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
