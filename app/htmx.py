"""htmx helpers: is this a fragment request, and events for the page to react to."""

import json
from typing import Any

from fastapi import Request, Response


def is_htmx(request: Request) -> bool:
    """A fragment request: sent by htmx, and neither boosted nor a history restore."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def trigger(response: Response, event: str, **data: Any) -> None:
    """Add an `HX-Trigger` event, merging with any already set on the response."""
    existing = response.headers.get("HX-Trigger")
    events: dict[str, Any] = json.loads(existing) if existing else {}
    events[event] = data or True
    response.headers["HX-Trigger"] = json.dumps(events)


def vary_on_htmx(response: Response) -> None:
    vary = response.headers.get("Vary")
    if vary is None:
        response.headers["Vary"] = "HX-Request"
    elif "HX-Request" not in vary:
        response.headers["Vary"] = f"{vary}, HX-Request"
