"""Websocket fan-out: a live event is executed once per selection, then written to every
socket that shares it (issue #15).

Sockets whose ``subscribe`` asks for the same thing — same seller, same roles, same document
(its SHA-256), same variables; the operation name only picks the operation of a document that
has several — form a :class:`Group`. The group runs the subscription once in ``LIVE`` mode
(``schema.live``): one bus subscription, one execution per event with Strawberry's extensions
and error masking, one JSON encoding. Each socket (:class:`Member`) first runs the
subscription's ``INITIAL`` part for itself (the overview now, the events it missed), then gets
the group's results newer than what that part read.

Per socket, the group's loop writes the operation id and the shared payload with the ASGI
server's own ``send`` (``gateway.edge.ExposeServerSend``) when the socket's transport takes
writes now (uvicorn says so: ``writable``), which completes without waiting. Otherwise — the
transport is full, the socket is still sending its first part, or another server — the entry
goes to the socket's backlog, written by a task of its own, so a socket that stops reading
never delays the others, and order per socket is kept (a socket with a backlog is written
only by its task). Back-pressure: past ``BACKLOG_SIZE`` the backlog is dropped and the
socket is brought up to date again by the ``INITIAL`` part from the last result it was sent
(syncEvents replays what it missed, or says RESYNC when that is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import hashlib
import json
import logging
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any, Protocol, cast

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from gateway import metrics
from gateway.edge import SERVER_SEND
from gateway.events import Position
from schema import live

if TYPE_CHECKING:
    from strawberry.asgi import ASGIWebSocketAdapter
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
        BaseGraphQLTransportWSHandler,
        Operation,
    )

    from gateway.auth import Principal

logger = logging.getLogger(__name__)

# Results a socket may have waiting before it is brought up to date from scratch (the bus
# keeps the same number of events per subscriber).
BACKLOG_SIZE = 256
# Documents remembered as shareable or not (by hash), like the parser cache.
_SHAPE_CACHE_SIZE = 512
# The parser's token limit for the documents looked at here (Strawberry's own is applied when
# the document is executed).
_MAX_TOKENS = 5000


class _Writable(Protocol):
    """Whether the socket's transport takes writes now (see :func:`_writable_flag`)."""

    def is_set(self) -> bool: ...


@dataclasses.dataclass(slots=True, frozen=True)
class Entry:
    """One shared result: its position (None: not tied to an event) and its JSON payload."""

    version: Position | None
    payload: str


class FanOut:
    """The groups of one view (one process)."""

    def __init__(self) -> None:
        self.groups: dict[tuple[Any, ...], Group] = {}
        self._shapes: OrderedDict[str, str | None] = OrderedDict()

    def group_key(
        self, principal: Principal, query: str, variables: Any, operation_name: str | None
    ) -> tuple[Any, ...] | None:
        """The key of the group this subscribe belongs to, or None when it is not shared
        (not a live subscription of ``schema.live.SHARED_FIELDS``, or not even parseable:
        Strawberry's own path answers it as before)."""
        digest = hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()
        shape_key = f"{digest}:{operation_name or ''}"
        if shape_key in self._shapes:
            self._shapes.move_to_end(shape_key)
            operation = self._shapes[shape_key]
        else:
            operation = _shared_operation(query, operation_name)
            self._shapes[shape_key] = operation
            if len(self._shapes) > _SHAPE_CACHE_SIZE:
                self._shapes.popitem(last=False)
        if operation is None:
            return None
        try:
            canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            return None
        return (principal.seller_id, tuple(sorted(principal.roles)), digest, operation, canonical)

    def join(
        self,
        handler: BaseGraphQLTransportWSHandler[Any, Any],
        operation: Operation[Any, Any],
        key: tuple[Any, ...],
    ) -> Member:
        group = self.groups.get(key)
        if group is None or group.closed:
            group = Group(self, key, handler, operation)
            self.groups[key] = group
        elif operation.query == group.query:  # the same text (the key has its digest)
            operation.query = group.query  # one copy of it for all the group's sockets
        return Member(group, handler, operation)

    @property
    def sockets(self) -> int:
        """Subscriptions served (past their first part: every later event reaches them)."""
        return sum(
            1
            for group in list(self.groups.values())
            for member in list(group.members)
            if member.state in (_State.IDLE, _State.DRAIN)
        )

    def forget(self, group: Group) -> None:
        if self.groups.get(group.key) is group:
            del self.groups[group.key]


