"""One version's model card on demand (`python run.py card [--version N]`)."""

from zenml import pipeline

from ml.settings import CardSettings, DataSettings
from steps.card import model_card


@pipeline(enable_cache=False)
def card_pipeline(project: str, data: DataSettings, card: CardSettings) -> None:
    model_card(project=project, data=data, card=card)
