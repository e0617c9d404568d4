"""Print, as JSON, what the active ZenML store holds: runs, model versions, the stack.

Run in a subprocess with the test's ZENML_CONFIG_PATH (`python -m tests.e2e.probe MODEL`), so the
test process never shares ZenML's global state with the project it inspects.
"""

import json
import sys

from zenml.client import Client


def main(model_name: str) -> None:
    client = Client()
    stack = client.active_stack
    runs = [
        {
            "name": run.name,
            "pipeline": run.pipeline.name if run.pipeline else None,
            "status": run.status.value,
            "steps": {name: step.status.value for name, step in run.steps.items()},
            "model_version": run.model_version.number if run.model_version else None,
            "visualizations": {
                name: sorted({str(v.type.value) for v in artifact.visualizations or []})
                for step in run.steps.values()
                for name, artifacts in step.outputs.items()
                for artifact in artifacts
            },
        }
        for run in client.list_pipeline_runs(sort_by="asc:created", size=100).items
    ]
    try:
        versions = client.list_model_versions(model=client.get_model(model_name).id, size=100).items
    except KeyError:
        versions = []
    tracker = stack.experiment_tracker
    print(
        json.dumps(
            {
                "stack": stack.name,
                "components": {str(t.value): c.name for t, c in stack.components.items()},
                "tracking_uri": tracker.get_tracking_uri() if tracker else None,
                "runs": runs,
                "model_versions": [
                    {
                        "number": v.number,
                        "stage": v.stage,
                        "metadata": v.run_metadata,
                        "artifacts": sorted(
                            {
                                a.name
                                for a in client.list_artifact_versions(model_version_id=v.id, size=1000).items
                            }
                        ),
                    }
                    for v in versions
                ],
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
