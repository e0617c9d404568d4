"""pipelines/runner.run_pipeline: a failed run is reported by its steps' own messages, and a pipeline
that failed before any run was made (while compiling) keeps its own error, not an earlier run's."""

from pathlib import Path
from types import SimpleNamespace

import pytest
import zenml.client

import stacks.run_settings
from pipelines.runner import ImageBuildFailed, PipelineFailed, run_pipeline


class Store:
    """What run_pipeline asks of ZenML's client: the pipeline's newest run."""

    runs: list = []

    def get_pipeline(self, name):
        if not self.runs:
            raise KeyError(f"No pipelines have been found that match {name!r}")
        return SimpleNamespace(last_run=self.runs[-1])


def failed_run(run_id, message, source="ml.settings.ConfigError"):
    info = SimpleNamespace(message=message, source=source)
    return SimpleNamespace(
        id=run_id,
        steps={"load": SimpleNamespace(exception_info=None), "score": SimpleNamespace(exception_info=info)},
    )


@pytest.fixture
def store(monkeypatch, tmp_path):
    monkeypatch.setenv("PROJECT_STATE_DIR", str(tmp_path / "state"))  # the run logs: not in the checkout
    monkeypatch.setattr(stacks.run_settings, "with_stack_settings", lambda pipeline, root: pipeline)
    monkeypatch.setattr(zenml.client, "Client", Store)
    Store.runs = []
    return Store


def pipeline_that(fails_with, store, makes_run=None):
    def pipeline(**params):
        if makes_run is not None:
            store.runs.append(makes_run)
        raise fails_with

    pipeline.name = "scoring_pipeline"
    return pipeline


def test_a_failed_run_is_reported_by_its_steps_and_a_config_error_is_the_users(store):
    with pytest.raises(
        PipelineFailed, match=r"step 'score': scoring.database_password_env names X"
    ) as caught:
        run_pipeline(
            pipeline_that(
                RuntimeError("run failed"), store, failed_run(1, "scoring.database_password_env names X")
            )
        )
    assert caught.value.user_error


def test_a_failure_listing_several_columns_keeps_them_under_its_steps_bullet(store):
    message = "2 columns would make poor features:\n  - column 'name' ...\n  - column 'boat' ..."
    with pytest.raises(PipelineFailed) as caught:
        run_pipeline(pipeline_that(RuntimeError("run failed"), store, failed_run(1, message)))
    lines = str(caught.value).splitlines()
    assert lines[1:4] == [
        "  - step 'score': 2 columns would make poor features:",
        "    - column 'name' ...",
        "    - column 'boat' ...",
    ], lines


def test_a_step_zenml_failed_without_recording_an_exception_is_named_with_the_log(store):
    """ZenML fails a step whose output has the wrong type after the step returned, and records no
    exception of it: the step is named (exit 1, not a traceback), the log has ZenML's message."""
    run = SimpleNamespace(
        id=1,
        steps={
            "evaluate": SimpleNamespace(exception_info=None, status="completed"),
            "mitigate_bias": SimpleNamespace(exception_info=None, status="failed"),
        },
    )
    failure = RuntimeError("Pipeline run has failed due to failure in step(s): mitigate_bias")
    with pytest.raises(PipelineFailed) as caught:
        run_pipeline(pipeline_that(failure, store, run))
    text = str(caught.value)
    assert "step 'mitigate_bias' failed; ZenML recorded no exception of it: its error is in the log" in text
    assert "evaluate" not in text and "full log, tracebacks included: " in text, text
    assert not caught.value.user_error


def test_a_failure_before_the_first_run_keeps_its_own_error(store):
    with pytest.raises(KeyError, match="Unable to substitute environment variable"):
        run_pipeline(pipeline_that(KeyError("Unable to substitute environment variable X"), store))


def test_a_failure_before_the_run_is_not_blamed_on_the_previous_run(store):
    store.runs.append(failed_run(1, "yesterday's failure"))
    with pytest.raises(ValueError, match="compiling failed"):
        run_pipeline(pipeline_that(ValueError("compiling failed"), store))


def test_a_failed_image_build_is_reported_with_the_builds_last_lines_and_kept_whole_in_the_log(store, capsys):
    """ZenML's engine logs the build's output at DEBUG and raises "Docker error: …": the error names
    the pipeline and shows the installer's last lines; the console did not print the DEBUG lines, and
    the run log keeps them all."""
    import logging

    build = logging.getLogger("zenml.container_engines.docker_engine")

    def pipeline(**params):
        for line in ["Step 1/4 : FROM parent", *(f"layer {n}" for n in range(30))]:
            build.debug(line)
        build.debug(
            "  × No solution found when resolving dependencies:\n  ╰─▶ Because andamio-nope was not found"
        )
        raise RuntimeError('Docker error: building at STEP "RUN uv pip install": exit status 1.')

    pipeline.name = "training_pipeline"
    with pytest.raises(ImageBuildFailed) as caught:
        run_pipeline(pipeline)
    message = str(caught.value)
    assert "the image of pipeline 'training_pipeline' did not build: Docker error" in message, message
    shown = message.split("the build's last lines:")[1]
    assert "andamio-nope was not found" in shown and "layer 0\n" not in shown, shown
    log = Path(message.rsplit("full build output: ", 1)[1].strip())
    assert "layer 0" in log.read_text() and "andamio-nope" in log.read_text()
    assert "layer 0" not in capsys.readouterr().err
    assert build.level == logging.NOTSET and not build.handlers, "the build logger was not restored"


def test_the_console_leaves_out_zenmls_advertisement_and_the_run_log_keeps_it(store, tmp_path):
    """ZenML logs "Models can be viewed in the dashboard using ZenML Pro. Sign up ..." after every
    step against a store that is not ZenML Pro; the console shows the run's own lines only."""
    import io
    import logging

    from zenml.logger import ZenMLConsoleHandler

    from pipelines.runner import ZENML_PRO_ADVERT

    advert = f"{ZENML_PRO_ADVERT} Sign up for a free trial at the vendor's site"
    console, root = ZenMLConsoleHandler(io.StringIO()), logging.getLogger()
    step_logger = logging.getLogger("zenml.orchestrators.step_run_utils")
    relay = logging.getLogger("zenml.orchestrators.local_docker.local_docker_orchestrator")

    def pipeline(**params):
        step_logger.warning(advert)
        relay.info(f"\x1b[37m{advert}\x1b[0m")  # a container step's line, as the container stack relays it
        step_logger.warning("Step promote has finished in 2.373s.")
        logging.getLogger("ml.anything").warning(advert)  # the project's own words are never dropped
        return "done"

    pipeline.name = "training_pipeline"
    root.addHandler(console)
    try:
        assert run_pipeline(pipeline) == "done"
    finally:
        root.removeHandler(console)
    shown = console.stream.getvalue()
    assert "Step promote has finished in 2.373s." in shown and shown.count(ZENML_PRO_ADVERT) == 1, shown
    (log,) = (tmp_path / "state" / "logs").glob("training_pipeline-*.log")
    assert log.read_text().count(ZENML_PRO_ADVERT) == 3, "the run's log file keeps every line"
    assert not console.filters or all(type(f).__name__ != "_Quiet" for f in console.filters)
