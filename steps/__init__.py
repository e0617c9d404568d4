"""ZenML steps: thin adapters that read settings, call ``ml`` functions and name their outputs."""

import logging

# ZenML 0.98's MLflow tracker disables autologging for a fixed list of flavors after every tracked step;
# MLflow 3 no longer has `mlflow.fastai`, so it warns "Failed to disable MLflow autologging for the
# following frameworks: ['fastai']" each time (the bug zenml-io/zenml#3297 fixed for gluon). Autologging
# stays off for every flavor MLflow has; that one line is dropped, any other failure is still shown.
# Installed here because every process that runs a step (the local one, a container's entrypoint)
# imports this package first.
MLFLOW_TRACKER_LOGGER = "zenml.integrations.mlflow.experiment_trackers.mlflow_experiment_tracker"
REMOVED_FLAVOR_WARNING = "Failed to disable MLflow autologging for the following frameworks: ['fastai']."


class DropRemovedFlavorWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != REMOVED_FLAVOR_WARNING


_logger = logging.getLogger(MLFLOW_TRACKER_LOGGER)
if not any(isinstance(f, DropRemovedFlavorWarning) for f in _logger.filters):
    _logger.addFilter(DropRemovedFlavorWarning())
