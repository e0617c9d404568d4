"""production model -> BentoML store -> bentoml build -> smoke test -> local server."""

from zenml import pipeline

from ml.settings import ServingSettings
from steps.deploy import build_bento, deploy_local, export_models, smoke_test


@pipeline(enable_cache=False)
def deployment_pipeline(serving: ServingSettings) -> None:
    models = export_models(serving=serving)
    bento = build_bento(models, serving=serving)
    smoke = smoke_test(bento, models, serving=serving)
    deploy_local(bento, models, smoke, serving=serving)
