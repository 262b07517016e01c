"""Rendered HTML fragments kept in memory, under keys made of what they show.

Each process keeps its own entries. That is safe only because every key is built from values
read from the database for the request at hand: a change made through another process
shows up as a different key, never as a stale entry (app.card_html, app.dashboard_html).
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

from markupsafe import Markup

# What a key shows, without the stamps of the state it shows: a view of a page, say.
SlotOf = Callable[[Hashable], Hashable]


class HtmlCache:
    """A bounded LRU of rendered fragments, shared by the threads of one process.

    With `slot_of`, each slot keeps only the entry stored last: for keys whose stamps only
    move forward, an entry under an older stamp will never be asked for again, and a page
    written to often would otherwise fill the cache with dead copies of itself (48 dashboard
    bodies of ~300 KB each, most of a worker's cached HTML under bench/load.py)."""

    def __init__(self, max_entries: int, *, slot_of: SlotOf | None = None) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Markup] = OrderedDict()
        self._slot_of = slot_of
        self._slots: dict[Hashable, Hashable] = {}  # slot -> the key it holds
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
        if self._slot_of is not None:
            slot = self._slot_of(key)
            replaced = self._slots.get(slot)
            self._slots[slot] = key
            if replaced is not None and replaced != key:
                entries.pop(replaced, None)
        while len(entries) > self.max_entries:
            dropped, _ = entries.popitem(last=False)
            if self._slot_of is not None:
                slot = self._slot_of(dropped)
                if self._slots.get(slot) == dropped:
                    del self._slots[slot]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._slots.clear()
            self.renders = self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)
