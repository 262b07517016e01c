"""Board cards rendered once and reused: most of a board's time used to be Jinja rendering
the same cards again for every viewer and every poll, then loading them whole to do so.

A card's HTML is kept under its stamp (services.board.CardStamp: the task's id, column,
version and last change, the columns the viewer may move it into, the day, the plans'
reference revision), the filters its links carry, and the card template's own markup version
(a hash of its source). Every part comes from the database or the clock, never from state of
this process, so a process holding an entry can never serve it stale: a change made through
another process shows up as a different key. The board reads the stamps in one narrow query
and loads whole only the cards missing here. The card template must use nothing else (no
CSRF token, no user, no request), which is why the move control is a link and the form lives
once per page (templates/board/_move_dialog.html).
"""

import hashlib
from collections.abc import Hashable, Sequence

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from app.html_cache import HtmlCache
from app.services.board import CachedCards, Card, CardSlot, CardStamp

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


def card_key(stamp: CardStamp, *, query_string: str, markup: str) -> tuple[Hashable, ...]:
    """Everything the card's HTML depends on (see the module's docstring)."""
    return (markup, stamp, query_string)


def cached_cards(environment: Environment, query_string: str) -> CachedCards:
    """The card cache's HTML for a stamp (None when this process has none), for the board's
    service to know which cards it must load whole."""
    markup = markup_version(environment)

    def lookup(stamps: Sequence[CardStamp]) -> list[Markup | None]:
        return card_cache.get_many(
            [card_key(stamp, query_string=query_string, markup=markup) for stamp in stamps]
        )

    return lookup


@pass_context
def card_html(context: Context, card: Card | CardSlot, query_string: str = "") -> Markup:
    """Jinja global: the card's HTML, as the board found it in the cache, or rendered now
    (and kept)."""
    return _card_html(context.environment, card, query_string)


@pass_context
def cards_html(context: Context, cards: Sequence[CardSlot], query_string: str = "") -> Markup:
    """Jinja global: the cards' HTML, one after the other (one call for a column, not one
    per card)."""
    environment = context.environment
    return Markup("").join(_card_html(environment, card, query_string) for card in cards)


def _card_html(environment: Environment, card: Card | CardSlot, query_string: str) -> Markup:
    if isinstance(card, CardSlot):
        if card.html is not None:
            return card.html
        assert card.card is not None  # services.board loads every card the cache lacks
        shown = card.card
    else:
        shown = card
    key = card_key(shown.stamp, query_string=query_string, markup=markup_version(environment))

    def render() -> str:
        html = environment.get_template(CARD_TEMPLATE).render(card=shown, query_string=query_string)
        # The template's indentation is for people; a board carries hundreds of cards.
        return "\n".join(line.strip() for line in html.splitlines() if line.strip())

    return card_cache.get_or_render(key, render)
