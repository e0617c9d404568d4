"""Names defined once: artifacts, metrics, tables and demo columns.

Pipelines, steps, the Bento service and monitoring import these constants instead of repeating
string literals, so a rename breaks in one place.
"""

from typing import Final

# --- Demo tables (the generator writes them, the demo loader reads them) ---------------------
CUSTOMERS_TABLE: Final = "customers"
SALES_TABLE: Final = "sales"
DEMO_META_TABLE: Final = "_generator"

ID: Final = "customer_id"
TARGET: Final = "label"
GOOD: Final = "good"
BAD: Final = "bad"

# --- The scores table (ml.scoring.score writes its rows, adapters.scores_db the table) ---------------
# Its key is the table's own id column, as the table names it (customer_id, patient_id, "id cliente"),
# or SCORES_ROW_KEY, the row's number in the batch, for a table without one (data.id_column empty).
SCORES_ROW_KEY: Final = "row_index"  # not ROW, a keyword of SQL
SCORE_VALUES: Final = (TARGET, "probability", "model_version", "scoring_date")

# --- Artifacts (stable names later pipelines look up) ------------------------------------------
RAW_CUSTOMERS: Final = "raw_customers"
RAW_SALES: Final = "raw_sales"
DATASET: Final = "dataset"
DATASET_TRAIN: Final = "dataset_train"
DATASET_VALIDATION: Final = "dataset_validation"
DATASET_TEST: Final = "dataset_test"
FEATURE_SCHEMA: Final = "feature_schema"
# engine dask: the keys (ml.monitoring.training_keys on key_columns: the inputs) of every train row; its
# dataset_train is a sample. (Versions of before 2026-12-04 stored "train_row_keys", with the label in
# the key: not read, their train sample is keyed again.)
TRAIN_ROW_KEYS: Final = "train_input_keys"
MODEL: Final = "model"
CANDIDATE_MODEL: Final = "candidate_model"
CANDIDATE_SCORE: Final = "candidate_score"
SEARCH_RESULTS: Final = "search_results"
# the search results' (and each candidate score's) key: the threshold the model decides at (a number,
# or the candidate's best-F1 one with training.decision_threshold: max_f1); the release records it
DECISION_THRESHOLD: Final = "decision_threshold"
MITIGATED_MODEL: Final = "mitigated_model"
MITIGATED_EVALUATION: Final = "mitigated_evaluation"
FAIRNESS: Final = "fairness"
FAIRNESS_REPORT: Final = "fairness_report"
GROUP_EDGES: Final = "group_edges"  # the fairness record's key: how each sensitive column was grouped
FAIRNESS_REPORT_MITIGATION: Final = "fairness_report_mitigation"
EXPLANATION_REPORT: Final = "explanation_report"
DATA_PROFILE: Final = "data_profile"
DATA_PROFILE_REPORT: Final = "data_profile_report"
PROMOTION_DECISION: Final = "promotion_decision"
METRICS: Final = "metrics"
DATA_FINGERPRINT: Final = "data_fingerprint"

# --- Step outputs of the scoring, deployment, monitoring and brief pipelines ------------------------
WINDOW_DATE: Final = "window_date"
SCORING_DATASET: Final = "scoring_dataset"
SCORES: Final = "scores"
UNSEEN_CATEGORIES: Final = "unseen_categories"
# rows per feature without a value where the training split always had one (the model learnt no answer)
MISSING_UNTRAINED: Final = "missing_unseen_in_training"
SCORING_SUMMARY: Final = "scoring_summary"
SCORING_ENGINE: Final = "scoring_engine"  # the summary's key: which engine scored, in how many partitions
CLEARED_STAGING: Final = "cleared_staging"  # the summary's key: staging tables killed runs of the date left
DRIFT_PREDICTION: Final = "prediction"  # the predicted probability column compared for drift
MONITORING_ENGINE: Final = "monitoring_engine"  # the drift record's key: dask, in how many partitions
BENTO_MODELS: Final = "bento_models"
BENTO_TAG: Final = "bento_tag"
SMOKE_TEST: Final = "smoke_test"
DEPLOYMENT: Final = "deployment"
DRIFT: Final = "drift"
DRIFT_REPORT: Final = "drift_report"
SERVING_HEALTH: Final = "serving_health"
MONITORING_DECISION: Final = "monitoring_decision"
BRIEF_HTML: Final = "executive_brief"
BRIEF_MARKDOWN: Final = "executive_brief_markdown"
BRIEF_SUMMARY: Final = "executive_brief_summary"

