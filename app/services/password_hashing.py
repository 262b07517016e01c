"""Password hashing (argon2id), with a bound on the hashes running at once in a process.

An argon2id hash with pwdlib's recommended parameters (RFC 9106's second recommendation:
64 MiB, three passes, four lanes) holds 64 MiB while it runs and keeps the cores busy for a
tenth of a second or more. Unbounded, a burst of logins — the morning's, or someone posting
wrong passwords on purpose — would hash in every request thread at once (up to 40 per
worker): gigabytes of memory, and no CPU left for the pages. Beyond the bound a hash waits
for its turn: a login takes a little longer, and memory stays bounded.
"""

import threading

from pwdlib import PasswordHash
from pwdlib.hashers import HasherProtocol as Hasher

# One per process: a hash already keeps the cores busy, its four lanes each in a thread of
# argon2's own (9.6 verifications a second with one at a time on two cores, 9.4 with two), so
# a second one at once only holds 64 MiB more.
HASHES_AT_ONCE = 1


class BoundedPasswordHash:
    """pwdlib's PasswordHash, at most `at_once` hashes (or verifications) at a time."""

    def __init__(self, hasher: PasswordHash, *, at_once: int = HASHES_AT_ONCE) -> None:
        self.hasher = hasher
        self._turns = threading.BoundedSemaphore(at_once)

    @property
    def current_hasher(self) -> Hasher:
        """The hasher new hashes are made with (pwdlib's name for it)."""
        return self.hasher.current_hasher

    def hash(self, password: str) -> str:
        with self._turns:
            return self.hasher.hash(password)

    def verify(self, password: str, hash: str) -> bool:
        with self._turns:
            return self.hasher.verify(password, hash)

    def verify_and_update(self, password: str, hash: str) -> tuple[bool, str | None]:
        """Whether it matches, and a new hash when the stored one used older parameters."""
        with self._turns:
            return self.hasher.verify_and_update(password, hash)
