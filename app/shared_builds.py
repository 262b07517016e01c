"""Builds of a page shared by the requests that wait for them, one build at a time per page.

The dashboard is kept under its plan stamp (app.routes.dashboard.body_cache), but while the
officials are at work every task write moves that stamp, so under load almost every view
found the page stale and built it again, several at once in each process, each slower for
the others. Here a request that finds no kept page either builds it, or, when a build of
the same page is under way, waits and takes the first build that *started after it
asked*. Such a build reads the database afresh, after every write committed before the
request, so what the request gets is as current as a page it would have built itself;
meanwhile requests for the same page cost one build per build time instead of one each.
A build that began earlier still serves a request whose stamp it was made under (`kept`,
looked up each time a build ends): nothing was written between that stamp and the request.

Per process, like the caches beside it: nothing here is ever served to a request that saw a
write the build may have missed, so no process can serve another's writes late.
"""

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from itertools import count
from typing import Generic, TypeVar, cast

T = TypeVar("T")


@dataclass
class _Page(Generic[T]):
    """One page's builds: whether one is under way, and the last one done."""

    wake: threading.Condition
    building: bool = False
    waiting: int = 0
    # The last build done and the ticket it took when it began (-1: none yet).
    done: T | None = None
    done_ticket: int = -1


class SharedBuilds(Generic[T]):
    """One build at a time per key; a request takes the first build begun after it asked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[Hashable, _Page[T]] = {}
        # Tickets order requests and builds: a build serves the requests whose ticket is lower.
        self._tickets = count()
        self.builds = 0

    def get(
        self, key: Hashable, build: Callable[[], T], *, kept: Callable[[], T | None] | None = None
    ) -> T:
        """`build()`'s result, or that of a build of `key` begun after this call (which then
        waits for it), or what `kept()` finds once a build has ended (the caller's cache,
        under the state the caller read: a build made of that state put it there). `build`
        must read the database itself, in a session it opens: a session opened before the
        call could hold an older snapshot."""
        with self._lock:
            ticket = next(self._tickets)
            page = self._pages.get(key)
            if page is None:
                page = self._pages[key] = _Page(wake=threading.Condition(self._lock))
            while True:
                found = kept() if kept is not None else None
                if found is not None or page.done_ticket > ticket:
                    self._leave(key, page)
                    return found if found is not None else cast(T, page.done)
                if not page.building:
                    page.building = True
                    begun = next(self._tickets)
                    break
                page.waiting += 1
                page.wake.wait()
                page.waiting -= 1
        try:
            result = build()
        except BaseException:
            with self._lock:
                page.building = False
                page.wake.notify_all()  # one of the waiters builds instead
                self._leave(key, page)
            raise
        with self._lock:
            self.builds += 1
            page.building = False
            page.done, page.done_ticket = result, begun
            page.wake.notify_all()
            self._leave(key, page)
        return result

    def _leave(self, key: Hashable, page: _Page[T]) -> None:
        """Forget a page nobody builds or waits for (its result is kept by the caller's
        cache, if at all): the table holds only pages in use. Called under the lock."""
        if not page.building and page.waiting == 0 and self._pages.get(key) is page:
            del self._pages[key]

    def __len__(self) -> int:
        return len(self._pages)
