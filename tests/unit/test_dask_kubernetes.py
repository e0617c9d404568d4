"""Runbook 04's Kubernetes Dask cluster (a `cloud` block: no cluster here) against the Dask Kubernetes
operator's own definitions, from the installed dask-kubernetes package: the DaskCluster it applies is
valid for the operator's CRD schema with no field the API server would drop, its scheduler Service,
probes and worker name are the operator's template's (``make_cluster_spec``), and the scheduler
address the page gives is that Service's."""

import os
import re
import string
from importlib import resources

import jsonschema
import pytest
import yaml

from tests.unit.runbook_markdown import blocks, read

IMAGE = "registry.example.com/customer-scoring:latest"
PAGE = "04-stacks.md"


def applied_cluster() -> dict:
    """The DaskCluster the page's `kubectl apply ... <<EOF` heredoc applies, as bash expands it."""
    for block in blocks(read("en", PAGE), PAGE):  # the Spanish page's blocks are the same bytes
        if block.marker != "cloud":
            continue
        match = re.search(r"kubectl apply -n scoring -f - <<EOF\n(.*?)\nEOF\n", block.body, re.S)
        if match:
            text = string.Template(match.group(1).replace(r"\$(", "$$(")).substitute(DASK_IMAGE=IMAGE)
            return yaml.safe_load(text)
    raise AssertionError(f"no `kubectl apply -n scoring -f - <<EOF` block on {PAGE}")


def crd_schema() -> dict:
    chart = resources.files("dask_kubernetes") / "operator/deployment/helm/dask-kubernetes-operator"
    crd = yaml.safe_load((chart / "crds/daskcluster.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return version["schema"]["openAPIV3Schema"]


def pruned(value, schema: dict, where: str = "") -> list[str]:
    """Fields of ``value`` the API server would silently drop: not in the schema's properties."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(value, dict):
        known = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        out = []
        for key, item in value.items():
            if key in known:
                out += pruned(item, known[key], f"{where}.{key}")
            elif isinstance(extra, dict):
                out += pruned(item, extra, f"{where}.{key}")
            elif extra is not True:
                out.append(f"{where}.{key}")
        return out
    if isinstance(value, list) and "items" in schema:
        return [
            path for i, item in enumerate(value) for path in pruned(item, schema["items"], f"{where}[{i}]")
        ]
    return []


@pytest.fixture(scope="module")
def cluster() -> dict:
    return applied_cluster()


@pytest.fixture(scope="module")
def template() -> dict:
    os.environ.setdefault("KUBECONFIG", os.devnull)  # nothing here talks to a cluster
    from dask_kubernetes.operator import make_cluster_spec

    return make_cluster_spec("scoring", image=IMAGE, n_workers=4)


def test_the_runbooks_dask_cluster_is_valid_for_the_operators_crd_and_nothing_is_dropped(cluster):
    assert (cluster["apiVersion"], cluster["kind"]) == ("kubernetes.dask.org/v1", "DaskCluster")
    schema = crd_schema()
    body = {key: value for key, value in cluster.items() if key not in ("apiVersion", "kind", "metadata")}
    jsonschema.Draft7Validator(schema).validate(body)
    assert pruned(body, schema) == [], "fields the API server would drop without a word"
    broken = {**body, "spec": {**body["spec"], "worker": {**body["spec"]["worker"], "replica": 4}}}
    assert pruned(broken, schema) == [".spec.worker.replica"], "a misspelt field is caught"


def test_scheduler_service_probes_and_worker_name_are_the_operators_template(cluster, template):
    ours, theirs = cluster["spec"]["scheduler"], template["spec"]["scheduler"]
    assert ours["service"] == theirs["service"], "the Service must select the operator's scheduler pod"
    (mine,), (its,) = ours["spec"]["containers"], theirs["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe"):  # Ready (kubectl wait) once /health answers
        assert mine[probe] == its[probe], probe
    assert mine["ports"] == its["ports"]
    (worker,), (its_worker,) = (
        cluster["spec"]["worker"]["spec"]["containers"],
        template["spec"]["worker"]["spec"]["containers"],
    )
    assert worker["name"] == its_worker["name"] and worker["image"] == IMAGE
    # the operator retires workers by the name it gives them when it scales a group down
    name = its_worker["args"].index("--name")
    assert worker["args"][worker["args"].index("--name") :][:2] == its_worker["args"][name : name + 2]
    assert (
        worker["args"][:2] == ["dask", "worker"]
        and worker["args"][worker["args"].index("--nthreads") + 1] == "1"
    )


def test_the_scheduler_address_the_page_gives_is_the_operators_service(cluster):
    text = read("en", PAGE)
    name, namespace = cluster["metadata"]["name"], "scoring"
    port = next(
        p["port"] for p in cluster["spec"]["scheduler"]["service"]["ports"] if p["name"] == "tcp-comm"
    )
    # dask_kubernetes.operator.controller names the scheduler's Service "<cluster>-scheduler"
    address = f"tcp://{name}-scheduler.{namespace}.svc.cluster.local:{port}"
    assert f"dask.scheduler_address: {address}" in text, address
    assert f"svc/{name}-scheduler {port}:{port}" in text
