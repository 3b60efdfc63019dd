"""Live events executed once per selection and written to every socket that shares it
(schema/fanout.py), over real websockets against a running gateway.

What the gateway executes is read where an operator reads it (``/metrics``): distinct
selections (``halo_gateway_live_groups``), subscriptions they serve, and shared results.
"""

from __future__ import annotations

import asyncio
import json
import socket as sockets
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from tests.support.ws import PROTOCOL, open_socket, receive, subscribe, ws_url

EVENTS = """subscription ($kind: SyncKind) {
  syncEvents(kind: $kind) { runId kind phase processed sequence epoch message }
}"""
RESUMABLE = """subscription ($after: Int, $epoch: String) {
  syncEvents(afterSequence: $after, epoch: $epoch) {
    runId kind scope phase processed sequence epoch
  }
}"""
# Large enough that a socket which stops reading falls behind its backlog quickly.
BIG = "x" * 16_000


async def _metrics(gateway) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=gateway.base_url) as client:
        text = (await client.get("/metrics")).text
    values = {}
    for line in text.splitlines():
        if line.startswith("halo_gateway_live_"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


async def _until_sockets(gateway, count: int) -> dict[str, float]:
    """Waits until ``count`` subscriptions are served (past their first part)."""
    while True:
        values = await _metrics(gateway)
        if values.get("halo_gateway_live_sockets") == count:
            return values
        await asyncio.sleep(0.05)


async def _socket(gateway, seller="seller-a", role="SELLER_ADMIN", **kw: Any) -> ClientConnection:
    socket = await open_socket(gateway.base_url, {"token": gateway.token(seller, role)}, **kw)
    assert (await receive(socket))["type"] == "connection_ack"
    return socket


def _publish(gateway, seller: str, n: int, *, kind: str = "SUBSCRIPTIONS", message=None) -> None:
    """Publishes through the gateway's own bus, from this thread, the way its worker does."""
    from gateway.events import SyncEvent

    bus = gateway.app.state.halo.deps.bus

    async def publish() -> None:
        for i in range(n):
            event = SyncEvent(
                seller_id=seller,
                run_id=7,
                kind=kind,
                scope="ALL",
                phase="PROGRESS",
                processed=i,
                message=message,
            )
            await bus.publish(event)

    asyncio.run(publish())


def _event(message: dict) -> dict:
    assert message["type"] == "next", message
    return message["payload"]["data"]["syncEvents"]


async def _nothing_more(socket: ClientConnection) -> bool:
    try:
        raw = await asyncio.wait_for(socket.recv(), 0.5)
    except TimeoutError:
        return True
    return json.loads(raw)["type"] in ("ping", "pong")


async def test_sockets_with_one_selection_share_one_execution_and_others_do_not(
    migrated_db, gateway
) -> None:
    # Given two pages of seller-a with the same document and variables, one with other
    # variables, one with another role, and a page of seller-b
    a1, a2, a_orgs, a_agent, b = [
        await _socket(gateway),
        await _socket(gateway),
        await _socket(gateway),
        await _socket(gateway, role="SELLER_AGENT_ADMIN"),
        await _socket(gateway, seller="seller-b"),
    ]
    try:
        for page in (a1, a2, a_agent, b):
            await subscribe(page, EVENTS)
        await subscribe(a_orgs, EVENTS, {"kind": "ORGANIZATIONS"})
        before = await _until_sockets(gateway, 5)
        assert before["halo_gateway_live_groups"] == 4

        # When seller-a's run sends one event
        await asyncio.to_thread(_publish, gateway, "seller-a", 1, kind="ORGANIZATIONS")

        # Then every page of seller-a gets it, and it was executed once per selection: the
        # two identical pages shared one execution (3 executions for 4 deliveries)
        got = [_event(await receive(page)) for page in (a1, a2, a_orgs, a_agent)]
        assert {e["processed"] for e in got} == {0} and len({e["sequence"] for e in got}) == 1
        after = await _metrics(gateway)
        executed = after["halo_gateway_live_executions_total"]
        assert executed - before["halo_gateway_live_executions_total"] == 3
        # and seller-b's page got nothing
        assert await _nothing_more(b)

        # When seller-b's run sends one: only its page gets it, one more execution
        await asyncio.to_thread(_publish, gateway, "seller-b", 1)
        assert _event(await receive(b))["processed"] == 0
        assert await _nothing_more(a1)
        assert (await _metrics(gateway))["halo_gateway_live_executions_total"] == executed + 1

        # A page that leaves leaves its selection to the other; the last one ends it
        await a2.close()
        await _until_sockets(gateway, 4)
        assert (await _metrics(gateway))["halo_gateway_live_groups"] == 4
        await a1.close()
        await _until_sockets(gateway, 3)
        assert (await _metrics(gateway))["halo_gateway_live_groups"] == 3
    finally:
        for page in (a1, a2, a_orgs, a_agent, b):
            await page.close()


class _StalledPage:
    """A page that stops reading its socket: the websocket protocol (websockets' sans-I/O
    client) over a plain TCP stream with a small receive buffer, read only when asked, so
    the gateway's writes to it stop going through once the buffers are full."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol):
        self.reader, self.writer, self.protocol = reader, writer, protocol
        self.pending: list[dict] = []

    @classmethod
    async def open(cls, gateway) -> _StalledPage:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        uri = parse_uri(ws_url(gateway.base_url))
        raw = sockets.socket()
        raw.setsockopt(sockets.SOL_SOCKET, sockets.SO_RCVBUF, 4096)
        raw.setblocking(False)
        await asyncio.get_running_loop().sock_connect(raw, (uri.host, uri.port))
        reader, writer = await asyncio.open_connection(sock=raw, limit=4096)
        protocol = ClientProtocol(uri, subprotocols=[PROTOCOL], max_size=None)  # type: ignore[list-item]
        protocol.send_request(protocol.connect())
        page = cls(reader, writer, protocol)
        await page._flush()
        while protocol.handshake_exc is None and protocol.state.name == "CONNECTING":
            protocol.receive_data(await asyncio.wait_for(reader.read(65536), 10))
        assert protocol.state.name == "OPEN", protocol.handshake_exc
        protocol.events_received()  # the handshake's response
        await page.send({"type": "connection_init", "payload": {"token": gateway.token()}})
        assert (await page.receive())["type"] == "connection_ack"
        return page

    async def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            self.writer.write(data)
        await self.writer.drain()

    async def send(self, message: dict) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        await self._flush()

    async def receive(self) -> dict:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), 60)
            assert data, "the gateway closed the socket"
            self.protocol.receive_data(data)
            for frame in self.protocol.events_received():
                if getattr(frame, "opcode", None) is not None and frame.opcode.name == "TEXT":
                    self.pending.append(json.loads(frame.data))
            await self._flush()  # pongs
        return self.pending.pop(0)

    async def close(self) -> None:
        self.writer.close()


async def _read_events(socket: Any, until_sequence: int) -> list[dict]:
    events = []
    while not events or events[-1]["sequence"] < until_sequence:
        if isinstance(socket, _StalledPage):
            message = await socket.receive()
        else:
            message = await receive(socket, timeout=60)
        events.append(_event(message))
    return events


async def _a_slow_page_beside_a_fast_one(gateway, published: int) -> list[dict]:
    """Both on one selection; the slow page reads nothing while ``published`` big events go
    out. Returns what the slow page then reads, after the fast one got every event in order."""
    fast = await _socket(gateway)
    slow = await _StalledPage.open(gateway)
    try:
        await subscribe(fast, EVENTS)
        await slow.send({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}})
        before = await _until_sockets(gateway, 2)
        # The fast page gets every event, in order, while the slow one reads nothing. (In
        # bursts of 100, each read before the next: a run sends progress a few times a second,
        # and the selection's own execution must not fall behind the bus here.)
        fast_events: list[dict] = []
        for sent in range(100, published + 1, 100):
            await asyncio.to_thread(_publish, gateway, "seller-a", 100, message=BIG)
            fast_events += await _read_events(fast, sent)
        assert [e["sequence"] for e in fast_events] == list(range(1, published + 1))
        assert {e["phase"] for e in fast_events} == {"PROGRESS"}
        slow_events = await _read_events(slow, published)
        # The slow page had fallen further behind than its backlog: it was brought up to date
        catch_ups = "halo_gateway_live_catch_ups_total"
        assert (await _metrics(gateway))[catch_ups] > before.get(catch_ups, 0)
        assert await _nothing_more(fast)
        return slow_events
    finally:
        await fast.close()
        await slow.close()


async def test_a_slow_page_never_delays_the_others_and_catches_up_exactly(
    migrated_db, gateway
) -> None:
    # The bus keeps 1,000 events per seller: what the slow page missed is replayed, in order,
    # each event once, with no RESYNC
    events = await _a_slow_page_beside_a_fast_one(gateway, 600)
    assert [e["sequence"] for e in events] == list(range(1, 601))
    assert "RESYNC" not in {e["phase"] for e in events}


async def test_a_slow_page_whose_missed_events_are_gone_gets_resync_then_goes_on(
    migrated_db, settings, gateway_factory
) -> None:
    gateway = gateway_factory(settings.model_copy(update={"event_replay_max_events": 50}))
    events = await _a_slow_page_beside_a_fast_one(gateway, 600)
    # What it read before falling behind is in order; then RESYNC, numbered with where the
    # seller's events stand, so a page that resumes later starts from there
    phases = [e["phase"] for e in events]
    assert "RESYNC" in phases
    cut = phases.index("RESYNC")
    before = [e["sequence"] for e in events[:cut]]
    assert before == list(range(1, len(before) + 1))
    assert events[cut]["sequence"] == 600
    assert all(e["sequence"] == 600 for e in events[cut:])


async def test_a_page_that_reconnects_with_after_sequence_gets_exactly_what_it_missed(
    migrated_db, gateway
) -> None:
    # Given a page that saw three events of seller-a's run, then lost its socket
    page = await _socket(gateway)
    await subscribe(page, RESUMABLE)
    await _until_sockets(gateway, 1)
    await asyncio.to_thread(_publish, gateway, "seller-a", 3)
    seen = [_event(await receive(page)) for _ in range(3)]
    await page.close()
    last = seen[-1]
    # While it was away, two more
    await asyncio.to_thread(_publish, gateway, "seller-a", 2)

    # When it resubscribes from its last sequence
    again = await _socket(gateway)
    try:
        resume = {"after": last["sequence"], "epoch": last["epoch"]}
        await subscribe(again, RESUMABLE, resume)
        # Then it gets the two it missed, in order, then what follows
        missed = [_event(await receive(again)) for _ in range(2)]
        assert [e["sequence"] for e in missed] == [last["sequence"] + 1, last["sequence"] + 2]
        # (a run's kind and scope: SyncKind and SyncScope values, as the strings they were)
        assert {(e["kind"], e["scope"]) for e in seen + missed} == {("SUBSCRIPTIONS", "ALL")}
        await _until_sockets(gateway, 1)
        await asyncio.to_thread(_publish, gateway, "seller-a", 1)
        assert _event(await receive(again))["sequence"] == last["sequence"] + 3

        # A page from another epoch (the events were lost) is told to refresh instead
        await subscribe(again, RESUMABLE, {"after": 2, "epoch": "gone"}, op_id="2")
        resync = _event(await receive(again))
        # (about every kind and scope: neither is named)
        assert (resync["phase"], resync["kind"], resync["scope"]) == ("RESYNC", None, None)
        # A negative sequence is refused, with its code
        await subscribe(again, RESUMABLE, {"after": -1, "epoch": "x"}, op_id="3")
        refused = await receive(again)
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert (await receive(again))["type"] == "complete"
    finally:
        await again.close()


OVERVIEW = """subscription { syncOverviewChanged { version organizations { state } } }"""
OVERVIEW_OTHER = """subscription { syncOverviewChanged { version openIssues } }"""


async def test_overview_updates_carry_a_version_and_never_go_back(migrated_db, gateway) -> None:
    # Given events already sent for seller-a, and two pages with different overview documents
    await asyncio.to_thread(_publish, gateway, "seller-a", 2)
    pages = [await _socket(gateway), await _socket(gateway)]
    try:
        await subscribe(pages[0], OVERVIEW)
        await subscribe(pages[1], OVERVIEW_OTHER)
        # Then each gets the overview now, versioned with the seller's last event
        first = [(await receive(p))["payload"]["data"]["syncOverviewChanged"] for p in pages]
        assert [o["version"] for o in first] == [2, 2]
        await _until_sockets(gateway, 2)
        # When state changes arrive (progress does not change the overview)
        from gateway.events import SyncEvent

        bus = gateway.app.state.halo.deps.bus

        def send(phase: str) -> None:
            event = SyncEvent(
                seller_id="seller-a", run_id=7, kind="ORGANIZATIONS", scope="ALL", phase=phase
            )
            asyncio.run(bus.publish(event))

        for phase in ("QUEUED", "PROGRESS", "STARTED", "COMPLETED"):
            await asyncio.to_thread(send, phase)
        # Then each page gets one overview per change, in order of the events
        for page in pages:
            got = [
                (await receive(page))["payload"]["data"]["syncOverviewChanged"]["version"]
                for _ in range(3)
            ]
            assert got == [3, 5, 6]
            assert await _nothing_more(page)
    finally:
        for page in pages:
            await page.close()
