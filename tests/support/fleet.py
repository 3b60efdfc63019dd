"""A fleet of `halo-gateway worker` processes for fault tests: start, kill -9, replace, and
read what each one logged.

Each worker writes its JSON log lines to a file of its own (``processes.start_worker``), so a
test can tell which worker runs a run's current attempt (the engine logs "sync run N
started: … attempt K") and assert that a fault of HaloPSA's left no ERROR line behind.
``Worker.kill()`` is SIGKILL: no shutdown hook runs and the message stays unacknowledged, as
when a machine dies; the broker redelivers it after its heartbeat timeout.
"""

from __future__ import annotations

import asyncio
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.settings import Settings
from tests.support.processes import log_records, start_worker, stop

_STARTED = re.compile(r"^sync run (\d+) started: .*attempt (\d+)$")
# What a worker prints past the logging when it starts (click.echo): not a fault.
_BANNER = "worker started"


@dataclass
class Worker:
    name: str
    process: Any
    log_file: Path

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def records(self) -> list[dict[str, Any]]:
        return [{**record, "worker": self.name} for record in log_records(self.log_file)]

    def attempts(self, run_id: int) -> list[int]:
        """The attempts of ``run_id`` this worker started."""
        found = []
        for record in self.records():
            match = _STARTED.match(str(record.get("event", "")))
            if match and int(match.group(1)) == run_id:
                found.append(int(match.group(2)))
        return found

    async def kill(self) -> None:
        """SIGKILL: the worker dies wherever it is, its message still unacknowledged."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        await stop(self.process)


@dataclass
class Fleet:
    settings: Settings
    directory: Path
    workers: list[Worker] = field(default_factory=list)

    async def start(self) -> Worker:
        name = f"w{len(self.workers) + 1}"
        log_file = self.directory / f"{name}.log"
        worker = Worker(name, await start_worker(self.settings, log_file), log_file)
        self.workers.append(worker)
        return worker

    def up(self) -> bool:
        """Every live worker has booted (its event loop is running)."""
        return all(w.records() for w in self.workers if w.alive)

    def running(self, run_id: int, attempt: int) -> Worker | None:
        """The live worker that started attempt ``attempt`` (or a later one) of the run."""
        for worker in self.workers:
            if worker.alive and max(worker.attempts(run_id), default=0) >= attempt:
                return worker
        return None

    async def stop(self) -> None:
        await asyncio.gather(*(worker.stop() for worker in self.workers))

    def serious(self) -> list[dict[str, Any]]:
        """ERROR and CRITICAL lines of every worker, and anything that is not a log line
        (a traceback printed past the logging) but the start-up banner."""
        found = []
        for worker in self.workers:
            for record in worker.records():
                level = record.get("level")
                banner = str(record.get("event", "")).startswith(_BANNER)
                if level in ("ERROR", "CRITICAL") or (level == "RAW" and not banner):
                    found.append(record)
        return found

    def count(self, text: str) -> int:
        """How many log lines of the fleet contain ``text``."""
        return sum(
            text in str(record.get("event", ""))
            for worker in self.workers
            for record in worker.records()
        )

    def warnings(self) -> dict[str, int]:
        """How many WARNING lines each logger wrote, over the fleet."""
        counts: dict[str, int] = {}
        for worker in self.workers:
            for record in worker.records():
                if record.get("level") == "WARNING":
                    name = str(record.get("name"))
                    counts[name] = counts.get(name, 0) + 1
        return counts
