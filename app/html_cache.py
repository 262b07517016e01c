"""Rendered HTML fragments kept in memory, under keys made of what they show.

Each process keeps its own entries. That is safe only because every key is built from values
read from the database for the request at hand: a change made through another process
shows up as a different key, never as a stale entry (app.card_html, app.dashboard_html).
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import cast

from markupsafe import Markup


class HtmlCache:
    """A bounded LRU of rendered fragments, shared by the threads of one process.

    With `one_per_view`, keys are (view, state) pairs — what is shown, and the stamps of the
    state it is shown in — and each view keeps only the entry stored last. States only move
    forward, so an entry of an older one will never be asked for again, and a page written
    to often would otherwise fill the cache with dead copies of itself (48 dashboard bodies
    of ~300 KB each were most of a worker's cached HTML under bench/load.py)."""

    def __init__(self, max_entries: int, *, one_per_view: bool = False) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Markup] = OrderedDict()
        self._one_per_view = one_per_view
        self._views: dict[Hashable, Hashable] = {}  # view -> the key holding it
        self._lock = threading.Lock()
        self.renders = 0
        self.hits = 0

    def get(self, key: Hashable) -> Markup | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return found

    def get_many(self, keys: Sequence[Hashable]) -> list[Markup | None]:
        """`get` of each key, under one taking of the lock (a board asks for hundreds)."""
        entries = self._entries
        found: list[Markup | None] = []
        with self._lock:
            for key in keys:
                html = entries.get(key)
                if html is not None:
                    entries.move_to_end(key)
                found.append(html)
            self.hits += sum(html is not None for html in found)
        return found

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> Markup:
        found = self.get(key)
        if found is not None:
            return found
        # Safe: the output of an autoescaping template. Rendered outside the lock.
        html = Markup(render())  # noqa: S704
        with self._lock:
            self.renders += 1
            self._store(key, html)
        return html

    def _store(self, key: Hashable, html: Markup) -> None:
        entries = self._entries
        entries[key] = html
        entries.move_to_end(key)
        if self._one_per_view:
            view = _view_of(key)
            replaced = self._views.get(view)
            self._views[view] = key
            if replaced is not None and replaced != key:
                entries.pop(replaced, None)
        while len(entries) > self.max_entries:
            dropped, _ = entries.popitem(last=False)
            if self._one_per_view and self._views.get(_view_of(dropped)) == dropped:
                del self._views[_view_of(dropped)]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._views.clear()
            self.renders = self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)


def _view_of(key: Hashable) -> Hashable:
    view, _state = cast(tuple[Hashable, Hashable], key)
    return view
