"""load -> features -> profile -> split (engine dask: one step reads and splits on the cluster) ->
search (fan-out) -> select -> evaluate -> fairness (+ mitigation) -> explain -> promote -> model card."""

from zenml import pipeline

from ml.settings import CardSettings, DataSettings, TrainingSettings
from steps.card import model_card
from steps.data import engineer_features, load_data, split_on_dask, train_row_keys_on_dask
from steps.promote import promote
from steps.responsible import check_fairness, explain_model, mitigate_bias, profile_data
from steps.train import build_schema, evaluate, select_model, split_data, train_candidate


@pipeline
def training_pipeline(
    data: DataSettings,
    training: TrainingSettings,
    code_reference: dict | None = None,
    project: str = "",
    card: CardSettings | None = None,
) -> None:
    dask = training.engine == "dask"
    if dask:  # read and split on the cluster: a sample of each split comes back
        train, validation, test, facts = split_on_dask(data=data, training=training)
        profile_data(train, data=data, training=training)
    else:
        customers, sales = load_data(data=data)
        dataset = engineer_features(customers, sales, data=data, dropped=training.features.drop)
        profile_data(dataset, data=data, training=training)
        train, validation, test = split_data(dataset, data=data, training=training)
        facts = None
    schema = build_schema(train, validation, test, data=data, training=training, split_facts=facts)
    if dask:  # monitoring's seen_in_training: every train row, not the sample
        train_row_keys_on_dask(schema, data=data, training=training)
    # on dask the candidates fit on rows the train sample does not hold: never reuse a cached fit
    trainer = train_candidate.with_options(enable_cache=False) if dask else train_candidate
    candidates, scores = [], []
    for index in range(len(training.search.candidates)):  # fan-out: one step per candidate
        model, score = trainer(
            train,
            validation,
            schema,
            data=data,
            training=training,
            index=index,
            id=f"train_candidate_{index}",
        )
        candidates.append(model)
        scores.append(score)
    model, search = select_model(candidates, scores, train, schema, training=training)
    metrics = evaluate(model, schema, test, train, search, training=training)
    fairness, _ = check_fairness(model, schema, test, train, search, data=data, training=training)
    explain_model(model, schema, test, training=training)
    mitigated_model, mitigated_evaluation = None, None
    if training.fairness.mitigation != "none":
        mitigated_model, mitigated_evaluation, _ = mitigate_bias(
            model, schema, validation, test, fairness, search, data=data, training=training
        )
    promote(
        model,
        schema,
        metrics,
        fairness,
        test,
        search,
        training=training,
        mitigated_model=mitigated_model,
        mitigated_evaluation=mitigated_evaluation,
        code_reference=code_reference,
    )
    model_card(project=project, data=data, card=card or CardSettings(), after="promote")
