"""What is checked before a pipeline run is created: the search's parameters, and that the stack's
servers answer (the stack's components themselves are checked end to end, in
tests/e2e/test_commands_without_a_release.py)."""

import socket

import pytest

from ml.settings import ConfigError, TrainingSettings
from ml.training import check_search
from stacks.preflight import endpoint_answers


def test_a_typo_in_any_candidate_is_found_before_the_run_naming_the_candidate():
    training = TrainingSettings(search={"candidates": [{}, {"num_leafs": 3}]})
    with pytest.raises(
        ConfigError, match=r"search.candidates\[1\].*'num_leafs' \(did you mean 'num_leaves'\?\)"
    ):
        check_search(training)
    check_search(TrainingSettings(search={"candidates": [{}, {"num_leaves": 3}]}))


def test_an_endpoint_answers_when_something_listens_and_says_why_not_otherwise():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert endpoint_answers(f"http://127.0.0.1:{port}/mlflow") is None
    why = endpoint_answers(f"http://127.0.0.1:{port}", timeout=1.0)
    assert why and "ConnectionRefusedError" in why, why
    assert endpoint_answers("file:///tmp/x") == "'file:///tmp/x' names no host"
