"""Node.js clients for the tests: the packages in tests/node, installed once with ``npm ci``.

The frontend's own clients (Apollo Client, urql, graphql-ws) and the graphql-http audit suite
run as node scripts against a live gateway; each prints one JSON document that the test
reads. ``npm ci`` installs the committed lock file (about 6 s, ~36 MB) the first time a test
needs it, under a file lock so parallel pytest workers install once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
# npm ci on a cold cache downloads ~40 packages; a slow registry can take minutes.
NPM_CI_TIMEOUT_SECONDS = 600
# A node script that has not printed its result by then is stuck (e.g. a socket never closed).
NODE_SCRIPT_TIMEOUT_SECONDS = 180


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is needed for the client tests (tests/node)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def ensure_node_packages() -> None:
    npm = _tool("npm")
    _tool("node")
    lock_path = Path(tempfile.gettempdir()) / "halo-gateway-npm-ci.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        installed = NODE_DIR / "node_modules" / ".package-lock.json"
        wanted = NODE_DIR / "package-lock.json"
        if installed.exists() and installed.stat().st_mtime >= wanted.stat().st_mtime:
            return
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
            cwd=NODE_DIR,
            check=True,
            capture_output=True,
            timeout=NPM_CI_TIMEOUT_SECONDS,
        )


def start_node(script: str, *args: str) -> subprocess.Popen[str]:
    """Start ``tests/node/<script>`` in the background; ``finish_node`` reads its JSON."""
    ensure_node_packages()
    return subprocess.Popen(
        [_tool("node"), script, *args],
        cwd=NODE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_node(process: subprocess.Popen[str]) -> Any:
    try:
        stdout, stderr = process.communicate(timeout=NODE_SCRIPT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    if process.returncode != 0:
        pytest.fail(f"node failed ({process.returncode}):\n{stderr[-4000:]}")
    return json.loads(stdout)


def run_node(script: str, *args: str) -> Any:
    """Run ``tests/node/<script>`` and return the JSON it printed."""
    ensure_node_packages()
    done = subprocess.run(
        [_tool("node"), script, *args],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=NODE_SCRIPT_TIMEOUT_SECONDS,
    )
    if done.returncode != 0:
        pytest.fail(f"node {script} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)
