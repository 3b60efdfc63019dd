"""The process log (``gateway.logging``): JSON lines that name seller and run, never a credential.

The process log is configured the way the entry points do it (``configure_logging``), it
writes to the process's stderr, and the test reads that stream (``capfd``). The gateway, its
embedded worker and the HaloPSA simulator run in this process, so their lines are in it too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.auth import mint_token
from gateway.halopsa import HaloAuthError
from gateway.logging import configure_logging, log_context
from gateway.models import PsaOrganization, SyncRun
from gateway.settings import Settings
from tests.conftest import make_settings
from tests.support import data
from tests.support.runs import trigger, wait_for_run

SECRET = "halo-secret-1234"  # the simulator's default instance (tests/conftest.py)
TEST = """mutation ($input: ConnectionInput!) { testConnection(input: $input) { success } }"""
SAVE = """mutation ($input: ConnectionInput!) { saveConnection(input: $input) {
organizationsSyncQueued } }"""
SYNC_SUBS = "mutation { syncSubscriptions { id state } }"
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+")
BEARER_VALUE = re.compile(r"(?i)bearer\s+(?!\[REDACTED\])\S")
QUIETED = ("httpx", "apscheduler")


@contextlib.contextmanager
def process_logging(settings: Settings) -> Iterator[None]:
    """``configure_logging`` as an entry point calls it; the root logger is put back after,
    so the rest of the session logs as before."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIETED}
    configure_logging(settings)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)


def json_lines(output: str) -> list[dict[str, Any]]:
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    return parsed


