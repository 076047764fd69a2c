"""The FastAPI application: pages, REST API, websockets, on one port.

`create_app(settings)` builds the app; its lifespan builds the container (the
composition root) and runs its tasks for as long as the app serves. What it serves
follows the process's role (config.settings.ProcessRole): `all` serves everything;
`web` serves pages, API and websockets (the PBX's webhooks go to the router);
`router` serves only what operators and the PBX need of it, `/api/health`,
`/metrics` and, with Twilio, the webhooks (`/twilio/…`): no page, no sign-in.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent_ui import docs, errors, health, openapi, pages, route_index, ws
from agent_ui.api import audit as audit_api
from agent_ui.api import auth as auth_api
from agent_ui.api import console as console_api
from agent_ui.api import desk as desk_api
from agent_ui.api import recordings as recordings_api
from agent_ui.api import reports as reports_api
from agent_ui.api import supervisor as supervisor_api
from agent_ui.api import users as users_api
from agent_ui.bootstrap import Container, build
from agent_ui.csrf import CsrfTokens
from agent_ui.deps import container_of
from agent_ui.middleware import OriginCheck, SecurityHeaders, SignInGate
from agent_ui.models import Role
from agent_ui.pages.common import form_refused as page_form_refused
from agent_ui.pages.common import page_missing
from config.settings import MIN_SESSION_SECRET, PLACEHOLDER_SECRETS, ProcessRole, Settings, load_settings
from cti.twilio.urls import PREFIX as TWILIO_PREFIX

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from cti.twilio.link import TwilioLink


def form_secret(settings: Settings) -> str:
    """The session secret keys the form tokens; the demo's placeholder is replaced by a random
    one per process (outside demo a weak one never gets here: settings refuse it)."""
    secret = settings.session_secret.get_secret_value()
    if secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SESSION_SECRET:
        return secrets.token_urlsafe(32)
    return secret


def create_app(
    settings: Settings,
    *,
    container: Container | None = None,
    on_deposed: Callable[[BaseException], None] | None = None,
    serving: bool = False,
) -> FastAPI:
    """`on_deposed`: what an elected router that lost its lock does besides stopping (the CLI exits).
    `serving`: this app is its process's server (`hotline serve`, a uvicorn worker): once it
    has started, the collector is settled (`settle_collector`). Tests leave it off: it acts on
    the whole process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = container or build(settings)
        if on_deposed is not None:
            built.on_deposed = on_deposed
        app.state.container = built
        try:
            async with asyncio.TaskGroup() as group:
                runner = group.create_task(built.run(), name="hotline-services")
                await built.started.wait()
                if serving:
                    settle_collector()
                try:
                    yield
                finally:
                    runner.cancel()
        finally:
            await built.aclose()

    app = FastAPI(
        title="Hotline",
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
        docs_url=None,  # agent_ui.docs serves /docs and /redoc from packaged assets (offline)
        redoc_url=None,
    )
    app.state.csrf = CsrfTokens(form_secret(settings))
    trusted = [*settings.trusted_origins, *([settings.public_base_url] if settings.public_base_url else [])]
    app.add_middleware(SignInGate)
    app.add_middleware(OriginCheck, trusted=trusted, exempt=(TWILIO_PREFIX + "/",))
    public_https = (settings.public_base_url or "").lower().startswith("https://")
    app.state.public_https = public_https  # agent_ui.auth.is_https: cookies Secure behind a TLS proxy
    app.add_middleware(SecurityHeaders, public_https=public_https)
    errors.install(app)
    if settings.role != ProcessRole.ROUTER:
        _serve_people(app)
    if settings.pbx == "twilio" and settings.role != ProcessRole.WEB:  # where the call book is
        from cti.twilio.webhooks import twilio_router

        app.include_router(twilio_router(_twilio_link), dependencies=[Depends(_leading)])
    _serve_operators(app)
    if settings.role != ProcessRole.ROUTER:
        openapi.install(app, frozenset(str(r) for r in Role))
        docs.install(app)
        app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    route_index.install(app)  # HTTP requests tried only against the routes their path can match
    build_routes(app)
    return app


def build_routes(app: FastAPI) -> None:
    """Build every included router's routes now, not at the first request that walks past them.

    FastAPI 0.165 builds an included router's routes lazily (each route's dependency graph and
    body model, pydantic schemas): at the first request matched through it, on the event loop
    that also carries the calls. The first request after a start built every router matched
    before its own: the first Twilio webhook, matched after the pages and the API, spent
    0.16-0.20 s of CPU there (0.3-1.8 s of wall time at load ~10; 3.1 s on a CI runner) while
    its caller waited for the menu and nothing else on the loop ran. Built while the app is
    made, before it serves, the start pays it instead. (The route index, agent_ui.route_index,
    reads every included router's routes to build its table at the first request: it built
    them all there; since the API's routes are included flat, 0.08-0.09 s of CPU were left.)"""
    for _ in iter_route_contexts(app.router.routes):
        pass


