"""Symmetric encryption of stored secrets (third-party tokens, keys) with Fernet.

Keys come from settings.encryption_keys, newest first: MultiFernet encrypts with the first
and decrypts with any, so keys rotate by prepending a new one (then `rotate` old values)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

if TYPE_CHECKING:
    from runtime.settings import Settings


class DecryptionError(Exception):
    """The value was not encrypted with any configured key, or was tampered with."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise RuntimeError("AUTOVIDEO_ENCRYPTION_KEY: no key configured")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet(settings: Settings) -> MultiFernet:
    return _fernet(tuple(settings.encryption_keys))


def encrypt(settings: Settings, value: str) -> bytes:
    return fernet(settings).encrypt(value.encode("utf-8"))


def decrypt(settings: Settings, token: bytes, *, ttl: int | None = None) -> str:
    try:
        if ttl is not None:
            return fernet(settings).decrypt(token, ttl=ttl).decode("utf-8")
        return fernet(settings).decrypt(token).decode("utf-8")
    except InvalidToken:
        raise DecryptionError("cannot decrypt the stored value") from None


def rotate(settings: Settings, token: bytes) -> bytes:
    """Re-encrypt with the newest key."""
    try:
        return fernet(settings).rotate(token)
    except InvalidToken:
        raise DecryptionError("cannot decrypt the stored value") from None
