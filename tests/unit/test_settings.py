from pathlib import Path

import pytest

from ml.settings import ConfigError, ProjectSettings, TrainingSettings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_shipped_configs_are_valid():
    project = load_settings(ROOT / "configs/project.yaml", ProjectSettings)
    training = load_settings(ROOT / "configs/training.yaml", TrainingSettings)
    assert project.model_name and training.primary_metric == "precision"


def test_typo_is_rejected_with_a_suggestion(tmp_path):
    with pytest.raises(ConfigError, match=r"split.tset_size: unknown key; did you mean 'test_size'"):
        load_settings(write(tmp_path, "split:\n  tset_size: 0.3\n"), TrainingSettings)


def test_wrong_value_names_the_key_the_value_and_the_allowed(tmp_path):
    with pytest.raises(ConfigError, match=r"model.kind: Input should be 'lightgbm'.*\(got 'xgboost'\)"):
        load_settings(write(tmp_path, "model:\n  kind: xgboost\n"), TrainingSettings)


def test_yaml_numbers_are_labels_and_markers_and_a_yaml_boolean_is_named_with_the_quotes(tmp_path):
    """``positive_label: 1`` and ``missing_values: [-1, 999.0]`` are what a user writes for a 0/1
    target and a survey's codes; ``yes`` (or on, true) YAML reads as a boolean, so quoting is the fix."""
    head = "project_name: x\nmodel_name: xx\ndata:\n  source: csv\n  path: a.csv\n  target_column: t\n"
    text = head + "  positive_label: 1\n  missing_values: [-1, 999.0, '?', 2.5]\n"
    data = load_settings(write(tmp_path, text), ProjectSettings).data
    assert data.positive_label == "1" and data.missing_values == ("-1", "999", "?", "2.5")
    with pytest.raises(
        ConfigError, match=r'data.positive_label: .*as a boolean: write it in quotes, e.g. "yes"'
    ):
        load_settings(write(tmp_path, head + "  positive_label: yes\n"), ProjectSettings)
    with pytest.raises(ConfigError, match=r"data.missing_values: .*as a boolean.*\(got \[False\]\)"):
        load_settings(
            write(tmp_path, head + "  positive_label: 'y'\n  missing_values: [off]\n"), ProjectSettings
        )
    card = "project_name: 2024\nmodel_name: xx\ncard:\n  data_period: 2024-01-31\n  intended_use: on\n"
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, card), ProjectSettings)
    message = str(error.value)
    expected = (
        "project_name: Input should be a valid string (got 2024); YAML read it as a number: write it "
        'in quotes for text, e.g. "2024"',
        "card.data_period: Input should be a valid string (got datetime.date(2024, 1, 31)); YAML read "
        "it as a date",
        "card.intended_use: Input should be a valid string (got True); YAML reads an unquoted yes",
    )
    assert all(line in message for line in expected), message


def test_the_target_cannot_be_the_group_column_and_an_empty_one_is_none(tmp_path):
    head = "project_name: x\nmodel_name: xx\ndata:\n  source: csv\n  path: a.csv\n  target_column: t\n"
    with pytest.raises(ConfigError, match="target column 't' cannot be the group_column"):
        load_settings(write(tmp_path, head + "  group_column: t\n"), ProjectSettings)
    assert (
        load_settings(write(tmp_path, head + "  group_column:\n"), ProjectSettings).data.group_column is None
    )


def test_the_id_column_cannot_be_a_sensitive_feature(tmp_path):
    """It names one row: the fairness gate found as many groups as rows, none of them judgeable."""
    head = "project_name: x\nmodel_name: xx\ndata:\n  source: csv\n  path: a.csv\n  target_column: t\n"
    with pytest.raises(ConfigError, match="id column 'cid' cannot be a sensitive feature: it names one row"):
        load_settings(
            write(tmp_path, head + "  id_column: cid\n  sensitive_features: [sex, cid]\n"), ProjectSettings
        )
    data = load_settings(
        write(tmp_path, head + "  id_column: cid\n  sensitive_features: [sex]\n"), ProjectSettings
    )
    assert data.data.sensitive_features == ("sex",)


def test_a_negative_label_must_differ_from_the_positive_one(tmp_path):
    head = "project_name: x\nmodel_name: xx\ndata:\n  source: csv\n  path: a.csv\n  target_column: t\n"
    with pytest.raises(ConfigError, match="negative_label '0' is the positive_label: name the class"):
        load_settings(write(tmp_path, head + "  positive_label: 0\n  negative_label: 0\n"), ProjectSettings)
    assert (
        load_settings(write(tmp_path, head + "  negative_label:\n"), ProjectSettings).data.negative_label
        is None
    )


