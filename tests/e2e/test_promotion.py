"""Promotion as the registry sees it, over successive training runs on one temporary stack:
first model -> production; a worse one -> staging; a better one replaces production (the old one
archived); rollback restores it; a biased history is blocked by the fairness gate; a staging
candidate is made production with `rollback --to`; a candidate split with another seed is compared
with production on the test rows production was not trained on."""

import mlflow
import pytest
import yaml
from mlflow.tracking import MlflowClient

from bentos import local_server
from ml import names
from tests.e2e.harness import MODEL_NAME, PROJECT_ROOT, demo_stack, must, probe, run_cli
from tests.e2e.harness import training_config as harness_training_config

pytestmark = pytest.mark.e2e


def training_config(state, name, **changes):
    # every model of this story clears the quality floor, so the comparisons decide
    return harness_training_config(state, name, promotion__min_primary_metric=0.65, **changes)


def stages(store):
    return {v["number"]: v["stage"] for v in store["model_versions"]}


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    state = tmp_path_factory.mktemp("promotion")
    env, project = demo_stack(state)
    raw = yaml.safe_load(project.read_text())
    raw["data"]["demo"] = {"path": str(state / "biased.sqlite"), "bias": 0.6}
    biased = state / "biased.yaml"
    biased.write_text(yaml.safe_dump(raw))
    one = {"candidates": [{}]}
    configs = {
        "weak": training_config(
            state, "weak", features__drop=["late_payment_rate", "avg_days_late"], search=one
        ),
        "weaker": training_config(
            state,
            "weaker",
            model={"kind": "logistic_regression", "params": {}},
            search=one,
            features__drop=["late_payment_rate", "avg_days_late", "annual_income", "tenure_months"],
        ),
        "full": training_config(state, "full"),
        "reseeded": training_config(state, "reseeded", seed=7, search=one),
    }
    snapshots, outputs = {}, {}
    for name in ("weak", "weaker", "full"):
        outputs[name] = must(
            run_cli(PROJECT_ROOT, env, "train", "--project", str(project), "--config", configs[name])
        ).stdout
        snapshots[name] = probe(PROJECT_ROOT, env, MODEL_NAME)
        if name == "weak":  # version 1 served from here on: the stage changes below do not redeploy
            serving = state / "serving.yaml"
            serving.write_text(yaml.safe_dump({"port": local_server.free_port()}))
            deploy = ("deploy", "--project", str(project), "--config", str(serving))
            outputs["deploy"] = must(run_cli(PROJECT_ROOT, env, *deploy)).stdout
    outputs["rollback"] = must(run_cli(PROJECT_ROOT, env, "rollback", "--project", str(project))).stdout
    snapshots["rollback"] = probe(PROJECT_ROOT, env, MODEL_NAME)
    outputs["biased"] = must(
        run_cli(PROJECT_ROOT, env, "train", "--project", str(biased), "--config", configs["full"])
    ).stdout
    snapshots["biased"] = probe(PROJECT_ROOT, env, MODEL_NAME)
    outputs["models"] = must(run_cli(PROJECT_ROOT, env, "models", "--project", str(project))).stdout
    # the staging candidate (version 2), checked by hand, made production as a staging reason says
    outputs["checked"] = must(
        run_cli(PROJECT_ROOT, env, "rollback", "--project", str(project), "--to", "2")
    ).stdout
    snapshots["checked"] = probe(PROJECT_ROOT, env, MODEL_NAME)
    # another split seed: some of its test rows are rows production (version 2) was trained on
    outputs["reseeded"] = must(
        run_cli(PROJECT_ROOT, env, "train", "--project", str(project), "--config", configs["reseeded"])
    ).stdout
    snapshots["reseeded"] = probe(PROJECT_ROOT, env, MODEL_NAME)
    must(run_cli(PROJECT_ROOT, env, "undeploy"))
    outputs["undeployed"] = must(run_cli(PROJECT_ROOT, env, "models", "--project", str(project))).stdout
    return {"snapshots": snapshots, "outputs": outputs, "env": env, "project": project}