def _shared_operation(query: str, operation_name: str | None) -> str | None:
    """The name under which the document's selected operation is shared ("" for a document
    with one operation), or None if it is not a shareable subscription."""
    try:
        document = parse(query, max_tokens=_MAX_TOKENS)
    except (GraphQLError, RecursionError):
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        chosen = operations[0] if len(operations) == 1 else None
    else:
        named = [o for o in operations if o.name is not None and o.name.value == operation_name]
        chosen = named[0] if len(named) == 1 else None
    if chosen is None or chosen.operation is not OperationType.SUBSCRIPTION:
        return None
    selections = chosen.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    if selections[0].name.value not in live.SHARED_FIELDS:
        return None
    return "" if len(operations) == 1 else operation_name


def encode(result: ExecutionResult) -> str:
    """The ``next`` payload, as Strawberry's handler builds it, encoded once."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return json.dumps(payload, separators=(",", ":"))


class Group:
    """One execution of a live subscription for every socket that shares it."""

    def __init__(
        self,
        fanout: FanOut,
        key: tuple[Any, ...],
        handler: BaseGraphQLTransportWSHandler[Any, Any],
        operation: Operation[Any, Any],
    ) -> None:
        self.fanout = fanout
        self.key = key
        self.schema = handler.schema
        self.query = operation.query
        self.variables = operation.variables
        self.operation_name = operation.operation_name
        self.state = live.LiveState(live.LiveMode.LIVE)
        self.context = dataclasses.replace(
            handler.context, connection_params=None, loaders={}, live=self.state
        )
        self.members: dict[Member, None] = {}
        # Members still waiting for the start: the group lives on for them.
        self.joining = 0
        self.closed = False
        # Resolved when the bus subscription exists (None), or with the result that ended the
        # subscription before it (an error: every member gets it, as Strawberry would send).
        self.started: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._run(), name="live-group")

    async def wait_started(self) -> Any:
        if self.state.ready.is_set():
            return None
        ready: asyncio.Future[Any] = asyncio.ensure_future(self.state.ready.wait())
        try:
            await asyncio.wait((ready, self.started), return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if self.started.done():
            return self.started.result()
        return None

    async def _run(self) -> None:
        try:
            source = await self.schema.stream(
                self.query,
                variable_values=self.variables,
                context_value=self.context,
                operation_name=self.operation_name,
            )
            async with aclosing(source):
                async for result in source:
                    if not self.state.ready.is_set():
                        if not self.started.done():
                            self.started.set_result(result)
                        return
                    if not isinstance(result, ExecutionResult):
                        continue  # incremental delivery: not offered over this transport
                    entry = Entry(self.state.version, encode(result))
                    metrics.LIVE_EXECUTIONS.inc()
                    for member in list(self.members):
                        await member.offer(entry)
        except Exception:  # ours: logged once for the group, its sockets are completed
            logger.exception("live subscription group failed")
        finally:
            self.close()
            if not self.started.done():
                self.started.set_result(None)
            for member in list(self.members):
                member.end()

    def add(self, member: Member) -> None:
        self.members[member] = None

    def remove(self, member: Member) -> None:
        self.members.pop(member, None)
        if not self.members and not self.joining and not self.closed:
            self.close()
            self.task.cancel()

    def close(self) -> None:
        self.closed = True
        self.fanout.forget(self)


class _State(enum.Enum):
    INIT = "init"  # sending the first part; results wait in the backlog
    IDLE = "idle"  # up to date, no task: written from the group's loop when writable
    DRAIN = "drain"  # its task writes the backlog
    DONE = "done"


class Member:
    """One socket's operation in a group."""

    __slots__ = (
        "backlog",
        "ended",
        "floor",
        "group",
        "handler",
        "lagging",
        "last",
        "operation",
        "prefix",
        "send",
        "state",
        "task",
        "writable",
        "ws",
    )

    def __init__(
        self,
        group: Group,
        handler: BaseGraphQLTransportWSHandler[Any, Any],
        operation: Operation[Any, Any],
    ) -> None:
        self.group = group
        self.handler = handler
        self.operation = operation
        self.ws = cast("ASGIWebSocketAdapter", handler.websocket).ws
        server_send = self.ws.scope.get(SERVER_SEND)
        self.send = server_send or self.ws.send
        self.writable = _writable_flag(server_send)
        self.prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        # Made when results must wait, dropped when written: an idle socket holds no deque
        # (760 bytes each; bench/probe_socket_memory.py).
        self.backlog: deque[Entry] | None = None
        self.state = _State.INIT
        self.floor: Position | None = None
        self.last: Position | None = None
        self.lagging = False
        self.ended = False
        self.task: asyncio.Task[None] | None = asyncio.create_task(self._start())

    # --- the group's side ---------------------------------------------------------------

    async def offer(self, entry: Entry) -> None:
        state = self.state
        if state is _State.IDLE and self.writable is not None and self.writable.is_set():
            # Takes the write at once: no task, no wait (see the module docstring).
            if self._stale(entry):
                return
            try:
                await self.send(self._message(entry))
            except Exception:  # the socket is gone; its handler cleans up
                self.leave()
                return
            self.last = entry.version or self.last
            return
        if state is _State.DONE:
            return
        backlog = self.backlog
        if backlog is None:
            backlog = self.backlog = deque()
        if len(backlog) >= BACKLOG_SIZE:
            # Too far behind: drop what waits, catch up from the last result sent.
            backlog.clear()
            self.lagging = True
        backlog.append(entry)
        if state is _State.IDLE:
            self.state = _State.DRAIN
            self.task = asyncio.create_task(self._drain())

    def _message(self, entry: Entry) -> dict[str, Any]:
        return {"type": "websocket.send", "text": self.prefix + entry.payload + "}"}

    def end(self) -> None:
        """The group's subscription ended: complete after what is waiting."""
        self.ended = True
        if self.state is _State.IDLE:
            self.state = _State.DRAIN
            self.task = asyncio.create_task(self._drain())

    # --- the socket's side --------------------------------------------------------------

    def leave(self) -> None:
        """The client completed the operation or the socket closed."""
        if self.state is _State.DONE:
            return
        self.state = _State.DONE
        self.group.remove(self)
        task, self.task = self.task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def _stale(self, entry: Entry) -> bool:
        return entry.version is not None and self.floor is not None and entry.version <= self.floor

    async def _start(self) -> None:
        self.group.joining += 1
        try:
            failed = await self.group.wait_started()
        finally:
            self.group.joining -= 1
            if self.state is _State.DONE:  # left while waiting (its task may be cancelled)
                self.group.remove(self)  # ends the group if nobody else is in or coming
        if self.state is _State.DONE:
            return
        if failed is not None or self.group.closed:
            await self._finish(failed)
            return
        self.group.add(self)
        try:
            started = await self._first_part(None)
        except Exception:  # the socket went away while sending, or ours: end this operation
            logger.debug("live subscription could not start", exc_info=True)
            await self._finish(None)
            return
        if started:
            await self._drain()

    async def _first_part(self, resume: Position | None) -> bool:
        """The subscription's INITIAL part for this socket; False if it ended the operation."""
        shared = self.group.state
        if resume is None and not shared.first_part and shared.position is not None:
            # Nothing to send first (the group's resolver said so, for these arguments): the
            # socket follows the events from where they stand now.
            self.floor = self.last = shared.position()
            return True
        state = live.LiveState(live.LiveMode.INITIAL, resume=resume)
        context = dataclasses.replace(self.handler.context, loaders={}, live=state)
        source = await self.group.schema.stream(
            self.operation.query,
            variable_values=self.operation.variables,
            context_value=context,
            operation_name=self.operation.operation_name,
        )
        async with aclosing(source):
            async for result in source:
                if isinstance(result, PreExecutionError) or not isinstance(result, ExecutionResult):
                    await self._finish(result)
                    return False
                await self.operation.send_next(result)
                if result.errors and result.data is None:
                    await self._finish(None)
                    return False
        self.floor = self.last = state.version
        return True

    async def _drain(self) -> None:
        self.state = _State.DRAIN
        try:
            while True:
                if self.lagging:
                    self.lagging = False
                    metrics.LIVE_CATCH_UPS.inc()
                    if not await self._first_part(self.last):
                        return
                if not self.backlog:
                    self.backlog = None
                    break
                entry = self.backlog.popleft()
                if self._stale(entry):
                    continue
                await self.send(self._message(entry))
                self.last = entry.version or self.last
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket is gone; its handler cleans up
            self.leave()
            return
        if self.ended:
            await self._finish(None)
            return
        if self.state is _State.DRAIN:
            self.state = _State.IDLE
            self.task = None

    async def _finish(self, result: Any) -> None:
        """End the operation as Strawberry would: the error that stopped it, or complete."""
        self.leave()
        if self.operation.completed:
            return
        with contextlib.suppress(Exception):
            if isinstance(result, PreExecutionError):
                await self.handler._handle_pre_execution_error(self.operation, result)
            elif isinstance(result, ExecutionResult):
                await self.operation.send_next(result)
            if not self.operation.completed:
                await self.operation.send_operation_message(
                    {"id": self.operation.id, "type": "complete"}
                )


def _writable_flag(send: Any) -> _Writable | None:
    """uvicorn's websocket protocol (its ``send`` is a bound method) clears ``writable`` when
    the transport's buffer is full; while it is set, a send completes without waiting. An
    ``asyncio.Event`` in uvicorn's own protocols, a ``WritableFlag`` in the gateway's
    (``gateway.websocket_protocol``): anything with ``is_set()``."""
    flag = getattr(getattr(send, "__self__", None), "writable", None)
    return flag if callable(getattr(flag, "is_set", None)) else None