def test_csv_source_needs_a_path(tmp_path):
    text = "project_name: x\nmodel_name: xx\ndata:\n  source: csv\n"
    with pytest.raises(ConfigError, match="data.path is required when data.source is 'csv'"):
        load_settings(write(tmp_path, text), ProjectSettings)


def test_demo_source_refuses_other_column_names(tmp_path):
    text = "project_name: x\nmodel_name: xx\ndata:\n  target_column: churn\n"
    with pytest.raises(ConfigError, match="demo data has target column 'label'"):
        load_settings(write(tmp_path, text), ProjectSettings)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", TrainingSettings)


def test_settings_are_frozen():
    settings = TrainingSettings()
    with pytest.raises(Exception, match="frozen"):
        settings.seed = 1


def test_schedules_default_to_nightly_and_a_bad_cron_is_rejected_by_name(tmp_path):
    from ml.settings import MonitoringSettings, ScoringSettings

    assert load_settings("configs/scoring.yaml", ScoringSettings).schedule.cron == "0 2 * * *"
    assert load_settings("configs/monitoring.yaml", MonitoringSettings).schedule.cron == "30 2 * * *"
    path = tmp_path / "scoring.yaml"
    path.write_text("schedule:\n  cron: '0 2 * *'\n")
    with pytest.raises(ConfigError, match=r"schedule.cron: String should match pattern.*\(got '0 2 \* \*'\)"):
        load_settings(path, ScoringSettings)


def test_the_serving_range_margin_is_configured_validated_and_given_to_the_server(tmp_path, monkeypatch):
    import steps.deploy
    from adapters.state import StatePaths
    from ml.settings import ServingSettings
    from steps.deploy import server_env

    # the state dir without ZenML's source root (a rendered project's quick tests run without `zenml init`)
    monkeypatch.setattr(steps.deploy, "state", lambda: StatePaths(tmp_path / "state"))

    shipped = load_settings(ROOT / "configs/serving.yaml", ServingSettings)
    assert shipped.range_margin == 0.5 == ServingSettings().range_margin, "documented default: 0.5"
    with pytest.raises(ConfigError, match=r"range_margin: Input should be greater than or equal to 0"):
        load_settings(write(tmp_path, "range_margin: -0.1\n"), ServingSettings)
    env = server_env({"primary": "m:v1"}, ServingSettings(range_margin=2))
    assert env["SERVING_RANGE_MARGIN"] == "2.0", env


def test_the_precision_floors_of_older_configs_are_named_with_their_new_keys(tmp_path):
    """thresholds.max_precision_drop and min_precision became max_metric_drop and min_metric when the
    live check came to judge the release's primary metric: an older monitoring.yaml is told which
    key each is now and why, not only that the key is unknown."""
    from ml.settings import MonitoringSettings

    text = "thresholds:\n  max_precision_drop: 0.05\n  min_precision: 0.7\n"
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text), MonitoringSettings)
    message = str(error.value)
    assert "max_precision_drop: 0.05 -> max_metric_drop, min_precision: 0.7 -> min_metric" in message, message
    assert "training.primary_metric" in message and "configs/monitoring.yaml" in message, message
    renamed = "thresholds:\n  max_metric_drop: 0.05\n  min_metric: 0.7\n"
    limits = load_settings(write(tmp_path, renamed), MonitoringSettings).thresholds
    assert (limits.max_metric_drop, limits.min_metric) == (0.05, 0.7)


@pytest.mark.parametrize(
    ("table", "says"),
    [
        (
            "analytics.customer_scores",
            "table 'analytics.customer_scores' names a schema: table is the table's name alone"
            " ('customer_scores'); put the schema in database_url, PostgreSQL's search path:"
            " ...?options=-csearch_path%3Danalytics",
        ),
        ("customer scores", "table 'customer scores' is not a table name this project writes: letters,"),
        ("x" * 64, "at most 63 characters"),
    ],
)
def test_a_scores_table_that_is_not_one_name_is_refused_saying_where_a_schema_goes(tmp_path, table, says):
    """A team with a PostgreSQL schema per consumer wrote `table: analytics.customer_scores` and got
    the name's regular expression; the search path in the URL is what puts the table there
    (tests/e2e/test_nightly.py writes it so to a real server)."""
    from ml.settings import ScoringSettings

    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, f"table: '{table}'\n"), ScoringSettings)
    assert says in str(caught.value), str(caught.value)
    assert load_settings(write(tmp_path, "table: Scores_2026\n"), ScoringSettings).table == "Scores_2026"
