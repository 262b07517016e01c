"""Board cards rendered once and reused: most of a board's time used to be Jinja rendering
the same cards again for every viewer and every poll.

A card's HTML is kept under a key made only of what the card shows, all of it read from the
database with the card: the task's id, version and last change, the viewer's permission class
(the columns this viewer may move it into, which is all the card shows of the viewer), the
plan day and what it makes of the due date, the names of its unit, district and programs, its
evidence count, and the filter the board carries in its links; plus the card template's own
markup version (a hash of its source). A process holding an entry can therefore never serve
it stale: any change another process makes shows up as a different key. The card template
must use nothing else (no CSRF token, no user, no request), which is why the move control is
a link and the form lives once per page (templates/board/_move_dialog.html).
"""

import hashlib
from collections.abc import Hashable

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from app.html_cache import HtmlCache
from app.services.board import Card

CARD_TEMPLATE = "board/_card.html"
# ~1 KB a card: a few MB per process, enough for every card of a 5,000-task plan.
MAX_ENTRIES = 6000


card_cache = HtmlCache(MAX_ENTRIES)
_markup_versions: dict[tuple[int, str], str] = {}


def markup_version(environment: Environment, name: str = CARD_TEMPLATE) -> str:
    """A hash of the template's source: a deploy that changes the card changes every key."""
    memo = (id(environment), name)
    if memo not in _markup_versions:
        loader = environment.loader
        assert loader is not None
        source, _, _ = loader.get_source(environment, name)
        _markup_versions[memo] = hashlib.sha256(source.encode()).hexdigest()[:12]
    return _markup_versions[memo]


def card_key(card: Card, *, query_string: str, markup: str) -> tuple[Hashable, ...]:
    """Everything the card's HTML depends on (see the module's docstring)."""
    task = card.task
    return (
        markup,
        task.id,
        task.version,
        task.updated_at,
        tuple(s.value for s in card.move_targets),
        card.today,
        card.due_day,
        card.days_late,
        card.lead_unit_name,
        card.district_name,
        tuple((p.id, p.short_name, p.kind) for p in card.programs),
        card.evidence_count,
        query_string,
    )


@pass_context
def card_html(context: Context, card: Card, query_string: str = "") -> Markup:
    """Jinja global: the card's HTML, from the cache or rendered now (and kept)."""
    environment = context.environment
    key = card_key(card, query_string=query_string, markup=markup_version(environment))

    def render() -> str:
        html = environment.get_template(CARD_TEMPLATE).render(card=card, query_string=query_string)
        # The template's indentation is for people; a board carries hundreds of cards.
        return "\n".join(line.strip() for line in html.splitlines() if line.strip())

    return card_cache.get_or_render(key, render)
