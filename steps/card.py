"""The model card of this step's model version: written to the state dir, returned as ZenML
visualizations, logged to the version's MLflow run and referenced from the version's metadata."""

from typing import Annotated

from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.types import HTMLString, MarkdownString

from adapters.records import read_jsonl
from ml import names
from ml.card import render_card
from ml.settings import CardSettings, DataSettings
from registry.card import card_facts
from steps._context import state


@step(enable_cache=False, experiment_tracker=True)  # the stack's MLflow, authenticated by ZenML
def model_card(
    project: str, data: DataSettings, card: CardSettings
) -> tuple[Annotated[HTMLString, names.MODEL_CARD], Annotated[MarkdownString, names.MODEL_CARD_MARKDOWN]]:
    this = get_step_context().model
    version = Client().get_model_version(this.name, str(this.version))
    facts = card_facts(version, project, data, card, read_jsonl(state().audit_log))
    text = render_card(facts)
    folder = state().reports
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "markdown": folder / f"model-card-v{version.name}.md",
        "html": folder / f"model-card-v{version.name}.html",
    }
    files["markdown"].write_text(text.markdown, encoding="utf-8")
    files["html"].write_text(text.html, encoding="utf-8")
    where = {key: str(path) for key, path in files.items()}
    run_id = facts["mlflow_run_id"]
    if run_id:  # the version's own MLflow run (the training run's, also when written on demand)
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        try:
            for path in files.values():
                MlflowClient().log_artifact(run_id, str(path), names.MODEL_CARD)
            where["mlflow_artifacts"] = f"runs:/{run_id}/{names.MODEL_CARD}"
        except (MlflowException, OSError) as exc:  # the card stays in the state dir and in ZenML
            where["mlflow_artifacts"] = f"not logged to MLflow run {run_id}: {exc}"
    log_metadata({names.MODEL_CARD: where}, infer_model=True)
    print(f"Model card of version {version.name}: {where['html']}")
    return HTMLString(text.html), MarkdownString(text.markdown)
