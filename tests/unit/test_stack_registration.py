"""Every stack spec registered against a throwaway LOCAL ZenML store (no server, no cloud call): each
component's configuration goes through its ZenML flavor's own config class, and the per-stack run
settings through ZenML's settings classes, so a typo fails here.

ZenML 0.98 registers the flavors of every integration in a new store whether or not the
integration's packages are installed (FlavorRegistry.register_integration_flavors only imports the
flavor modules, which need pydantic and ZenML alone); `Client().create_stack_component` validates
the configuration with that flavor's config class. The flavor *implementations* (sagemaker,
google-cloud-aiplatform, azure-ai-ml, kubernetes, slack_sdk) are not installed here and are not
needed to register or validate: only to run on that stack.

One subprocess does all the registering (its ZENML_CONFIG_PATH points at a temp dir before ZenML
is imported) and prints what happened as JSON."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import PROJECT_ROOT, isolated_env, run_json

# The cloud specs this project has (a Copier answer, `cloud_providers`, picks them).
CLOUD_SPECS = tuple(
    name
    for name in ("aws", "gcp", "azure", "kubernetes")
    if (PROJECT_ROOT / "stacks" / f"{name}.yaml").is_file()
)
# What `terraform output` (or the team's admin) provides; values shaped like the real thing so the
# flavors' validators (bucket schemes, registry URIs) judge them.
EXAMPLE_ENV = {
    "TEAM_S3_BUCKET": "team-artifacts",
    "TEAM_S3_ENDPOINT_URL": "http://minio.internal:9000",
    "TEAM_S3_ACCESS_KEY_ID": "example-key",
    "TEAM_S3_SECRET_ACCESS_KEY": "example-secret",
    "TEAM_MLFLOW_TRACKING_URI": "https://mlflow.internal",
    "TEAM_MLFLOW_USERNAME": "example-user",
    "TEAM_MLFLOW_PASSWORD": "example-password",
    "MLFLOW_TRACKING_URI": "https://mlflow.example.com",
    "MLFLOW_TRACKING_USERNAME": "example-user",
    "MLFLOW_TRACKING_PASSWORD": "example-password",
    "SLACK_BOT_TOKEN": "example-slack-token",
    "SLACK_CHANNEL_ID": "C0123456789",
    "AWS_REGION": "eu-west-1",
    "AWS_S3_BUCKET": "acme-zenml-artifacts",
    "AWS_ECR_REGISTRY_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "AWS_CODEBUILD_PROJECT": "acme-zenml-image-builds",
    "AWS_SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/acme-zenml-sagemaker",
    "GCP_PROJECT_ID": "acme-ml",
    "GCP_REGION": "europe-west1",
    "GCP_BUCKET": "acme-zenml-artifacts",
    "GCP_REGISTRY_URI": "europe-west1-docker.pkg.dev/acme-ml/zenml",
    "GCP_SERVICE_ACCOUNT": "zenml@acme-ml.iam.gserviceaccount.com",
    "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
    "AZURE_RESOURCE_GROUP": "acme-zenml",
    "AZURE_ML_WORKSPACE": "acme-zenml",
    "AZURE_STORAGE_CONTAINER": "zenml",
    "AZURE_STORAGE_ACCOUNT": "acmezenmlartifacts",
    "AZURE_STORAGE_ACCOUNT_KEY": "example-secret",
    "AZURE_REGISTRY_URI": "acmezenml.azurecr.io",
    "AZURE_AKS_CONTEXT": "acme-zenml-aks",
    "K8S_CONTEXT": "acme-cluster",
    "K8S_NAMESPACE": "zenml",
    "K8S_S3_BUCKET": "zenml",
    "K8S_S3_ENDPOINT_URL": "http://minio.zenml.svc:9000",
    "K8S_S3_ACCESS_KEY_ID": "example-key",
    "K8S_S3_SECRET_ACCESS_KEY": "example-secret",
    "K8S_REGISTRY_URI": "registry.example.com/zenml",
}

SCRIPT = r"""
import json, sys
from pathlib import Path
from ml.settings import ConfigError
from stacks.apply import apply_stack, check_components
from stacks.run_settings import check_run_settings
from stacks.spec import FLAVORS, StackSpec, load_spec
from zenml.client import Client

