"""The public promise page under /publik: no login, no session lookup, no JavaScript.

Every answer is a conditional one: the ETag and Last-Modified come from the plan's change
stamp (`public_site.public_plan`, one query), so an unchanged page costs that query and a 304.
`Cache-Control: public` with a short max-age lets a reverse proxy or CDN hold the pages.
While the team has not turned the page on, every path here answers 404.
"""

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from app.config import Settings, SettingsDep
from app.db import SessionDep
from app.errors import NotFound
from app.path_ids import DistrictId, EvidenceId, ProgramId
from app.public_cache import Validators
from app.services import public_feed, public_images
from app.services.evidence_files import EvidenceStore
from app.services.evidence_thumbs import ensure_thumbnail
from app.services.public_site import (
    LABEL_ORDER,
    NOT_FOUND,
    PUBLIC_LABELS,
    PublicSite,
    public_site,
    public_stamp,
)
from app.templating import templates

router = APIRouter(prefix="/publik", tags=["public"], include_in_schema=False)


class Loaded:
    """The plan's stamp and the validators of this request's answer."""

    def __init__(self, request: Request, session: Any) -> None:
        self.stamp = public_stamp(session)
        self.session = session
        self.request = request
        self.validators = Validators.of(self.stamp, request.url.path)
        self.headers = self.validators.headers

    def not_modified(self) -> Response | None:
        """A 304 when the client's copy is current. app.public_cache answers most of these
        before routing; this covers a request that raced a change."""
        headers = self.request.headers
        if self.validators.fresh(headers.get("if-none-match"), headers.get("if-modified-since")):
            return Response(status_code=304, headers=self.headers)
        return None

    def site(self) -> PublicSite:
        return public_site(self.session, stamp=self.stamp)


def _page(loaded: Loaded, name: str, context: dict[str, Any]) -> Response:
    request = loaded.request
    base = str(request.base_url).rstrip("/")
    ctx = {
        "site": context["site"],
        "page_url": base + request.url.path,
        "base_url": base,
        "preview_url": base + context.pop("preview_path", "/publik/pratinjau.png"),
        "PUBLIC_LABELS": PUBLIC_LABELS,
        "LABEL_ORDER": LABEL_ORDER,
        "licence_name": public_feed.LICENCE_NAME,
        "licence_url": public_feed.LICENCE_URL,
        "stamp_key": loaded.validators.etag.strip('"')[:12],
        **context,
    }
    response: Response = templates.TemplateResponse(request, name, ctx, headers=loaded.headers)
    return response


@router.get("")
def home(request: Request, session: SessionDep) -> Response:
    loaded = Loaded(request, session)
    if (cached := loaded.not_modified()) is not None:
        return cached
    return _page(loaded, "public/home.html", {"site": loaded.site()})


@router.get("/program/{program_id}")
def program(request: Request, session: SessionDep, program_id: ProgramId) -> Response:
    loaded = Loaded(request, session)
    site = loaded.site()
    item = site.program(program_id)
    if (cached := loaded.not_modified()) is not None:
        return cached
    return _page(
        loaded,
        "public/program.html",
        {
            "site": site,
            "program": item,
            "preview_path": f"/publik/program/{item.id}/pratinjau.png",
        },
    )


@router.get("/kecamatan")
def districts(request: Request, session: SessionDep) -> Response:
    loaded = Loaded(request, session)
    if (cached := loaded.not_modified()) is not None:
        return cached
    return _page(loaded, "public/districts.html", {"site": loaded.site()})


@router.get("/kecamatan/{district_id}")
def district(request: Request, session: SessionDep, district_id: DistrictId) -> Response:
    loaded = Loaded(request, session)
    site = loaded.site()
    item = site.district(district_id)
    if (cached := loaded.not_modified()) is not None:
        return cached
    return _page(
        loaded,
        "public/district.html",
        {
            "site": site,
            "district": item,
            "preview_path": f"/publik/kecamatan/{item.id}/pratinjau.png",
        },
    )


@router.get("/cara-kami-menilai")
def method(request: Request, session: SessionDep) -> Response:
    loaded = Loaded(request, session)
    if (cached := loaded.not_modified()) is not None:
        return cached
    return _page(loaded, "public/method.html", {"site": loaded.site()})


