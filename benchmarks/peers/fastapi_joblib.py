"""The FastAPI + joblib peer of the serving benchmark: what a team writes in ten minutes. It loads
the same scikit-learn release (joblib) and answers POST /predict ``{"records": [...]}`` with the
positive-class probability of each record, one uvicorn worker like the Bento service.

    MODEL_DIR=<dir with model.joblib and schema.json> uvicorn benchmarks.peers.fastapi_joblib:app
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel

MODEL_DIR = Path(os.environ["MODEL_DIR"])
MODEL = joblib.load(MODEL_DIR / "model.joblib")
SCHEMA = json.loads((MODEL_DIR / "schema.json").read_text())
COLUMNS = [feature["name"] for feature in SCHEMA["features"]]
CATEGORICAL = [feature["name"] for feature in SCHEMA["features"] if feature["kind"] == "categorical"]
ID = SCHEMA.get("id_column")

app = FastAPI()


class Batch(BaseModel):
    records: list[dict[str, Any]]


@app.post("/predict")
def predict(batch: Batch) -> list[dict]:
    frame = pd.DataFrame.from_records(batch.records)
    features = frame.reindex(columns=COLUMNS)
    features[CATEGORICAL] = features[CATEGORICAL].astype(object)
    proba = MODEL.predict_proba(features)[:, 1]
    ids = frame[ID].tolist() if ID in frame else list(range(len(frame)))
    return [{"id": i, "probability": float(p)} for i, p in zip(ids, proba, strict=True)]


@app.get("/health")
def health() -> dict:
    return {"ok": True}