def decision_of(store, number):
    version = next(v for v in store["model_versions"] if v["number"] == number)
    return version["metadata"][names.PROMOTION_DECISION]


def test_first_model_goes_to_production_on_the_gates_alone(story):
    store = story["snapshots"]["weak"]
    assert stages(store) == {1: "production"}, stages(store)
    assert "no production version to compare with" in decision_of(store, 1)["reasons"]


def test_worse_model_does_not_replace_production(story):
    store = story["snapshots"]["weaker"]
    assert stages(store) == {1: "production", 2: "staging"}, stages(store)
    reason = decision_of(store, 2)["reasons"][-1]
    assert reason.startswith("worse than production: precision") and "production version 1" in reason, reason


def test_better_model_replaces_production_and_archives_the_old_one(story):
    store = story["snapshots"]["full"]
    assert stages(store) == {1: "archived", 2: "staging", 3: "production"}, stages(store)
    decision = decision_of(store, 3)
    assert decision["reasons"][-1].startswith("at least as good"), decision
    assert (
        decision["production_metric_on_this_data"]
        < next(v for v in store["model_versions"] if v["number"] == 3)["metadata"][names.METRICS]["precision"]
    ), "the old production was re-scored on the new test split"


def test_rollback_restores_the_replaced_version(story):
    store = story["snapshots"]["rollback"]
    assert stages(store) == {1: "production", 2: "staging", 3: "archived"}, stages(store)
    assert "version 1 is production again; 3 archived" in story["outputs"]["rollback"]
    history = next(v for v in store["model_versions"] if v["number"] == 1)["metadata"]["stage_history"]
    assert history[-1]["why"] == "rollback from version 3" and history[-1]["by"], history


def test_a_staging_candidate_is_made_production_by_rollback_to_it(story):
    store = story["snapshots"]["checked"]
    served = {number: stage for number, stage in stages(store).items() if number != 4}  # 4: rejected
    assert served == {1: "archived", 2: "production", 3: "archived"}, stages(store)
    # it never served: not "production again"
    assert "version 2 is production (it was staging); 1 archived" in story["outputs"]["checked"]


def test_biased_history_is_blocked_by_the_fairness_gate(story):
    store = story["snapshots"]["biased"]
    assert stages(store)[4] in (None, "none", "None"), f"a blocked model got a stage: {stages(store)}"
    assert stages(store)[1] == "production", "production must not change when a candidate is blocked"
    decision = decision_of(store, 4)
    assert decision["stage"] == "rejected", decision
    gate = [r for r in decision["reasons"] if r.startswith("fairness gate: model ")]
    assert any("for 'gender'" in r and "'female'" in r for r in gate), decision["reasons"]
    mitigated = next(v for v in store["model_versions"] if v["number"] == 4)["metadata"][
        names.MITIGATED_EVALUATION
    ]
    assert mitigated["available"] and 0 < mitigated["metrics"]["precision"] <= 1, mitigated
    assert "Promotion: rejected" in story["outputs"]["biased"]


def test_there_is_never_more_than_one_production_version(story):
    for name, store in story["snapshots"].items():
        production = [n for n, stage in stages(store).items() if stage == "production"]
        assert len(production) == 1, f"after {name}: production versions {production}"


