"""Model construction and fitting: one scikit-learn Pipeline whatever the estimator."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from ml import names
from ml.data.validation import DataValidationError
from ml.evaluation import classification_metrics
from ml.features import FeatureSchema, binary_target
from ml.settings import ConfigError, ModelSettings, SearchSettings, SplitSettings, TrainingSettings

DEFAULT_PARAMS: dict[str, dict] = {
    "lightgbm": {
        "n_estimators": 300,
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_child_samples": 30,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "n_jobs": 1,
        "verbose": -1,
    },
    "logistic_regression": {"C": 1.0, "max_iter": 2000},
    "random_forest": {"n_estimators": 300, "min_samples_leaf": 5, "n_jobs": 1},
}
ESTIMATORS = {
    "lightgbm": LGBMClassifier,
    "logistic_regression": LogisticRegression,
    "random_forest": RandomForestClassifier,
}


SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def split_dataset(
    frame: pd.DataFrame, target: str, split: SplitSettings, seed: int, group: str | None = None
) -> Split:
    """Stratified train / validation / test split, reproducible for a seed. With a ``group`` column
    (``data.group_column``: one person's rows over years, one trip's options) the rows of a group stay
    in one split (scikit-learn's GroupShuffleSplit, shares counted in groups, not stratified), so no
    test row has a twin the model was trained on."""
    val_share = split.validation_size / (1.0 - split.test_size)
    if group is None:
        rest, test = train_test_split(
            frame, test_size=split.test_size, stratify=frame[target], random_state=seed
        )
        train, validation = train_test_split(
            rest, test_size=val_share, stratify=rest[target], random_state=seed
        )
        return Split(train, validation, test)
    rest, test = _group_split(frame, group, split.test_size, seed)
    train, validation = _group_split(rest, group, val_share, seed)
    for name, part, size in (("test", test, "test_size"), ("validation", validation, "validation_size")):
        if part[target].nunique() < 2:
            raise DataValidationError(
                f"the {name} split holds {part[group].nunique()} of the {frame[group].nunique()} groups of "
                f"data.group_column {group!r} and only the class(es) {sorted(part[target].unique())}: raise "
                f"training.split.{size}, or train on more groups"
            )
    return Split(train, validation, test)


def _group_split(
    frame: pd.DataFrame, group: str, share: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed)
    kept, held = next(splitter.split(frame, groups=frame[group].astype(str)))
    return frame.iloc[np.sort(kept)], frame.iloc[np.sort(held)]


def split_keys(ids: pd.Series, seed: int) -> np.ndarray:
    """A number in [0, 1) per row from a seeded hash of its id: the same row gets the same number
    however the table is partitioned, so each partition of a table too big for one process assigns
    its own rows (``split_bands``), and any partition's rows of a band are a uniform sample of it."""
    hashed = pd.util.hash_pandas_object(ids.astype(str), index=False, hash_key=f"{seed % 10**16:016d}")
    return (hashed.to_numpy() >> np.uint64(11)).astype(np.float64) / float(2**53)


def split_bands(keys: np.ndarray, split: SplitSettings) -> np.ndarray:
    """Each row's split from its ``split_keys`` number: test below ``test_size``, validation in the
    next ``validation_size``, train above. Not stratified: the shares hold in expectation."""
    bands = np.full(len(keys), SPLITS[0], dtype=object)
    bands[keys < split.test_size + split.validation_size] = SPLITS[1]
    bands[keys < split.test_size] = SPLITS[2]
    return bands


def _params_of(kind: str) -> set[str]:
    """The hyperparameters the estimator of ``kind`` takes."""
    return set(ESTIMATORS[kind]().get_params())


def check_params(settings: ModelSettings, where: str = "model.params") -> None:
    """Unknown hyperparameters of the configured estimator: ConfigError naming them, with a suggestion."""
    valid = _params_of(settings.kind)
    unknown = sorted(set(settings.params) - valid)
    if unknown:
        hints = [
            f"{key!r} (did you mean {m[0]!r}?)"
            if (m := difflib.get_close_matches(key, valid, 1))
            else repr(key)
            for key in unknown
        ]
        raise ConfigError(
            f"{where} for {settings.kind} has unknown parameter(s) {', '.join(hints)}; "
            f"valid ones: {', '.join(sorted(valid))}"
        )


def check_search(training: TrainingSettings) -> None:
    """Every search candidate's estimator and parameters, checked before a run starts (a typo used
    to surface inside the candidate's step, a minute into the run)."""
    for i, overrides in enumerate(training.search.candidates):
        where = f"search.candidates[{i}] ({overrides}) in the training config"
        kind = overrides.get("kind", training.model.kind)
        if kind not in ESTIMATORS:
            raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(ESTIMATORS)}")
        _check_kind_of(overrides, kind, where)
        same = kind == training.model.kind
        check_params(
            candidate_settings(training.model, overrides), f"{where}: {'model.params + ' * same}candidate"
        )


