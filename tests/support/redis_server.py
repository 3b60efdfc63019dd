"""A Redis server of a test's own, to stop and start again (the shared one on 6379 never is).

It keeps its data across a restart the way a stock Redis does (an RDB snapshot written on
shutdown, read on start), so a restart loses nothing that was stored: queued messages,
messages being worked on, rate-limit windows.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from tests.support.servers import free_port

# How long a fresh redis-server may take to answer PING on a loaded machine.
START_TIMEOUT_SECONDS = 15.0


class RedisServer:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.port = port or free_port()
        self.data_dir = data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--save",
                "3600 1",  # a snapshot on shutdown, like a stock configuration
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} exited at start")
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """A clean shutdown (SHUTDOWN SAVE, what a restart of the service does)."""
        if self.process is None:
            return
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "save"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _answers(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return result.stdout.strip() == b"PONG"