def test_mlflow_registry_aliases_follow_the_stages(story, monkeypatch):
    store = story["snapshots"]["reseeded"]  # the registry as it is now, after the last stage change
    uri = store["tracking_uri"]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    registered = client.get_registered_model(MODEL_NAME)
    production = next(v for v in store["model_versions"] if v["stage"] == "production")
    assert registered.aliases["champion"] == int(production["metadata"]["mlflow_registry_version"]), (
        registered.aliases
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # (mlflow.set_registry_uri would leak via os.environ)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    loaded = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@champion")
    assert hasattr(loaded, "predict_proba"), "the champion alias must load as a model"


def test_models_command_lists_stages_and_decisions(story):
    listing = story["outputs"]["models"]
    assert "production" in listing and "archived" in listing and "rejected" in listing, listing
    # each version's MLflow registry number beside its own: the rejected one was never registered
    header, *lines = listing.strip().splitlines()
    end = header.index("mlflow") + len("mlflow")  # right-aligned under its header
    shown = {line.split()[0]: line[end - 6 : end].strip() for line in lines if line.split()[0].isdigit()}
    for version in story["snapshots"]["biased"]["model_versions"]:
        registered = version["metadata"].get(names.MLFLOW_VERSION)
        assert shown[str(version["number"])] == (registered or "-"), (version["number"], listing)
    assert shown["4"] == "-" and shown["1"] == "1", listing  # rejected; the first release


def test_the_comparison_says_when_production_was_trained_on_the_evaluation_rows(story):
    """Retrained on the same table, a candidate's test rows are rows production never saw: nothing
    to say. The biased history is the same customers with some labels flipped, so its stratified
    split moves rows production was trained on into the candidate's test split, but it is rejected
    by the fairness gate: nothing was compared with production, so nothing is said either (the
    reseeded candidate below is compared)."""
    for number, snapshot in ((2, "weaker"), (3, "full"), (4, "biased")):
        reasons = decision_of(story["snapshots"][snapshot], number)["reasons"]
        assert not [r for r in reasons if "was trained on" in r], reasons


def test_a_candidate_split_another_way_is_compared_on_the_rows_production_never_saw(story):
    """Version 5 is split with seed 7, production (version 2) was trained on seed 42's train split:
    both are compared on the candidate's test rows production was not trained on, the decision says
    how many of each, and its record holds both figures on those rows (``comparison``)."""
    import re

    store = story["snapshots"]["reseeded"]
    decision = decision_of(store, 5)
    rows = sum(map(sum, next(v for v in store["model_versions"] if v["number"] == 5)["metadata"][
        names.METRICS][names.CONFUSION_MATRIX]))  # fmt: skip
    said = [r for r in decision["reasons"] if r.startswith("production version 2 was trained on ")]
    assert len(said) == 1, decision["reasons"]
    pattern = r"trained on (\d+) of these (\d+) evaluation rows.*: compared on the (\d+) it was not$"
    seen, total, unseen = map(int, re.search(pattern, said[0]).groups())
    assert total == rows and 0 < seen < rows and seen + unseen == rows, (said, rows)
    comparison = decision["comparison"]
    assert (
        comparison["rows"] == unseen
        and comparison["production"] == decision["production_metric_on_this_data"]
    )
    ours = comparison["candidates"]["model"]
    verdict = next(r for r in decision["reasons"] if "vs production version 2" in r)
    assert verdict == (
        f"at least as good: precision {ours:.4f} vs production version 2 {comparison['production']:.4f} "
        f"on the {unseen} evaluation rows production version 2 was not trained on (tolerance 0.005)"
    ), verdict
    assert stages(store)[5] == "production" and stages(store)[2] == "archived", stages(store)


def test_train_rollback_and_models_say_when_the_running_server_serves_another_version(story):
    """Version 1 was deployed after the first training. A promotion or a rollback moves production,
    not the server: while they differ, the commands say which release the server serves and that
    `deploy` serves production; once production is version 1 again, or no server runs, nothing."""
    outputs = story["outputs"]
    assert "Deployment succeeded / Despliegue exitoso" in outputs["deploy"], outputs["deploy"]
    behind = "Server behind production / Servidor desactualizado: http://127.0.0.1:"
    served = f"serves {MODEL_NAME}:v1-"
    for name, production in (("full", 3), ("checked", 2), ("reseeded", 5)):
        line = next((x for x in outputs[name].splitlines() if x.startswith(behind)), "")
        wanted = f"production is version {production} ({MODEL_NAME}:v{production}-"
        assert served in line and wanted in line, (name, outputs[name][-1500:])
        assert "`python run.py deploy` serves it (runbook: runbooks/en/05-deployment.md#deploy-the-" in line
    quiet = ("weaker", "rollback", "biased", "models", "undeployed")  # production is version 1, or none runs
    for name in quiet:
        assert behind not in outputs[name], (name, outputs[name][-1500:])