def app_from_environment() -> FastAPI:
    """`hotline serve --role web --workers N`: each uvicorn worker process builds its app from
    the environment (HOTLINE_*, the serve command's options included), checked by the parent."""
    return create_app(load_settings(), serving=True)


YOUNG_OBJECTS = 20_000  # net new container objects between collections of the youngest generation


def settle_collector() -> None:
    """After start-up: what the process built to serve (routes, models, mappers, the
    container: ~250,000 objects) is frozen out of the cyclic collector's view, and the youngest
    generation is collected every 20,000 net new objects rather than 700.

    Why: with 32 requests in flight the default 700 was crossed every few requests, and each
    full collection walked every object of the process: ~80 ms of collector time per second
    of load, ~50-120 µs per ticket read, more than the read itself (docs/BENCHMARKS.md, #18).
    Requests free what they build by reference counting; cyclic garbage now waits for
    20,000 net new objects (a few MB) instead of 700."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, 10, 10)


def _serve_people(app: FastAPI) -> None:
    """Pages, the REST API and the websockets: what agents, supervisors and admins use."""
    app.include_router(pages.router)
    # A page's form refused by the framework answers a page, not the API's JSON (agent_ui.errors).
    app.add_exception_handler(RequestValidationError, page_form_refused)
    app.add_exception_handler(StarletteHTTPException, page_missing)  # a mistyped link: a page
    app.include_router(ws.router)
    api = (auth_api, console_api, supervisor_api, reports_api, desk_api, recordings_api, audit_api, users_api)
    for part in api:
        include_flat(app, part.router, prefix="/api")


# What `add_api_route` takes, each also an attribute of the route it built (checked at import).
_ROUTE_SETTINGS = tuple(
    name
    for name in inspect.signature(APIRouter.add_api_route).parameters
    if name not in ("self", "path", "endpoint", "route_class_override")
)


def include_flat(app: FastAPI, router: APIRouter, *, prefix: str) -> None:
    """`app.include_router(router, prefix=prefix)` for a router of plain API routes, added to
    the app's own route list (same order, same settings: tags, responses, models, names, the
    OpenAPI document byte for byte) instead of as a nested router. FastAPI 0.165 matches a
    nested router's routes once to find it and again to handle the request, and walks them to
    check their version each time: ~15 % of a ticket read's CPU (docs/BENCHMARKS.md, #18)."""
    assert not router.dependencies and not router.callbacks and not router.on_startup, router
    for route in router.routes:
        assert isinstance(route, APIRoute), route  # a nested router or a websocket: include_router
        settings = {name: getattr(route, name) for name in _ROUTE_SETTINGS}
        app.router.add_api_route(prefix + route.path, route.endpoint, **settings)


def _serve_operators(app: FastAPI) -> None:
    """Health for the load balancer and Prometheus's scrape: every role serves them."""

    @app.get("/api/health", tags=["ops"], responses={503: {}})
    async def health_report(request: Request) -> JSONResponse:
        """Each component with a reason; 503 while the PBX link or the database is down."""
        status, body = await health.check(container_of(request))
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    registries: list[CollectorRegistry] = []

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus text format: the bus, the PBX link, the router's counters and the queue KPIs."""
        from agent_ui import metrics as exposition  # prometheus-client only once someone scrapes

        if not registries:
            registries.append(exposition.registry_for(container_of(request)))
        return Response(exposition.render(registries[0]), media_type=exposition.CONTENT_TYPE)


STANDBY_RETRY_AFTER_S = 1  # about a takeover (the lease, the poll, the start): then ask again


async def _leading(request: Request) -> None:
    """A router that does not lead answers no Twilio webhook: 503 with Retry-After.

    A standby's call book is not the leader's (it has not loaded it, its link is not running),
    so its answer would be wrong: a waiting caller sent to voicemail, a status nobody publishes.
    The 503 sends Twilio to the voice URL's fallback (or the proxy to the other router). The
    same holds for a leader whose lease ran out: the fence's own test, as for AMI actions.
    Async though it awaits nothing: FastAPI runs a plain `def` dependency in its worker-thread
    pool, and every webhook then waited for a thread to be free and scheduled."""
    elector = container_of(request).elector
    if elector is not None and not elector.fence.valid:
        raise errors.ApiError(
            503,
            "not_leader",  # the same answer as the Twilio link's own standby check
            "this router stands by; retry",
            headers={"Retry-After": str(STANDBY_RETRY_AFTER_S)},
        )


def _twilio_link(request: Request) -> TwilioLink | None:
    from cti.twilio.link import TwilioLink

    link = container_of(request).link
    return link if isinstance(link, TwilioLink) else None
