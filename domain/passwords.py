"""Password hashing (argon2id via argon2-cffi) and the password policy.

Hashing and verifying cost ~64 MiB and tens of milliseconds of CPU each (by design), so they
never run on the event loop: they run in a small pool of their own (argon2-cffi releases the
GIL), HASH_THREADS at a time, which also bounds their memory. At most MAX_WAITING more wait
for a thread; beyond that a request is refused at once with THROTTLED (retryAfter 1) instead of
queueing without end while holding a database connection, so a sign-in storm cannot starve the
rest of the service."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import resources as pkg_resources
from typing import TYPE_CHECKING, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.errors import BadInput, Throttled

if TYPE_CHECKING:
    from runtime.settings import Settings

T = TypeVar("T")

MIN_LENGTH = 10
MAX_LENGTH = 256
"""Long enough for passphrases; bounded so hashing cannot be used to burn CPU."""

# RFC 9106 "low memory" profile (argon2-cffi's defaults): t=3, m=64 MiB, p=4.
STRONG = (3, 65536, 4)  # time_cost, memory_cost (KiB), parallelism
# Only when AUTOVIDEO_ENVIRONMENT=test: the same algorithm, cheap enough for hundreds of logins.
TEST = (1, 1024, 1)

HASH_THREADS = max(1, min(4, os.cpu_count() or 1))
MAX_WAITING = 64


@cache
def _hasher(profile: str) -> PasswordHasher:
    time_cost, memory_cost, parallelism = TEST if profile == "test" else STRONG
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hasher(settings: Settings | None = None) -> PasswordHasher:
    """The production profile unless the settings say this is a test run."""
    return _hasher("test" if settings is not None and settings.environment == "test" else "strong")


@cache
def common_passwords() -> frozenset[str]:
    text = pkg_resources.files("domain").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_policy(
    password: str, *, username: str | None = None, email: str | None = None, field: str = "password"
) -> None:
    if len(password) < MIN_LENGTH:
        raise BadInput(f"The password must have at least {MIN_LENGTH} characters.", field=field)
    if len(password) > MAX_LENGTH:
        raise BadInput(f"The password must have at most {MAX_LENGTH} characters.", field=field)
    lowered = password.lower()
    if lowered in common_passwords():
        raise BadInput("This password is too common; choose another.", field=field)
    personal = [v.lower() for v in (username, email.split("@")[0] if email else None) if v and len(v) >= 3]
    if any(p == lowered or (p in lowered and len(lowered) - len(p) < 4) for p in personal):
        raise BadInput("The password must not be based on your username or email.", field=field)
    if len(set(password)) < 4:
        raise BadInput("The password is too repetitive.", field=field)


class _Pool:
    """The process's hashing threads, and how many calls are running or waiting for one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self.busy = 0

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="argon2")
            return self._executor

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self.busy >= HASH_THREADS + MAX_WAITING:
                raise Throttled("Too many sign-ins at once; try again in a moment.", retry_after=1)
            self.busy += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor(), fn, *args)
        finally:
            with self._lock:
                self.busy -= 1


_pool = _Pool()


def hash_password_sync(password: str, settings: Settings | None = None) -> str:
    return hasher(settings).hash(password)


def verify_password_sync(stored_hash: str, password: str, settings: Settings | None = None) -> bool:
    """True when it matches; a malformed stored hash never matches."""
    try:
        return bool(hasher(settings).verify(stored_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password(password: str, settings: Settings | None = None) -> str:
    return await _pool.run(hash_password_sync, password, settings)


async def verify_password(stored_hash: str, password: str, settings: Settings | None = None) -> bool:
    """True when it matches; a malformed stored hash never matches."""
    return await _pool.run(verify_password_sync, stored_hash, password, settings)


def needs_rehash(stored_hash: str, settings: Settings | None = None) -> bool:
    try:
        return bool(hasher(settings).check_needs_rehash(stored_hash))
    except (InvalidHashError, ValueError):
        return True


@cache
def _dummy_hash(profile: str) -> str:
    return _hasher(profile).hash("not-a-real-password-dummy")


def _burn(password: str, settings: Settings | None) -> None:
    profile = "test" if settings is not None and settings.environment == "test" else "strong"
    verify_password_sync(_dummy_hash(profile), password, settings)


async def burn_verify(password: str, settings: Settings | None = None) -> None:
    """Spend the time a real check would take, so an unknown login is not revealed by timing."""
    await _pool.run(_burn, password, settings)
