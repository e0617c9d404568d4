"""The server's environment settings (bentos/runtime.py)."""

import pytest

from bentos.runtime import RuntimeConfigError, ServingRuntime


@pytest.fixture
def env(monkeypatch):
    for key in ("SERVING_ACCESS_LOG",):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SERVING_MODEL_TAG", "customer-scoring:v1")
    return monkeypatch


def test_access_log_is_off_by_default_since_the_inference_log_records_every_answer(env):
    assert ServingRuntime.from_env().access_log is False, "access log should be off unless asked for"


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("no", False), ("FALSE", False)])
def test_access_log_is_turned_on_by_its_variable(env, raw, expected):
    env.setenv("SERVING_ACCESS_LOG", raw)
    assert ServingRuntime.from_env().access_log is expected, f"SERVING_ACCESS_LOG={raw}"


def test_a_malformed_access_log_flag_names_the_variable(env):
    env.setenv("SERVING_ACCESS_LOG", "sometimes")
    with pytest.raises(RuntimeConfigError, match="SERVING_ACCESS_LOG='sometimes' must be true or false"):
        ServingRuntime.from_env()


def test_the_range_margin_defaults_to_half_the_training_range_and_is_validated(env):
    env.delenv("SERVING_RANGE_MARGIN", raising=False)
    assert ServingRuntime.from_env().range_margin == 0.5, "default: half the training range on each side"
    env.setenv("SERVING_RANGE_MARGIN", "2")
    assert ServingRuntime.from_env().range_margin == 2.0
    env.setenv("SERVING_RANGE_MARGIN", "-1")
    with pytest.raises(RuntimeConfigError, match=r"SERVING_RANGE_MARGIN=-1.0 must be within \[0.0, 1000.0\]"):
        ServingRuntime.from_env()


def test_a_free_port_is_below_the_ephemeral_range_and_one_in_use_is_skipped(monkeypatch):
    """A port from a bind to 0 is an ephemeral one, which the kernel hands out again to the next
    bind to 0: BentoML's circus took the port chosen for the HTTP server for its control socket
    ("Address already in use"), and a fresh-clone run lost its whole serving module to it. The port
    is drawn below the ephemeral range, skipping one something listens on."""
    import random
    import socket

    from bentos import local_server

    first_ephemeral = int(local_server.EPHEMERAL_RANGE.read_text().split()[0])
    ports = [local_server.free_port() for _ in range(20)]
    assert all(local_server.LOWEST_FREE_PORT <= port < first_ephemeral for port in ports), ports
    with socket.socket() as held:
        held.bind(("127.0.0.1", ports[0]))
        held.listen()
        monkeypatch.setattr(random.SystemRandom, "sample", lambda self, pool, k: [ports[0], ports[1]])
        assert local_server.free_port() == ports[1]