def assert_no_credentials(output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in output, f"a credential reached the process log: {secret[:6]}…"
    assert not JWT_SHAPE.search(output), JWT_SHAPE.search(output)
    assert not BEARER_VALUE.search(output), BEARER_VALUE.search(output)


def _input(halo_sim: Any) -> dict[str, Any]:
    api, auth = halo_sim.urls()
    return {
        "input": {
            "clientId": "halo-client",
            "clientSecret": SECRET,
            "resourceServer": api,
            "authorizationServer": auth,
        }
    }


async def test_a_sync_run_logs_json_lines_with_seller_and_run_ids_and_no_credentials(
    gateway, halo_sim, migrated_db, capfd
) -> None:
    # DEBUG: every library's chatter is in, so a leak anywhere would show.
    settings = gateway.settings.model_copy(update={"log_format": "json", "log_level": "DEBUG"})
    sim = halo_sim.instance()
    acme = sim.add_client("Acme Ltd")
    jwt = gateway.token()
    with process_logging(settings):
        # When the seller tests and saves the connection (which starts an organisations
        # sync), maps an organisation and pushes its subscriptions, and HaloPSA answers the
        # first call of that push 401 (token refreshed) and then 503 (retried)
        tested = await gateway.gql(TEST, _input(halo_sim), token=jwt)
        assert tested["data"]["testConnection"]["success"] is True, tested
        saved = await gateway.gql(SAVE, _input(halo_sim), token=jwt)
        assert saved["data"]["saveConnection"]["organizationsSyncQueued"] is True, saved
        orgs_run = await SyncRun.get(seller_id="seller-a")
        assert (await wait_for_run(gateway, str(orgs_run.id)))["state"] == "SUCCEEDED"
        org = await data.organization("seller-a", "org-a", "Acme")
        await data.mapping(org, await PsaOrganization.get(seller_id="seller-a", halo_id=acme["id"]))
        await data.subscription(org, "s1", name="M365 E3")
        await data.subscription(org, "s2", name="Zero seats", quantity=0)
        sim.set_faults(fail_next=[401, 503])
        run = await wait_for_run(gateway, (await trigger(gateway, SYNC_SUBS))["id"])
        assert (run["state"], run["created"], run["skipped"]) == ("SUCCEEDED", 1, 1), run
        output = capfd.readouterr().err

    # Then every line is JSON with time, level, logger and event
    lines = json_lines(output)
    assert all({"time", "level", "name", "event"} <= line.keys() for line in lines)
    # … the connection test names the seller
    tests = [line for line in lines if line["name"] == "gateway.services.connection"]
    assert {(t["seller_id"], t["result"]) for t in tests} == {("seller-a", "OK")}
    # … each run's lines name seller and run, from start to finish
    finished = {}
    for run_id, kind in ((orgs_run.id, "ORGANIZATIONS"), (int(run["id"]), "SUBSCRIPTIONS")):
        mine = [line for line in lines if line.get("run_id") == run_id]
        assert {line["seller_id"] for line in mine} == {"seller-a"}
        events = [line["event"] for line in mine if line["name"] == "gateway.services.sync.engine"]
        assert events[0].startswith(f"sync run {run_id} started: {kind.lower()}"), events
        assert events[-1].startswith(f"sync run {run_id} succeeded in"), events
        finished[kind] = next(line for line in mine if line.get("state") == "SUCCEEDED")
        assert (finished[kind]["level"], finished[kind]["kind"]) == ("INFO", kind)
    pushed = finished["SUBSCRIPTIONS"]
    assert (pushed["counts"]["created"], pushed["counts"]["skipped"]) == (1, 1)
    assert (pushed["halo"]["retries"], pushed["halo"]["calls"]) == (1, run["haloCalls"])
    # … down to the HaloPSA client, which knows nothing of sellers: its retry line is the run's
    retry = next(line for line in lines if line["name"] == "gateway.halopsa.client")
    assert (retry["seller_id"], retry["run_id"], retry["level"]) == (
        "seller-a",
        int(run["id"]),
        "INFO",
    )
    # … and no line holds the client secret, an access token, the JWT or an Authorization value
    assert_no_credentials(output, SECRET, jwt, *sim.tokens)
    assert len(sim.tokens) == 5  # the test, the save, two syncs and one refresh


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_credentials_in_messages_arguments_extras_and_tracebacks_are_masked(
    log_format: str, capfd, tmp_path: Path
) -> None:
    settings = make_settings(
        f"sqlite://{tmp_path / 'unused.sqlite3'}", tmp_path, log_format=log_format
    )
    jwt = mint_token(settings, seller_id="seller-a", roles=["SELLER_ADMIN"])
    leaky = logging.getLogger("tests.leaky")
    with process_logging(settings):
        # When code logs what it should not: a token URL, request headers, a token answer
        # in extra fields, an exception quoting a request body, a websocket init payload
        leaky.info("POST %s", "https://halo.example/auth/token?client_secret=s3cr3t-v4lue&x=1")
        leaky.warning("request headers %s", {"Authorization": f"Bearer {jwt}", "Accept": "*/*"})
        leaky.warning(
            "token answer",
            extra={
                "response": {"access_token": "tok-0123456789abcdef", "expires_in": 3600},
                "form": "grant_type=client_credentials&client_id=c&client_secret=s3cr3t-v4lue",
                "client_secret": "s3cr3t-v4lue",
            },
        )
        try:
            raise HaloAuthError("HaloPSA echoed: client_secret=s3cr3t-v4lue&scope=all")
        except HaloAuthError:
            leaky.exception("connection test failed")
        with log_context(seller_id="seller-a", run_id=7):
            leaky.info("connection_init %s", json.dumps({"token": jwt}))
            leaky.info("database at %s", "postgres://gateway:pg-p4ssword@db:5432/halo")
        output = capfd.readouterr().err

    # Then none of them is in the log, and the lines still say what happened
    assert_no_credentials(output, "s3cr3t-v4lue", "tok-0123456789abcdef", jwt, "pg-p4ssword")
    assert output.count("[REDACTED]") >= 6
    assert "HaloAuthError" in output and "Traceback" in output  # the stack trace is kept
    assert "https://halo.example/auth/token?client_secret=[REDACTED]&x=1" in output
    if log_format == "json":
        lines = json_lines(output)
        assert lines[2]["response"] == {"access_token": "[REDACTED]", "expires_in": 3600}
        assert lines[2]["client_secret"] == "[REDACTED]"
        assert "client_secret=[REDACTED]" in lines[3]["exc_info"]
        assert (lines[-1]["seller_id"], lines[-1]["run_id"]) == ("seller-a", 7)
    else:
        assert output.rstrip().endswith("[seller_id=seller-a run_id=7]")


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_source_lines_in_tracebacks_stay_readable(log_format: str, capfd, tmp_path: Path) -> None:
    # graphql-core's lexer line "token = self.token = self.lookahead()" came out as
    # "token = [REDACTED]": the masker went by the key name, not the value's shape.
    import graphql

    settings = make_settings(
        f"sqlite://{tmp_path / 'unused.sqlite3'}", tmp_path, log_format=log_format
    )
    code = logging.getLogger("tests.code")
    with process_logging(settings):
        try:
            graphql.parse('{ a(x: "never closed')
        except graphql.GraphQLError:
            code.exception("parse failed")
        code.info("source: %s", "    password: str | None = None")
        code.info("source: %s", "secret = settings.jwt_secret.get_secret_value()")
        code.info("source: %s", 'raise Unauthenticated("The token has expired.") from exc')
        output = capfd.readouterr().err
    assert "token = self.token = self.lookahead()" in output
    assert "password: str | None = None" in output
    assert "secret = settings.jwt_secret.get_secret_value()" in output
    assert "The token has expired." in output
    assert "[REDACTED]" not in output


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        (
            "GET /cb?code=1&access_token=tok-12345&state=x",
            "GET /cb?code=1&access_token=[REDACTED]&state=x",
        ),
        ("password=hunter2 user=bob", "password=[REDACTED] user=bob"),
        ("Conn(password='hunter2', host='db')", "Conn(password='[REDACTED]', host='db')"),
        ('{"refresh_token": "r-0123456789"}', '{"refresh_token": "[REDACTED]"}'),
        ("Authorization: Digest abcdef0123", "Authorization: [REDACTED]"),
        ("x-api-token: abc", "x-api-token: [REDACTED]"),
        ("token = self.lookahead()", "token = self.lookahead()"),
        ("f(token=self.next_token())", "f(token=self.next_token())"),
    ],
)
def test_masking_goes_by_the_shape_of_the_value(line: str, masked: str) -> None:
    from gateway.logging import redact

    assert redact(line) == masked


