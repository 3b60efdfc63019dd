"""The committed build in gateway/web_static is the build of web/ as it is now.

Like schema.graphql, the built app is committed (pip install needs no Node), so it can go
stale. ``npm run build`` writes a SHA-256 over its inputs into ``manifest.json``; this test
recomputes it from the same files (same algorithm as web/scripts/build.mjs) and checks the
outputs the manifest lists are the files on disk. No Node needed here.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "gateway" / "web_static"
# Keep in step with INPUT_FILES / INPUT_DIRS in web/scripts/build.mjs.
INPUT_FILES = [
    "schema.graphql",
    "web/package.json",
    "web/package-lock.json",
    "web/index.html",
    "web/tsconfig.json",
    "web/vite.config.ts",
    "web/codegen.ts",
]
INPUT_DIRS = ["web/src", "web/graphiql", "web/scripts"]
REBUILD = "the committed web build is stale: run `npm ci && npm run build` in web/ and commit"


def inputs_digest() -> str:
    files = list(INPUT_FILES)
    for directory in INPUT_DIRS:
        files += [
            p.relative_to(ROOT).as_posix() for p in (ROOT / directory).rglob("*") if p.is_file()
        ]
    digest = hashlib.sha256()
    for name in sorted(files):
        content = (ROOT / name).read_bytes()
        digest.update(f"{name}\n{len(content)}\n".encode())
        digest.update(content)
    return digest.hexdigest()


def manifest() -> dict:
    return json.loads((STATIC / "manifest.json").read_text())


def test_the_committed_build_was_made_from_the_current_sources() -> None:
    assert manifest()["inputsSha256"] == inputs_digest(), REBUILD


def test_the_committed_build_has_exactly_the_files_its_manifest_lists() -> None:
    listed = manifest()["outputs"]
    on_disk = {
        p.relative_to(STATIC).as_posix(): p
        for p in STATIC.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert sorted(on_disk) == sorted(listed), REBUILD
    for name, path in on_disk.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[name]["sha256"], name


def test_the_pages_load_nothing_from_another_origin() -> None:
    pages = [STATIC / "index.html", STATIC / "graphiql" / "index.html"]
    for page in pages:
        html = page.read_text()
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources, page
        for source in sources:
            assert source.startswith("/") or source.startswith("data:"), (page, source)
            if source.startswith("/"):  # /assets/… and /graphiql/… are served from here
                assert (STATIC / source.lstrip("/")).is_file(), (page, source)
