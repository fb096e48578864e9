"""examples/openshift/*.yaml: they parse, and name images and tags the matrix makes."""

import os
import re

import yaml

from whiskey import matrix, render
from whiskey.matrix import ROOT

EXAMPLES = os.path.join(ROOT, "examples", "openshift")
IMAGE = re.compile(r"(?:^|/)(whiskey(?:-runtime)?):([A-Za-z0-9._-]+)$")


def documents():
    for name in sorted(os.listdir(EXAMPLES)):
        with open(os.path.join(EXAMPLES, name)) as f:
            for doc in yaml.safe_load_all(f):
                yield name, doc


def image_references(node):
    """Every whiskey or whiskey-runtime reference: from/name fields and Dockerfile FROM lines."""
    if isinstance(node, dict):
        if node.get("kind") in ("ImageStreamTag", "DockerImage") and IMAGE.search(node.get("name", "")):
            yield IMAGE.search(node["name"]).groups()
        for key, value in node.items():
            if key == "dockerfile":
                for line in value.splitlines():
                    if line.startswith("FROM ") and IMAGE.search(line.split()[1]):
                        yield IMAGE.search(line.split()[1]).groups()
            yield from image_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from image_references(item)


def test_every_example_parses_as_kubernetes_objects():
    found = list(documents())
    assert len(found) >= 6
    for name, doc in found:
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"]["name"], name


def test_every_image_named_is_one_the_matrix_makes():
    tags = {t for v in matrix.load() for t in v.tags}
    refs = [ref for _, doc in documents() for ref in image_references(doc)]
    assert {repo for repo, _ in refs} == {"whiskey", "whiskey-runtime"}
    for repo, tag in refs:
        assert tag in tags, "%s:%s is not a tag of any variant" % (repo, tag)


def test_the_chained_runtime_build_copies_what_the_runtime_image_expects():
    (build,) = [doc for name, doc in documents()
                if name == "buildconfig-runtime.yaml" and doc["kind"] == "BuildConfig"]
    (_, tag), = {ref for ref in image_references(build) if ref[0] == "whiskey-runtime"}
    (variant,) = [v for v in matrix.load() if tag in v.tags]
    dockerfile = render.render_variant(variant)["Dockerfile"]
    label = re.search(r'io\.openshift\.s2i\.assemble-input-files="([^"]+)"', dockerfile).group(1)
    expected = [spec.rsplit(":", 1)[0] for spec in label.split(";")]
    copied = [p["sourcePath"][:-len("/.")] for p in build["spec"]["source"]["images"][0]["paths"]]
    assert copied == expected
    for path in expected:  # and the inline Dockerfile puts each where it came from
        assert re.search(r"COPY --chown=1001:0 \S+ %s$" % re.escape(path),
                         build["spec"]["source"]["dockerfile"], re.M), path
