"""Export the production model of the isolated project (run with its ZenML/MLflow environment) for
the benchmark peers: the scikit-learn release as joblib (FastAPI peer), its LightGBM booster as text
(the raw-booster reference), the feature schema, the MLflow model URI (`mlflow models serve`), and
the native bundle in the BentoML store (what `run.py deploy` exports) for the Bento service.

    python benchmarks/export_model.py OUT_DIR   # prints one JSON line
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(out: Path) -> dict:
    import joblib
    import yaml
    from zenml.client import Client

    from ml import names
    from registry.release import production_release

    model_name = yaml.safe_load((ROOT / "configs/project.yaml").read_text())["model_name"]
    production = production_release(model_name)  # RegistryError (train first) when there is none
    release, schema, version = production.model, production.schema, production.version
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(release, out / "model.joblib")
    release.named_steps["clf"].booster_.save_model(str(out / "booster.txt"))
    (out / "schema.json").write_text(json.dumps(schema.to_dict(), indent=1))
    from steps.deploy import _export  # the deployment's own export into the BentoML store

    bento_tag = _export(production)
    import bentoml

    spec = Path(bentoml.models.get(bento_tag).path_of("spec.json"))
    (out / "bundle_spec.json").write_text(spec.read_text())
    tracker = Client().active_stack.experiment_tracker
    meta = version.run_metadata
    meta = {
        "model_name": model_name,
        "version": str(version.number),
        "threshold": production.threshold,
        "mlflow_tracking_uri": tracker.get_tracking_uri(),
        "mlflow_model_uri": f"models:/{model_name}/{meta.get(names.MLFLOW_VERSION)}",
        "mlflow_source_uri": meta.get(names.MLFLOW_MODEL_URI),
        "release_type": type(release).__name__,
        "bento_model_tag": bento_tag,
        "dir": str(out),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