def test_the_line_budget_lets_a_few_lines_per_key_through_and_counts_the_rest() -> None:
    from gateway.logging import KeyedLineBudget

    now = [0.0]
    budget = KeyedLineBudget(3, 60.0, max_keys=2, clock=lambda: now[0])
    assert [budget.admit("a") for _ in range(5)] == [(True, 0)] * 3 + [(False, 0)] * 2
    assert budget.admit("b") == (True, 0)  # another client has its own budget
    now[0] = 61.0  # next window: the first line says how many were held back
    assert budget.admit("a") == (True, 2)
    assert budget.admit("a") == (True, 0)
    budget.admit("c")  # only the two most recent keys are kept
    assert len(budget._keys) == 2


def test_dramatiq_lines_about_an_unreachable_redis_become_one_warning_per_outage() -> None:
    """The lines Dramatiq's consumer threads log while Redis is away (dramatiq/worker.py),
    logged as it logs them; the outage's lines as a restarted Redis shows them are in
    tests/workers/test_redis_restart.py. Time is given to the filter, not waited for."""
    from dramatiq.errors import ConnectionClosed
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from gateway.logging import BROKER_OUTAGE_QUIET_SECONDS, BrokerOutageFilter

    now = [0.0]
    kept: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(record)

    handler = Keep()
    handler.addFilter(BrokerOutageFilter(clock=lambda: now[0]))
    consumer = logging.getLogger("dramatiq.worker.ConsumerThread(sync)")
    consumer.addHandler(handler)
    level = consumer.level
    consumer.setLevel(logging.INFO)

    def lose(exc: Exception) -> None:
        try:
            raise exc
        except ConnectionClosed as e:
            consumer.critical("Consumer encountered a connection error: %s", e)
        except Exception:
            consumer.critical("Consumer encountered an unexpected error.", exc_info=True)
        consumer.info("Restarting consumer in %0.2f seconds.", 3.0)

    try:
        # Given Redis freezes (a timeout: Dramatiq logs it with a traceback), then refuses
        lose(RedisTimeoutError("Timeout reading from socket"))
        for _ in range(3):
            now[0] += 3
            lose(ConnectionClosed(RedisConnectionError("Error 111 connecting. Refused.")))
        consumer.warning(
            "Failed to post_process_message(%s) due to a connection error: %s\n…",
            "message",
            ConnectionClosed(RedisConnectionError("Error 111 connecting. Refused.")),
        )
        # Then one WARNING without traceback says so
        assert [(r.levelname, r.getMessage(), r.exc_info) for r in kept] == [
            (
                "WARNING",
                "Redis unreachable (Timeout reading from socket): Dramatiq's consumers re-poll "
                "and retry acks until it is back",
                None,
            )
        ]
        # A failure that is not Redis's stays CRITICAL with its traceback, restart line too
        kept.clear()
        now[0] += BROKER_OUTAGE_QUIET_SECONDS
        lose(RuntimeError("a bug"))
        assert [(r.levelname, bool(r.exc_info)) for r in kept] == [
            ("CRITICAL", True),
            ("INFO", False),
        ]
        # And once the consumers were quiet for a while, the next outage says so again
        kept.clear()
        lose(ConnectionClosed(RedisConnectionError("Error 111 connecting. Refused.")))
        assert [(r.levelname, r.getMessage()[:40]) for r in kept] == [
            ("WARNING", "Redis unreachable (Error 111 connecting.")
        ]
    finally:
        consumer.removeHandler(handler)
        consumer.setLevel(level)
