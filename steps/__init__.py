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

# ZenML 0.98 looks up the distribution of every stored artifact's type (pandas, numpy, ...) with
# importlib.metadata.packages_distributions(), which reads the files of every installed distribution on
# each call (0.4 to 1 s here, a dozen calls a training run: 12 of its 85 s). What is installed does not
# change while a process runs: the mapping is read once a process, and ZenML's lookup
# (source_utils._get_package_for_module: the one distribution of the module's top-level package, else
# None) answers from it; each version is kept likewise.
import functools  # noqa: E402
import importlib.metadata  # noqa: E402

from zenml.utils import source_utils  # noqa: E402


@functools.cache
def _distributions_by_top_level_module() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _package_for_module(module_name: str) -> str | None:
    names = _distributions_by_top_level_module().get(module_name.split(".", maxsplit=1)[0], [])
    return names[0] if len(names) == 1 else None


if not hasattr(source_utils._get_package_version, "cache_info"):
    source_utils._get_package_for_module = _package_for_module
    source_utils._get_package_version = functools.cache(source_utils._get_package_version)
