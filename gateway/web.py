"""The seller's pages and the GraphiQL IDE, served from the built files inside the package.

``gateway/web_static/`` is the output of ``web/`` (``npm run build``), committed so that
``pip install`` gives a working app without Node, and checked against its sources by a test
(the build writes a hash of its inputs into ``manifest.json``). Nothing here loads from a CDN:
the IDE's React and GraphiQL scripts are copied from npm packages by the same build.

The pages talk to the gateway only through the public GraphQL API; this module only hands out
files, with a Content-Security-Policy that allows nothing but this origin (and, for framing,
the platform shell's origins in ``WEB_FRAME_ANCESTORS``).
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from gateway.settings import Settings

STATIC_DIR = Path(__file__).parent / "web_static"
# The app's client-side routes: each serves index.html, so a reload or a shared link works.
PAGES = ("/", "/connection", "/configuration", "/mapping", "/logs", "/drift")
# Build output names carry a content hash: a year of caching is safe, a new build has new names.
IMMUTABLE = "public, max-age=31536000, immutable"
# index.html must be fetched anew so a new build's scripts are picked up.
NO_CACHE = "no-cache"
SHELL_ORIGINS_PLACEHOLDER = "__HALO_SHELL_ORIGINS__"
# A source checkout whose build was deleted; a pip-installed package always has it.
NOT_BUILT = "The web app is not built: run `npm ci && npm run build` in web/."


def _csp(frame_ancestors: list[str], *, ide: bool = False) -> str:
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        # GraphiQL's editor (CodeMirror) positions itself with style attributes.
        "style-src 'self' 'unsafe-inline'" if ide else "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        # 'self' covers ws:/wss: to this host in CSP Level 3 browsers.
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        f"frame-ancestors {ancestors}",
    ]
    return "; ".join(directives)


class _ImmutableFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["cache-control"] = IMMUTABLE
        return response


class WebPages:
    """The app's ``index.html`` (with the shell's origins filled in) and the IDE page."""

    def __init__(self, settings: Settings, static_dir: Path = STATIC_DIR) -> None:
        self.static_dir = static_dir
        self.frame_ancestors = list(settings.web_frame_ancestors)
        self.app_enabled = settings.web_app_enabled
        self.ide_enabled = settings.graphiql_enabled
        self._index: str | None = None

    @property
    def built(self) -> bool:
        return (self.static_dir / "index.html").is_file()

    def _index_html(self) -> str:
        if self._index is None:
            html = (self.static_dir / "index.html").read_text(encoding="utf-8")
            origins = escape(json.dumps(self.frame_ancestors), quote=True)
            self._index = html.replace(SHELL_ORIGINS_PLACEHOLDER, origins)
        return self._index

    async def index(self, request: Request) -> Response:
        if not self.built:
            return PlainTextResponse(NOT_BUILT, 503)
        return HTMLResponse(
            self._index_html(),
            headers={
                "content-security-policy": _csp(self.frame_ancestors),
                "cache-control": NO_CACHE,
            },
        )

    def ide(self, request: Request) -> Response:
        """GraphiQL from local files (``graphiql/``), answered on ``GET /graphql``."""
        page = self.static_dir / "graphiql" / "index.html"
        if not page.is_file():
            return PlainTextResponse(NOT_BUILT, 503)
        html = page.read_text(encoding="utf-8")
        return HTMLResponse(
            html,
            headers={"content-security-policy": _csp([], ide=True), "cache-control": NO_CACHE},
        )

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = []
        if self.app_enabled:
            routes += [Route(page, self.index, methods=["GET", "HEAD"]) for page in PAGES]
            assets = _ImmutableFiles(directory=self.static_dir / "assets", check_dir=False)
            routes.append(Mount("/assets", app=assets))
        if self.ide_enabled:
            ide_files = StaticFiles(directory=self.static_dir / "graphiql", check_dir=False)
            routes.append(Mount("/graphiql", app=ide_files))
        return routes
