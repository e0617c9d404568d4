"""Nightly batch scoring: load today's customers -> score with the production model -> write."""

from zenml import pipeline

from ml.settings import DataSettings, ScoringSettings
from steps.score import load_current, score_customers, score_on_dask, store_scores, window_date


@pipeline(enable_cache=False)
def scoring_pipeline(data: DataSettings, scoring: ScoringSettings, day: str) -> None:
    day = window_date(day=day)
    if scoring.engine == "dask":  # load + score + store partition by partition on a Dask cluster
        score_on_dask(data=data, scoring=scoring, day=day)
        return
    dataset = load_current(data=data, scoring=scoring, day=day)
    scores, unseen, missing = score_customers(dataset, data=data, day=day)
    store_scores(scores, unseen, missing, data=data, scoring=scoring, day=day)