# --- Model-version metadata keys (besides the artifacts' names above) ---------------------------
RELEASE: Final = "release"  # what a promoted version means: registry/release.py writes and reads it
MLFLOW_MODEL_URI: Final = "mlflow_model_uri"
MLFLOW_RUN_ID: Final = "mlflow_run_id"
PRIMARY_METRIC: Final = "primary_metric"
GLOBAL_IMPORTANCE: Final = "global_importance"
CODE_REFERENCE: Final = "code_reference"
LAST_BATCH_SCORING: Final = "last_batch_scoring"
RELEASE_ARTIFACT: Final = "release_artifact"  # which artifact of a version is served (kept for old versions)
MLFLOW_VERSION: Final = "mlflow_registry_version"
REPLACED: Final = "replaced_production_version"
STAGE_HISTORY: Final = "stage_history"
# engine dask: rows of each split and class on the cluster (the split's artifacts are samples of them)
SPLIT_ROWS: Final = "split_rows"
# engine dask: every row's facts the schema needs (rows without a value per split and column, numeric
# ranges), where the split's artifacts are samples: artifact of split_on_dask, read by build_schema
SPLIT_FACTS: Final = "split_facts"
UNLABELLED_ROWS: Final = "unlabelled_rows"  # rows of the table without a target: scored, not trained on
TRAINING_SETTINGS: Final = "training_settings"  # the configs/training.yaml a version was trained with
MODEL_CARD: Final = "model_card"  # artifact (HTML) and metadata key (where the card's files are)
MODEL_CARD_MARKDOWN: Final = "model_card_markdown"

# --- Metrics (keys of the metrics dict, of MLflow metrics and of model-version metadata) -------
PRECISION: Final = "precision"
RECALL: Final = "recall"
F1: Final = "f1"
ROC_AUC: Final = "roc_auc"
ACCURACY: Final = "accuracy"
METRIC_NAMES: Final = (PRECISION, RECALL, F1, ROC_AUC, ACCURACY)
CONFUSION_MATRIX: Final = "confusion_matrix"
# The test split's ROC AUC of each of the strongest features alone (ml.evaluation): a leakage check.
SINGLE_FEATURE_ROC_AUC: Final = "single_feature_roc_auc"
# Monitoring's quality block: labelled rows the model was trained on are in-sample, not live evidence.
SEEN_IN_TRAINING_ROWS: Final = "seen_in_training_rows"
LIVE_ROWS: Final = "live_rows"
LIVE_METRICS: Final = "live_metrics"  # METRIC_NAMES on the labelled rows not seen in training
LIVE_METRIC: Final = "live_metric"  # the metric a window is judged on: the release's primary metric
LIVE_VALUE: Final = "live_value"  # its value in LIVE_METRICS (None: not defined on the live rows)
METRIC_FLOOR: Final = "metric_floor"  # the value LIVE_METRIC had to reach, and why
METRIC_FLOOR_RULE: Final = "metric_floor_rule"
# How many rows LIVE_VALUE rests on (precision: positive decisions, ...), which, and the fewest that
# thresholds.min_metric_support judges: below it the value is reported, not judged.
LIVE_SUPPORT: Final = "live_support"
LIVE_SUPPORT_OF: Final = "live_support_of"
MIN_METRIC_SUPPORT: Final = "min_metric_support"
# Older windows (before the judged metric followed the release): precision, always.
LIVE_PRECISION: Final = "live_precision"
PRECISION_FLOOR: Final = "precision_floor"
BASELINE_PRECISION: Final = "baseline_precision"
FAIRNESS_SCORE: Final = "fairness_score"
# whether the fairness gate judged that score (absent in records of before 2026-12-05: it did)
FAIRNESS_SCORE_JUDGED: Final = "fairness_score_judged"
# inputs that stand in for a sensitive column the model is not given (ml.proxies), per column
SENSITIVE_PROXIES: Final = "sensitive_proxies"
# a fairness record's disparities whose whole interval lies beyond their limit (structured)
BEYOND_LIMITS: Final = "beyond_limits"

# --- Model-version metadata of the nightly monitoring (one entry per window date) ---------------
MONITORING_PREFIX: Final = "monitoring_"  # monitoring_<date>: the drift, quality and serving figures
MONITORING_DECISION_PREFIX: Final = "monitoring_decision_"  # monitoring_decision_<date>: breaches, actions
LIVE_FAIRNESS: Final = "fairness"  # a window's quality entry: the release's fairness gate on its live rows

# --- The inference log (the service writes it, the monitoring reads it; the Bento includes this file)
INFERENCE_LOG_TABLE: Final = "inference_log"
INFERENCE_LOG_COLUMNS: Final = (
    "ts",
    "request_id",
    "endpoint",
    "model_version",
    "record_id",
    "inputs",
    "label",
    "probability",
    "latency_ms",
)
