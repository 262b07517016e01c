"""Rendered HTML fragments kept in memory, under keys made of what they show.

Each process keeps its own entries. That is safe only because every key is built from values
read from the database for the request at hand: a change made through another process
shows up as a different key, never as a stale entry (app.card_html, app.dashboard_html).
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

from markupsafe import Markup


class HtmlCache:
    """A bounded LRU of rendered fragments, shared by the threads of one process."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Markup] = OrderedDict()
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
            self._entries[key] = html
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return html

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.renders = self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)