client = Client()
out = {"applied": {}, "errors": {}, "registered": {}}
for name in sys.argv[1:]:
    out["applied"][name] = [apply_stack(load_spec(name, Path(".")), activate=False) for _ in range(2)]
for stack in client.list_stacks(size=100).items:
    out["registered"][stack.name] = {
        t.value: [c[0].name, c[0].flavor_name, c[0].configuration] for t, c in stack.components.items()
    }
out["flavors"] = {t: sorted(f.name for f in client.list_flavors(type=t, size=1000).items) for t in FLAVORS}

# The mistakes are made on a spec of their own, whatever cloud specs this project has.
aws = StackSpec.model_validate({"name": "mistakes", "components": {
    "orchestrator": {"name": "m-sagemaker", "flavor": "sagemaker",
                     "config": {"execution_role": "arn:aws:iam::123456789012:role/r"}},
    "artifact_store": {"name": "m-s3", "flavor": "s3", "config": {"path": "s3://acme/zenml"}},
    "image_builder": {"name": "m-codebuild", "flavor": "aws", "config": {"code_build_project": "p"}},
    "step_operator": {"name": "aws-sagemaker-step-operator", "flavor": "sagemaker",
                      "config": {"role": "arn:aws:iam::123456789012:role/r"}},
    "experiment_tracker": {"name": "m-mlflow", "flavor": "mlflow", "config": {
        "tracking_uri": "https://mlflow.example.com", "tracking_username": "{{m.username}}",
        "tracking_password": "{{m.password}}"}},
}})
def broken(kind, **config):
    component = aws.components[kind]
    changed = component.model_copy(update={"config": {**component.config, **config}})
    return aws.model_copy(update={"components": {**aws.components, kind: changed}})
cases = {
    "typo": broken("artifact_store", pathh="s3://x"),
    "bad_path": broken("artifact_store", path="acme-bucket/zenml"),
    "plain_secret": broken("experiment_tracker", tracking_password="hunter2"),
    "missing_required": aws.model_copy(update={"components": {**aws.components,
        "image_builder": aws.components["image_builder"].model_copy(update={"config": {}})}}),
}
for case, spec in cases.items():
    try:
        check_components(spec, client)
        out["errors"][case] = None
    except ConfigError as exc:
        out["errors"][case] = str(exc)
bad_settings = {
    "settings_typo": {"settings": {"docker": {"requirement": "requirements.lock"}}},
    "orchestrator_typo": {"settings": {"orchestrator": {"instance_typ": "ml.m5.large"}}},
    "wrong_operator": {"steps": {"train_candidate_0": {"step_operator": "gcp-vertex-step-operator"}}},
    "not_a_component": {"settings": {"model_deployer": {}}},
}
for case, raw in bad_settings.items():
    try:
        check_run_settings(raw, aws, client)
        out["errors"][case] = None
    except ConfigError as exc:
        out["errors"][case] = str(exc)
