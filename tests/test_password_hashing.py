"""The bound on password hashes running at once in a process (app.services.password_hashing)."""

import threading

from app.services import accounts
from app.services.password_hashing import HASHES_AT_ONCE, BoundedPasswordHash

# Taken before the autouse fixture (tests/conftest.py) swaps in a cheap hasher.
PRODUCTION_HASHER = accounts.password_hash


class _HeldHasher:
    """A stand-in hasher whose hashes run until released, counting how many run at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.started = threading.Semaphore(0)

    def verify(self, password: str, hash: str) -> bool:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.release()
        self.release.wait(timeout=30)
        with self.lock:
            self.running -= 1
        return password == hash


def test_hashes_beyond_the_bound_wait_for_their_turn() -> None:
    held = _HeldHasher()
    bounded = BoundedPasswordHash(held, at_once=2)  # type: ignore[arg-type]
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(bounded.verify("x", "x"))) for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for _ in range(2):
        assert held.started.acquire(timeout=30)
    # Two are hashing; the other three wait at the bound, not in the hasher.
    assert not held.started.acquire(timeout=0.3)
    assert held.running == 2
    held.release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [True] * 5
    assert held.most == 2


def test_the_login_hasher_is_bounded() -> None:
    # Its hashes and their upgrade at login: tests/test_accounts.py.
    assert isinstance(PRODUCTION_HASHER, BoundedPasswordHash)
    assert PRODUCTION_HASHER._turns._value == HASHES_AT_ONCE == 1
    # One at a time still uses several cores: argon2 hashes its lanes in threads of its own.
    assert PRODUCTION_HASHER.current_hasher._hasher.parallelism == 4  # type: ignore[attr-defined]
