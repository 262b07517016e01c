"""Builds shared by waiting requests (app.shared_builds): one at a time per key, and never
one that began before the request asked, unless it was made of the state the request saw."""

import threading
from collections.abc import Callable

import pytest

from app.shared_builds import SharedBuilds

WAIT = 10  # seconds: only a hang would reach it


class Gate:
    """A build that reports when it starts and finishes only when released."""

    def __init__(self, result: str) -> None:
        self.result = result
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> str:
        self.started.set()
        assert self.release.wait(WAIT)
        return self.result


def _in_thread(call: Callable[[], str]) -> tuple[threading.Thread, list[str | BaseException]]:
    out: list[str | BaseException] = []

    def run() -> None:
        try:
            out.append(call())
        except BaseException as exc:  # handed to the test
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def _waiting(builds: SharedBuilds[str], key: str, count: int) -> None:
    """Until `count` callers wait for a build of `key`."""
    for _ in range(WAIT * 100):
        page = builds._pages.get(key)
        if page is not None and page.waiting >= count:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"nobody waits for {key}")


def test_a_lone_request_builds_and_nothing_is_left_behind() -> None:
    builds: SharedBuilds[str] = SharedBuilds()
    assert builds.get("page", lambda: "one") == "one"
    assert builds.get("page", lambda: "two") == "two"  # a later request never reuses a build
    assert builds.builds == 2
    assert len(builds) == 0


def test_requests_during_a_build_share_the_next_one_not_the_running_one() -> None:
    builds: SharedBuilds[str] = SharedBuilds()
    first = Gate("as of before")
    thread_a, out_a = _in_thread(lambda: builds.get("page", first))
    assert first.started.wait(WAIT)

    # Two requests ask while the first build runs: it began before they asked (it may miss a
    # write they saw committed), so neither may have it; the next build serves both.
    second_builds: list[str] = []

    def second() -> str:
        second_builds.append("built")
        return "as of after"

    thread_b, out_b = _in_thread(lambda: builds.get("page", second))
    thread_c, out_c = _in_thread(lambda: builds.get("page", second))
    _waiting(builds, "page", 2)
    first.release.set()
    for thread in (thread_a, thread_b, thread_c):
        thread.join(WAIT)

    assert out_a == ["as of before"]
    assert out_b == out_c == ["as of after"]
    assert second_builds == ["built"]  # one build for both
    assert builds.builds == 2
    assert len(builds) == 0


def test_a_build_made_of_the_state_a_waiting_request_saw_serves_it() -> None:
    """The caller's cache holds each build's page under the state its builder read: a request
    that read the same state (nothing written since that build began) takes it once it ends;
    one that read a later state waits for the next build."""
    builds: SharedBuilds[str] = SharedBuilds()
    pages: dict[int, str] = {}
    first = Gate("page of state 7")

    def build_first() -> str:
        pages[7] = first()
        return pages[7]

    thread_a, out_a = _in_thread(lambda: builds.get("page", build_first, kept=lambda: None))
    assert first.started.wait(WAIT)
    second_builds: list[str] = []

    def second() -> str:
        second_builds.append("built")
        pages[8] = "page of state 8"
        return pages[8]

    thread_b, out_b = _in_thread(lambda: builds.get("page", second, kept=lambda: pages.get(7)))
    thread_c, out_c = _in_thread(lambda: builds.get("page", second, kept=lambda: pages.get(8)))
    _waiting(builds, "page", 2)
    first.release.set()
    for thread in (thread_a, thread_b, thread_c):
        thread.join(WAIT)

    assert out_a == out_b == ["page of state 7"]
    assert out_c == ["page of state 8"]
    assert second_builds == ["built"]
    assert builds.builds == 2
    assert len(builds) == 0
    # Found kept before waiting at all: no build.
    assert builds.get("page", second, kept=lambda: pages.get(8)) == "page of state 8"
    assert builds.builds == 2


def test_other_keys_build_at_the_same_time() -> None:
    builds: SharedBuilds[str] = SharedBuilds()
    slow = Gate("dashboard of plan 1")
    thread, out = _in_thread(lambda: builds.get(("plan", 1), slow))
    assert slow.started.wait(WAIT)
    assert builds.get(("plan", 2), lambda: "dashboard of plan 2") == "dashboard of plan 2"
    slow.release.set()
    thread.join(WAIT)
    assert out == ["dashboard of plan 1"]


def test_a_failed_build_hands_over_to_a_waiting_request() -> None:
    builds: SharedBuilds[str] = SharedBuilds()
    started = threading.Event()
    release = threading.Event()

    def failing() -> str:
        started.set()
        assert release.wait(WAIT)
        raise RuntimeError("database went away")

    thread_a, out_a = _in_thread(lambda: builds.get("page", failing))
    assert started.wait(WAIT)
    thread_b, out_b = _in_thread(lambda: builds.get("page", lambda: "rebuilt"))
    _waiting(builds, "page", 1)
    release.set()
    thread_a.join(WAIT)
    thread_b.join(WAIT)

    assert isinstance(out_a[0], RuntimeError)
    assert out_b == ["rebuilt"]
    assert len(builds) == 0

    def bad() -> str:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        builds.get("page", bad)
    assert len(builds) == 0