print(json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def registration(tmp_path_factory):
    state = tmp_path_factory.mktemp("registration")
    env = {**isolated_env(state), **EXAMPLE_ENV}
    # A file, not `python -c`: ZenML derives its source root from the main module's file.
    script = state / "register_all.py"
    script.write_text(SCRIPT)
    return run_json(
        [sys.executable, str(script), *CLOUD_SPECS, "team", "local"],
        PROJECT_ROOT,
        {**env, "PYTHONPATH": str(PROJECT_ROOT)},
    )


def spec_variables(name: str) -> set[str]:
    return set(
        re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", (PROJECT_ROOT / "stacks" / f"{name}.yaml").read_text())
    )


@pytest.mark.parametrize("name", [*CLOUD_SPECS, "team", "local"])
def test_spec_registers_every_component_once_and_a_second_apply_changes_nothing(registration, name):
    first, second = registration["applied"][name]
    assert f"created stack {name!r}" in first, first
    assert second == [], f"second apply of {name} changed: {second}"
    spec = (PROJECT_ROOT / "stacks" / f"{name}.yaml").read_text()
    registered = registration["registered"][name]
    for kind, (component, flavor, configuration) in registered.items():
        assert f"name: {component}" in spec and f"flavor: {flavor}" in spec, (kind, component, flavor)
        for value in configuration.values():
            assert "${" not in json.dumps(value), f"{name}.{kind}: unresolved variable in {configuration}"
    assert {"orchestrator", "artifact_store", "experiment_tracker", "model_registry"} <= set(registered)


@pytest.mark.parametrize("name", CLOUD_SPECS)
def test_cloud_specs_have_registry_image_builder_step_operator_and_alerter(registration, name):
    registered = registration["registered"][name]
    expected = {"container_registry", "image_builder", "step_operator", "alerter"}
    assert expected <= set(registered), f"{name} lacks {expected - set(registered)}"
    assert registered["alerter"][2]["slack_token"] == "{{slack.token}}", "secrets are referenced, not written"


def test_secret_values_never_reach_a_component(registration):
    dumped = json.dumps(registration["registered"])
    secrets = ("example-secret", "example-password", "example-slack-token", "example-key")
    assert not [s for s in secrets if s in dumped], "a credential was written into a component"


def test_allowed_flavors_exist_in_the_installed_zenml(registration):
    from stacks.spec import FLAVORS

    for kind, flavors in FLAVORS.items():
        missing = set(flavors) - set(registration["flavors"][kind])
        assert not missing, f"{kind} flavors {missing} are not ZenML flavors: {registration['flavors'][kind]}"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("typo", r"components\.artifact_store\.config\.pathh: unknown key.*did you mean 'path'"),
        ("bad_path", r"components\.artifact_store\.config \(s3\).*s3://"),
        (
            "plain_secret",
            r"config\.tracking_password is a secret field.*\{\{secret_name\.tracking_password\}\}",
        ),
        ("missing_required", r"components\.image_builder\.config \(aws\).*code_build_project"),
        ("settings_typo", r"settings\.docker.*requirement"),
        ("orchestrator_typo", r"settings\.orchestrator: unknown instance_typ; allowed: .*instance_type"),
        (
            "wrong_operator",
            r"steps\.train_candidate_0\.step_operator: 'gcp-vertex-step-operator'.*aws-sagemaker",
        ),
        ("not_a_component", r"settings\.model_deployer: not a setting of this stack"),
    ],
)
def test_mistakes_fail_naming_the_field_and_the_fix(registration, case, expected):
    message = registration["errors"][case]
    assert message is not None, f"{case} was accepted"
    assert re.search(expected, message, re.S), message


def test_example_environment_covers_exactly_the_specs_variables():
    used = set().union(*(spec_variables(name) for name in (*CLOUD_SPECS, "team")))
    assert used == set(EXAMPLE_ENV), (
        f"undocumented: {used - set(EXAMPLE_ENV)}; unused: {set(EXAMPLE_ENV) - used}"
    )


@pytest.mark.parametrize("name", [*CLOUD_SPECS, "team"])
def test_every_spec_has_run_settings(name):
    assert (PROJECT_ROOT / "configs" / "stacks" / f"{name}.yaml").is_file()


def test_spec_dir_and_run_settings_dir_match():
    specs = {path.stem for path in (PROJECT_ROOT / "stacks").glob("*.yaml")}
    settings = {path.stem for path in (PROJECT_ROOT / "configs" / "stacks").glob("*.yaml")}
    assert settings <= specs, f"run settings for stacks without a spec: {settings - specs}"
    assert Path(PROJECT_ROOT / "stacks" / "local.yaml").is_file()
