"""Rows of the dashboard rendered once and reused while what they show stays the same.

After one write the dashboard's body is built again (app.routes.dashboard keeps it per plan
state), yet most of its rows — units, districts, programs, exceptions, the chart's data
table, the activity — show what they showed before. A row's HTML is kept under the values
it is rendered from (passed by keyword to `fragment`, and the only arguments of its
template's macro `render`) and the markup version of its template and of the macros it
imports. The key is therefore the whole input of the row: every part of it comes from the
database or the clock, never from state of this process, so a row changed through another
process shows up as a different key and is rendered afresh, never served stale (DESIGN §5).
A fragment must use nothing else: no viewer, no request, no surrounding context. The board's
filter form is kept the same way (every board page shows it, with every unit and program).
"""

from collections.abc import Hashable, Iterable
from functools import partial
from typing import Any, cast

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from app.card_html import markup_version
from app.html_cache import HtmlCache

# The rows of a body are ~0.3-1.5 KB each; one body has ~250 (51 units, their districts, the
# programs, 50 exceptions, the chart table's 100 days, 15 activity lines). Room for the
# rows of a few bodies (filters, both charts) whose most rows are shared: ~1-2 MB a process.
MAX_ENTRIES = 1000

# The macros every fragment may import: part of each fragment's markup version.
MACROS_TEMPLATE = "dashboard/_macros.html"

fragment_cache = HtmlCache(MAX_ENTRIES)


_markups: dict[tuple[int, str], tuple[str, str]] = {}


def fragment_key(environment: Environment, name: str, values: dict[str, Hashable]) -> Hashable:
    """Everything a fragment's HTML depends on: its template, that template's markup (and its
    macros'), and the values it is rendered with, in the call's order."""
    memo = (id(environment), name)
    markup = _markups.get(memo)
    if markup is None:
        markup = (markup_version(environment, name), markup_version(environment, MACROS_TEMPLATE))
        _markups[memo] = markup
    return (name, markup, tuple(values.items()))


@pass_context
def fragment(context: Context, name: str, **values: Hashable) -> Markup:
    """Jinja global: the macro `render` of the template `name` called with `values` only (no
    surrounding context), kept under those values (see the module's docstring); each must be
    hashable and compare equal only to what renders the same."""
    environment = context.environment
    key = fragment_key(environment, name, values)
    # The template's macro `render`, called on the template's module (made once, from the
    # environment's globals only): far cheaper than rendering a template with a new context.
    return fragment_cache.get_or_render(
        key, lambda: cast(Any, environment.get_template(name).module).render(**values)
    )


@pass_context
def fragments(
    context: Context, name: str, param: str, items: Iterable[Hashable], **shared: Hashable
) -> Markup:
    """Jinja global: `fragment(name, <param>=item, **shared)` of each item, one per line, in
    one call and one look-up of the kept rows (a chart's data table has a hundred)."""
    environment = context.environment
    given = [{param: item, **shared} for item in items]
    keys = [fragment_key(environment, name, values) for values in given]
    module: Any = environment.get_template(name).module
    rows: list[Markup] = []
    for key, values, html in zip(keys, given, fragment_cache.get_many(keys), strict=True):
        if html is None:
            html = fragment_cache.get_or_render(key, partial(module.render, **values))
        rows.append(html)
    return Markup("\n").join(rows)
