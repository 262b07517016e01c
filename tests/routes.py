"""The app's route table, as the fuzzers and the walking tests discover it (every route any
module registers, whenever it was added)."""

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts


@dataclass(frozen=True)
class AppRoute:
    path: str  # as declared, with its prefix: "/admin/units/{unit_id:int}/edit"
    method: str
    route: APIRoute


def app_routes(app: FastAPI) -> list[AppRoute]:
    """Every FastAPI route of `app` with its full path, one entry per method."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path:
            found += [AppRoute(context.path, m, route) for m in sorted(context.methods or ())]
    return found
