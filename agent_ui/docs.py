"""The API documentation page, offline: Swagger UI (/docs) from a package.

FastAPI's own pages load Swagger UI from a CDN and start it with an inline script: blank on a
network without the internet, and they need 'unsafe-inline' for scripts. Here the assets come
from the `fastapi-offline` wheel (Swagger UI 5, which reads OpenAPI 3.1), served by Hotline under
`/docs-static/`, and Swagger UI is started by `/static/docs.js` (no inline script). The page's CSP
still allows inline *styles* (Swagger UI sets element styles), nothing from another origin
(`agent_ui.middleware.DOCS_CSP`). No /redoc: ReDoc's bundle loads its logo from a CDN.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).with_name("static")
PREFIX = "/docs-static"

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} — API</title>
<link rel="icon" href="{prefix}/favicon.png">
<link rel="stylesheet" href="{prefix}/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{prefix}/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>
"""


def install(app: FastAPI) -> None:
    """Serve /docs from the packaged assets (create the app with docs_url=None, redoc_url=None)."""
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-static")
    openapi = app.openapi_url or "/openapi.json"
    values = {"title": app.title, "prefix": PREFIX, "openapi": openapi}

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(_SWAGGER.format(**values))