@router.get("/data.json")
def data_json(request: Request, session: SessionDep) -> Response:
    loaded = Loaded(request, session)
    if (cached := loaded.not_modified()) is not None:
        return cached
    body = json.dumps(public_feed.site_feed(loaded.site()), ensure_ascii=False, indent=1)
    return Response(
        body.encode(),
        media_type="application/json",
        headers={**loaded.headers, "Access-Control-Allow-Origin": "*"},
    )


@router.get("/data.csv")
def data_csv(request: Request, session: SessionDep) -> Response:
    loaded = Loaded(request, session)
    if (cached := loaded.not_modified()) is not None:
        return cached
    return Response(
        public_feed.site_csv(loaded.site()),
        media_type="text/csv; charset=utf-8",
        headers={
            **loaded.headers,
            "Content-Disposition": 'attachment; filename="janji-100-hari.csv"',
        },
    )


# --- images ----------------------------------------------------------------------------


def _preview_response(
    loaded: Loaded, settings: Settings, preview: public_images.Preview
) -> Response:
    path = public_images.preview_path(settings.resolved_data_dir / "public" / "og", preview)
    return FileResponse(path, media_type="image/png", headers=loaded.headers)


@router.get("/pratinjau.png")
def home_preview(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    loaded = Loaded(request, session)
    if (cached := loaded.not_modified()) is not None:
        return cached
    site = loaded.site()
    counts = ", ".join(f"{n} {text.lower()}" for _, text, n in site.label_counts)
    preview = public_images.Preview(
        kicker=f"Janji 100 Hari · {site.plan_name}",
        title=site.day_label,
        figure=f"{site.done_pct:.0f}%",
        figure_caption=f"pekerjaan selesai · rencana hari ini {site.expected_pct:.0f}%",
        lines=(f"{len(site.programs)} janji: {counts}",),
        progress=site.done_pct,
    )
    return _preview_response(loaded, settings, preview)


@router.get("/program/{program_id}/pratinjau.png")
def program_preview(
    request: Request, session: SessionDep, settings: SettingsDep, program_id: ProgramId
) -> Response:
    loaded = Loaded(request, session)
    site = loaded.site()
    item = site.program(program_id)
    if (cached := loaded.not_modified()) is not None:
        return cached
    preview = public_images.Preview(
        kicker=f"Janji 100 Hari · {site.plan_name}",
        title=item.title,
        figure=f"{item.done_pct:.0f}%",
        figure_caption=f"kegiatan selesai · {site.day_label}",
        lines=(f"Status: {item.label_text} · {item.stats.done} dari {item.stats.total} selesai",),
        progress=item.done_pct,
    )
    return _preview_response(loaded, settings, preview)


@router.get("/kecamatan/{district_id}/pratinjau.png")
def district_preview(
    request: Request, session: SessionDep, settings: SettingsDep, district_id: DistrictId
) -> Response:
    loaded = Loaded(request, session)
    site = loaded.site()
    item = site.district(district_id)
    if (cached := loaded.not_modified()) is not None:
        return cached
    total = len(item.tasks)
    pct = 100 * item.done / total if total else 0.0
    preview = public_images.Preview(
        kicker=f"Janji 100 Hari · {site.plan_name}",
        title=item.name,
        figure=f"{item.done}/{total}",
        figure_caption=f"kegiatan yang dipublikasikan selesai · {site.day_label}",
        lines=(),
        progress=pct,
    )
    return _preview_response(loaded, settings, preview)


@router.get("/foto/{evidence_id}.jpg")
def photo(
    request: Request, session: SessionDep, settings: SettingsDep, evidence_id: EvidenceId
) -> Response:
    """A published photo, re-encoded from its pixels at most PHOTO_SIZE px a side: none of
    the original's metadata (EXIF, GPS position, camera, comments) is carried over."""
    loaded = Loaded(request, session)
    item = loaded.site().photo(evidence_id)
    if (cached := loaded.not_modified()) is not None:
        return cached
    path = ensure_thumbnail(
        EvidenceStore(settings.evidence_dir), item.sha256, size=public_images.PHOTO_SIZE
    )
    if path is None:  # unreadable: never fall back to the original with its metadata
        raise NotFound(NOT_FOUND)
    return FileResponse(path, media_type="image/jpeg", headers=loaded.headers)
