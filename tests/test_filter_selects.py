"""The one macro for the task filters' selects (templates/_filter_selects.html), used by the
board and the dashboard."""

import re
from typing import Any

from fastapi.testclient import TestClient

from app.dashboard_html import fragment_cache
from app.models import ProgramKind
from app.services.filters import TaskFilter
from app.services.reference_lists import Choice, FilterOptions
from app.templating import env
from tests.factories import World, login

PUTR = Choice(id=3, short_name="PUTR")
RB = Choice(id=7, short_name="Rantau <Bayur>")
SEHAT = Choice(id=5, short_name="Sehat")
OPTIONS = FilterOptions(
    agencies=(PUTR,), districts=(RB,), programs=((ProgramKind.priority, (SEHAT,)),)
)
SELECTS: Any = env.get_template("_filter_selects.html").module  # macros as attributes


def selected(html: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)" selected>', html)


def test_each_select_marks_the_filtered_value_and_escapes_names() -> None:
    filters = TaskFilter(unit_id=7, program_id=5, district_id=7, program_kind=ProgramKind.movement)

    unit = str(SELECTS.unit_select("bd", OPTIONS, filters))
    program = str(SELECTS.program_select("bd", OPTIONS, filters))
    district = str(SELECTS.district_select("bd", OPTIONS, filters))
    kind = str(SELECTS.kind_select("bd", filters))

    assert 'id="bd-unit" name="unit"' in unit
    assert '<optgroup label="Perangkat Daerah">' in unit
    assert '<optgroup label="Kecamatan">' in unit
    assert selected(unit) == ["7"]
    assert selected(program) == ["5"]
    assert '<optgroup label="Program Unggulan">' in program
    assert selected(district) == ["7"]
    assert selected(kind) == ["movement"]
    assert "Rantau &lt;Bayur&gt;" in district
    assert "<Bayur>" not in district


def test_without_a_filter_the_blank_choice_stands() -> None:
    html = str(SELECTS.unit_select("filter", OPTIONS, TaskFilter()))
    assert selected(html) == []
    assert '<option value="">Semua unit</option>' in html
    assert 'for="filter-unit"' in html


def test_the_board_filter_form_is_kept_under_what_it_shows(
    client: TestClient, world: World
) -> None:
    """The board's filter form is a fragment: one render per (options, filters, viewer's
    unit), reused by the next page that shows the same, a new one for other filters."""
    login(client, world.team)
    client.get("/board")
    renders = fragment_cache.renders
    page = client.get("/board").text
    assert fragment_cache.renders == renders  # the same form again: nothing rendered
    assert 'id="board-filters"' in page
    assert selected(page) == []
    putr = client.get(f"/board?unit={world.putr.pk}&q=jalan%20%3Cbaru%3E").text
    assert fragment_cache.renders > renders
    start = putr.index('id="board-filters"')
    form = putr[start : putr.index("</form>", start)]
    assert selected(form) == [str(world.putr.pk)]
    assert 'value="jalan &lt;baru&gt;"' in form
    assert selected(client.get("/board").text) == []
