"""The server's environment settings (bentos/runtime.py)."""

import re

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


SERVED_SETTINGS = ("workers", "timeout_seconds", "max_batch_size", "max_request_bytes", "range_margin")


@pytest.mark.parametrize("field", SERVED_SETTINGS)
def test_every_value_serving_yaml_accepts_the_server_accepts_as_it_was_written(
    env, tmp_path, monkeypatch, field
):
    """configs/serving.yaml is validated at load, the server's environment again at its start: a
    value the first took and the second refused (timeout_seconds: 0.5) failed the deploy after the
    Bento was built, naming SERVING_TIMEOUT instead of the setting. Both ends of each range agree."""
    import steps.deploy
    from adapters.state import StatePaths
    from ml.settings import ServingSettings

    monkeypatch.setattr(steps.deploy, "state", lambda: StatePaths(tmp_path / "state"))
    rules = ServingSettings.model_fields[field].metadata
    bounds = {
        name: getattr(rule, name) for rule in rules for name in ("gt", "ge", "le") if hasattr(rule, name)
    }
    assert "gt" not in bounds, f"{field}: an open lower bound ({bounds}) has no least value to try"
    runtime_name = {"timeout_seconds": "timeout"}.get(field, field)
    for value in (bounds["ge"], bounds["le"]):
        served = steps.deploy.server_env({"primary": "m:v1"}, ServingSettings(**{field: value}))
        for key, raw in served.items():
            env.setenv(key, raw)
        assert getattr(ServingRuntime.from_env(), runtime_name) == value, f"{field}: {value}"


@pytest.mark.parametrize(
    ("host", "family", "url"),
    [
        ("127.0.0.1", "AF_INET", "http://127.0.0.1:{port}"),
        ("::1", "AF_INET6", "http://[::1]:{port}"),
        ("localhost", None, "http://localhost:{port}"),
    ],
)
def test_a_port_in_use_is_found_on_ipv4_ipv6_and_a_host_name(host, family, url):
    """An IPv6 host was bound as IPv4: `host: ::1` was refused as "port held by another process"."""
    import socket

    from bentos import local_server

    port = local_server.free_port()
    address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    assert family is None or address[0] == getattr(socket, family), address
    assert local_server.port_in_use(host, port) is False
    with socket.socket(address[0]) as held:
        held.bind(address[4])
        held.listen()
        assert local_server.port_in_use(host, port) is True
    assert local_server.server_url(host, port) == url.format(port=port)


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("192.0.2.1", "192.0.2.1 port 3000: not an address of this machine"),  # TEST-NET-1: no machine's
        ("no-such-host.invalid", "host 'no-such-host.invalid' does not resolve on this machine"),
    ],
)
def test_a_host_nothing_can_listen_on_is_an_error_not_a_port_in_use(host, why):
    from bentos import local_server

    with pytest.raises(local_server.ServerError, match=re.escape(why)):
        local_server.port_in_use(host, 3000)


@pytest.mark.parametrize("host", ["http://0.0.0.0", "localhost:3000", "", "my host"])
def test_serving_host_refuses_a_url_a_port_or_a_malformed_name_naming_the_value(host):
    from ml.settings import ServingSettings

    with pytest.raises(
        ValueError, match=rf"host must be an IP address or a host name.*got {re.escape(repr(host))}"
    ):
        ServingSettings(host=host)
    assert ServingSettings(host="0:0::1").host == "::1", "an IPv6 address is written in its short form"


def test_a_worker_is_ready_only_when_every_worker_of_its_server_has_its_model(tmp_path):
    """Two workers: the first loaded is not ready until the second has loaded too; another server's
    marks (another pid) never count; a stopped worker's mark is gone, and so is a killed one's when
    the server starts it again."""
    from bentos.readiness import WorkerReadiness

    first, second = (WorkerReadiness(tmp_path / "ready", 2, worker, server=100) for worker in (1, 2))
    other = WorkerReadiness(tmp_path / "ready", 2, 2, server=200)
    first.mark_loaded()
    other.mark_loaded()
    assert not first.all_loaded() and not second.all_loaded(), "one of two workers loaded"
    second.mark_loaded()
    assert first.all_loaded() and second.all_loaded()
    second.forget()
    assert sorted(p.name for p in (tmp_path / "ready").iterdir()) == ["100-1", "200-2"]
    second.mark_loaded()
    restarted = WorkerReadiness(tmp_path / "ready", 2, 2, server=100)  # killed (no forget), started again
    assert not restarted.all_loaded(), "its mark from before the crash is gone while it loads again"
    assert sorted(p.name for p in (tmp_path / "ready").iterdir()) == ["100-1", "200-2"]
    restarted.mark_loaded()
    assert restarted.all_loaded(), "loaded again: ready"
    assert WorkerReadiness(tmp_path / "unused", 1, None, server=1).all_loaded(), "one worker: no marks"
    assert not (tmp_path / "unused").exists()
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    alone = WorkerReadiness(blocked / "ready", 2, 1, server=100)  # nowhere to share marks
    alone.mark_loaded()
    assert alone.all_loaded(), "a worker that cannot share its mark answers for itself"
