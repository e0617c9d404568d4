from pathlib import Path

import pytest

from ml.settings import ConfigError
from stacks.spec import available_specs, load_spec


def test_local_spec_resolves_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("PROJECT_STATE_DIR", raising=False)
    spec = load_spec("local", tmp_path)
    assert spec.components["artifact_store"].config["path"] == f"{tmp_path}/.state/artifacts"
    monkeypatch.setenv("PROJECT_STATE_DIR", "/elsewhere")
    assert load_spec("local", tmp_path).components["artifact_store"].config["path"] == "/elsewhere/artifacts"


def test_local_spec_has_mlflow_tracking():
    spec = load_spec("local", Path("."))
    assert spec.components["experiment_tracker"].flavor == "mlflow"
    assert "local" in available_specs()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\ncomponents:\n  orchestrator: {name: o, flavor: local}\n", "artifact store"),
        ("name: x\ncomponents:\n  orkestrator: {name: o, flavor: local}\n", "components.orkestrator"),
        ("name: x\nbogus: 1\ncomponents: {}\n", "bogus: unknown key"),
    ],
)
def test_invalid_specs_are_rejected(tmp_path, text, expected):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_spec("bad", tmp_path, spec_dir=tmp_path)


def test_unknown_spec_lists_the_available_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"no stack spec 'nope'.*available: \[.*'local'.*\]"):
        load_spec("nope", tmp_path)


def test_unset_variable_is_named(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "name: s\ncomponents:\n  orchestrator: {name: o, flavor: local}\n"
        "  artifact_store: {name: a, flavor: s3, config: {path: '${BUCKET_URL}'}}\n"
    )
    with pytest.raises(ConfigError, match=r"\$\{BUCKET_URL\}, which is not set"):
        load_spec("s", tmp_path, spec_dir=tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: x\ncomponents:\n  orchestrator: {name: o, flavor: local}\n"
            "  artifact_store: {name: a, flavor: S3}\n",
            r"components\.artifact_store\.flavor: 'S3' is not .*allowed: local, s3, gcp, azure",
        ),
        (
            "name: x\nsecrets:\n  s: {password: hunter2}\ncomponents:\n"
            "  orchestrator: {name: o, flavor: local}\n  artifact_store: {name: a, flavor: local}\n",
            r"secrets\.s\.password: secret values come from the environment; write '\$\{PASSWORD\}'",
        ),
    ],
)
def test_wrong_flavors_and_literal_secrets_are_refused(tmp_path, text, expected):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_spec("bad", tmp_path, spec_dir=tmp_path)


def test_secret_references_of_the_components_are_collected():
    from stacks.spec import StackSpec

    assert load_spec("local", Path(".")).secret_references() == set(), "the local stack needs no secret"
    spec = StackSpec.model_validate(
        {
            "name": "t",
            "secrets": {"s3": {"key": "${K}"}},
            "components": {
                "orchestrator": {"name": "o", "flavor": "local"},
                "artifact_store": {
                    "name": "a",
                    "flavor": "s3",
                    "config": {"key": "{{s3.key}}", "path": "s3://b"},
                },
            },
        }
    )
    assert spec.secret_references() == {("s3", "key")}


def test_secrets_made_elsewhere_are_looked_up_once_and_a_missing_key_is_named():
    from types import SimpleNamespace

    from stacks.apply import apply_secrets
    from stacks.spec import StackSpec

    class Client:  # what apply_secrets asks of ZenML's client, counted
        calls: list[str] = []

        def get_secret(self, name, allow_partial_name_match=False):
            self.calls.append(name)
            if name != "team":
                raise KeyError(name)
            return SimpleNamespace(secret_values={"username": "u", "password": "p"})

    def spec(*keys):
        config = {key: f"{{{{team.{key}}}}}" for key in keys}
        return StackSpec.model_validate(
            {
                "name": "t",
                "components": {
                    "orchestrator": {"name": "o", "flavor": "local"},
                    "artifact_store": {"name": "a", "flavor": "local"},
                    "experiment_tracker": {"name": "e", "flavor": "mlflow", "config": config},
                },
            }
        )

    assert apply_secrets(spec("username", "password"), Client()) == []
    assert Client.calls == ["team"], "one lookup for the secret's two keys"
    with pytest.raises(
        ConfigError, match=r"ZenML secret 'team' has no key 'token'; its keys: \['password', 'u"
    ):
        apply_secrets(spec("username", "token"), Client())