def _check_kind_of(overrides: dict, kind: str, where: str) -> None:
    """A candidate without a ``kind`` of its own whose parameters are another estimator's: the shipped
    LightGBM candidates once ``model.kind`` names another kind. ConfigError naming that estimator and
    the two fixes (check_params would only list the parameters the configured kind takes)."""
    if "kind" in overrides:
        return
    unknown = set(overrides) - _params_of(kind)
    if not unknown:
        return
    owner = next((k for k in ESTIMATORS if k != kind and unknown <= _params_of(k)), None)
    if owner is not None:
        shown = ", ".join(f"{key}: {overrides[key]}" for key in sorted(unknown))
        raise ConfigError(
            f"{where}: {', '.join(map(repr, sorted(unknown)))} are {owner} parameters, and a candidate "
            f"without a kind of its own is a model.kind one ({kind}); to keep it in the search give it "
            f"its kind, {{kind: {owner}, {shown}}}, or remove it"
        )


def make_estimator(settings: ModelSettings, seed: int):
    """The configured estimator; unknown hyperparameters are rejected with a suggestion."""
    check_params(settings)
    params = {**DEFAULT_PARAMS[settings.kind], **settings.params, "random_state": seed}
    return ESTIMATORS[settings.kind](**params)


def make_preprocessor(schema: FeatureSchema, kind: str) -> ColumnTransformer:
    """Trees get ordinal-coded categories (unknown/missing -> NaN); linear models one-hot."""
    if kind == "lightgbm":
        categorical = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
        )
        numeric: object = "passthrough"
    else:
        categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    return ColumnTransformer(
        [("cat", categorical, schema.categorical), ("num", numeric, schema.numeric)],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


def as_model_input(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """Select the model's columns in schema order; categories as text so encoders agree."""
    out = frame[schema.names].copy()
    for column in schema.categorical:
        out[column] = category_text(out[column])
    return out


def category_text(series: pd.Series) -> pd.Series:
    """A categorical column as the encoders see it: each value as text, every missing value NaN.

    A SQL NULL (None), a CSV's empty cell (NaN) and pandas' NA mean the same: the encoders must not
    learn None as a category of its own, which the served API (JSON null) could not tell apart."""
    values = series.astype(object)
    missing = values.isna()
    text = values.astype(str)
    text[missing] = np.nan
    return text


# LightGBM's model text is JSON-like: a feature name holding one of ",:[]{} stops its training
# ("Do not support special JSON characters in feature name"), whitespace it replaces by "_" itself
BOOSTER_NAME_UNSAFE = re.compile(r'[",:\[\]{}\s]')


def booster_feature_names(columns: list[str]) -> list[str]:
    """The names the booster is given for the preprocessor's output ``columns`` (the pipeline keeps
    the table's own names everywhere else): each character LightGBM refuses made '_' (a CSV's
    'occupation: wife', 'income [EUR]'), a name that comes out twice suffixed with its position."""
    safe = [BOOSTER_NAME_UNSAFE.sub("_", str(column)) for column in columns]
    twice = {name for name in safe if safe.count(name) > 1}
    return [f"{name}_{position}" if name in twice else name for position, name in enumerate(safe)]


def lightgbm_fit_params(schema: FeatureSchema) -> dict:
    """LightGBM's fit parameters: its feature names, in the preprocessor's output order (the
    categorical columns, then the numeric ones: ``make_preprocessor``), and which are categorical."""
    names = booster_feature_names([*schema.categorical, *schema.numeric])
    params: dict = {"feature_name": names}
    if schema.categorical:
        params["categorical_feature"] = names[: len(schema.categorical)]
    return params


def train_model(
    frame: pd.DataFrame,
    schema: FeatureSchema,
    settings: ModelSettings,
    seed: int,
    fit: Callable[..., object] | None = None,
) -> Pipeline:
    """Fit preprocessing + estimator on ``frame`` (which holds features and the target).

    ``fit``: fits the estimator somewhere else, ``fit(estimator, prep, X, y, **fit_params)`` with
    ``prep`` the preprocessing fitted here on ``X`` (the model's input columns of ``frame``),
    returning an estimator of the same kind fitted on rows ``prep`` transformed (e.g. LightGBM on a
    Dask cluster, on every train row of a table ``frame`` samples): the same kind of pipeline."""
    prep, estimator = make_preprocessor(schema, settings.kind), make_estimator(settings, seed)
    X = as_model_input(frame, schema)
    y = binary_target(frame[schema.target_column], schema.positive_label)
    fit_params = lightgbm_fit_params(schema) if settings.kind == "lightgbm" else {}
    if fit is None:
        model = Pipeline([("prep", prep), ("clf", estimator)])
        return model.fit(X, y, **{f"clf__{key}": value for key, value in fit_params.items()})
    fitted = fit(estimator, prep.fit(X), X, y, **fit_params)
    if type(fitted) is not type(estimator):
        raise TypeError(
            f"fit returned a {type(fitted).__name__}, not the {type(estimator).__name__} it was given"
        )
    return Pipeline([("prep", prep), ("clf", fitted)])


def predict_proba(model: Pipeline, frame: pd.DataFrame, schema: FeatureSchema) -> np.ndarray:
    """Probability of the positive class for each row of ``frame``.

    A LightGBM pipeline is scored by its booster on the matrix ``booster_input`` builds, the same
    probabilities as ``model.predict_proba``: the pipeline's pandas round trips (a copy of the
    frame, the ColumnTransformer's output frame, LightGBM's conversion of it) cost ~1 s of a
    million-row batch whose trees take ~6 s (benchmarks/, figure 2). Other models go through
    scikit-learn."""
    matrix = booster_input(model, frame)
    if matrix is None:
        return model.predict_proba(as_model_input(frame, schema))[:, 1]
    clf = model.named_steps["clf"]
    threads = clf.n_jobs if clf.n_jobs and clf.n_jobs > 0 else 0  # 0: LightGBM's own default, all cores
    return clf.booster_.predict(matrix, num_threads=threads)


def booster_layout(model: Pipeline) -> tuple[list[str], dict[str, list]] | None:
    """What the booster of a fitted LightGBM pipeline reads: its column order (the preprocessor's
    output) and, for each categorical column, the OrdinalEncoder's categories, whose positions are
    the booster's values (NaN, learnt from missing values and encoded as missing, left out). ``None``
    for any other model. Shared by batch scoring (``booster_input``) and the served bundle."""
    steps = getattr(model, "named_steps", {})
    prep, clf = steps.get("prep"), steps.get("clf")
    if not isinstance(prep, ColumnTransformer) or not hasattr(clf, "booster_"):
        return None
    categories = {}
    for name, encoder, columns in prep.transformers_:
        if name == "cat" and len(columns):
            for column, values in zip(columns, encoder.categories_, strict=True):
                categories[str(column)] = [v for v in values if not (isinstance(v, float) and np.isnan(v))]
    return [str(name) for name in prep.get_feature_names_out()], categories


def booster_input(model: Pipeline, frame: pd.DataFrame) -> np.ndarray | None:
    """The float matrix a fitted LightGBM pipeline's booster takes, built from ``frame`` in the
    preprocessor's column order: a category's position in the OrdinalEncoder's categories (unseen
    or missing: NaN, as the encoder is configured), numerics as they are. ``None`` when the model
    is not such a pipeline."""
    layout = booster_layout(model)
    if layout is None or any(None in values for values in layout[1].values()):
        return None  # a model trained before missing categories were all NaN may hold a None one
    order, categories = layout
    matrix = np.empty((len(frame), len(order)))
    for j, column in enumerate(order):
        if column in categories:
            codes = pd.Categorical(category_text(frame[column]), categories=categories[column]).codes
            matrix[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            matrix[:, j] = frame[column].to_numpy(dtype=float, na_value=np.nan)
    return matrix


def candidate_settings(base: ModelSettings, overrides: dict) -> ModelSettings:
    """The model settings of one search candidate: ``model.params`` updated with ``overrides``; a
    candidate naming another ``kind`` starts from that estimator's defaults (``model.params``
    belong to ``model.kind``)."""
    params = {key: value for key, value in overrides.items() if key != "kind"}
    kind = overrides.get("kind", base.kind)
    if kind == base.kind:
        return base.model_copy(update={"params": {**base.params, **params}})
    return ModelSettings(kind=kind, params=params)


def model_kind(model) -> str:
    """``model.kind`` of a fitted pipeline, or of the pipeline a mitigated model wraps."""
    pipeline = model.model if isinstance(getattr(model, "model", None), Pipeline) else model
    clf = pipeline.named_steps["clf"]
    return next(kind for kind, cls in ESTIMATORS.items() if isinstance(clf, cls))


def selection_method(rows: int, candidates: int, search: SearchSettings, engine: str = "pandas") -> str:
    """How candidates are compared: one validation split, or (several candidates on fewer than
    ``search.cv_below_rows`` rows, where one split is too noisy to choose) cross-validation. On
    ``engine: dask`` the train rows stay on the cluster: always the validation split."""
    if engine == "pandas" and candidates > 1 and rows < search.cv_below_rows:
        return f"{search.cv_folds}-fold cross-validation on train + validation"
    return "validation split"


def candidate_score(
    split: tuple[pd.DataFrame, pd.DataFrame],
    schema: FeatureSchema,
    settings: ModelSettings,
    training: TrainingSettings,
    fitted: Pipeline,
    group: str | None = None,
) -> tuple[dict, str, float]:
    """(metrics, how they were measured, the decision threshold they were measured at) of a
    candidate for the selection: ``fitted`` (trained on the train split) on the validation split, or
    out-of-fold predictions of stratified k-fold cross-validation over train + validation
    (``selection_method``; with a ``group`` column, a group's rows in one fold). The threshold is
    ``decision_threshold``, or with ``max_f1`` the one with the best F1 on those same rows
    (``max_f1_threshold``): never on the test split, which judges the model at it."""
    train, validation = split
    rows, candidates = len(train) + len(validation), len(training.search.candidates)
    method = selection_method(rows, candidates, training.search, training.engine)
    if method == "validation split":
        y = binary_target(validation[schema.target_column], schema.positive_label)
        proba = predict_proba(fitted, validation, schema)
    else:
        frame = pd.concat([train, validation], ignore_index=True)
        y = binary_target(frame[schema.target_column], schema.positive_label)
        kind = StratifiedGroupKFold if group else StratifiedKFold
        folds = kind(training.search.cv_folds, shuffle=True, random_state=training.seed)
        groups = frame[group].astype(str) if group else None
        proba = np.empty(len(frame))
        for fit_rows, held_out in folds.split(frame, y, groups):
            model = train_model(frame.iloc[fit_rows], schema, settings, training.seed)
            proba[held_out] = predict_proba(model, frame.iloc[held_out], schema)
    threshold = training.decision_threshold
    threshold = max_f1_threshold(y, proba) if threshold == "max_f1" else float(threshold)
    return classification_metrics(y, proba, threshold), method, threshold


def selected_threshold(search_results: dict) -> float:
    """The decision threshold of the pipeline's model: the selected candidate's, as ``select_model``
    recorded it (``training.decision_threshold``, or its best-F1 one with ``max_f1``)."""
    return float(search_results[names.DECISION_THRESHOLD])


def max_f1_threshold(y_true: np.ndarray, proba: np.ndarray) -> float:
    """The decision threshold (``proba >= threshold`` is positive) with the highest F1 on these rows,
    among the probabilities they hold (scikit-learn's ``precision_recall_curve``); the highest such
    one on a tie (fewer rows labelled positive). 0.5 when the rows hold no positive label."""
    from sklearn.metrics import precision_recall_curve

    y_true = np.asarray(y_true)
    if not y_true.any():
        return 0.5
    precision, recall, thresholds = precision_recall_curve(y_true, proba)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = np.flatnonzero(f1 == f1.max())[-1]  # thresholds ascend: the last of the best is the highest
    # a probability of exactly 0 or 1 (a random forest's) as a threshold: the same rows, inside (0, 1)
    return float(np.clip(thresholds[best], 1e-9, 1 - 1e-9))


def select_best(scores: list[float], metric: str) -> int:
    """Index of the highest validation score; ties go to the earliest candidate (the simplest)."""
    if not scores:
        raise ValueError("no candidates to select from; search.candidates must list at least one")
    finite = [s if np.isfinite(s) else -np.inf for s in scores]
    if all(s == -np.inf for s in finite):
        raise ValueError(f"every candidate has an undefined validation {metric}: {scores}")
    return int(np.argmax(finite))
