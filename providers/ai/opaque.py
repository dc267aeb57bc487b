"""One failure message for a provider at an address a user chose.

When a user's own key comes with their own base URL, the way a call fails (connection refused,
a timeout, HTTP 404 or 500, a body that is not JSON...) would tell them what listens at that
address, which turns the generation log into a port scanner. `OpaqueErrors` wraps such a
provider so every failure becomes the same `ProviderUnreachableError` ("could not reach the
provider"), except a refusal by the outbound policy, which keeps its own fixed message. The real
reason goes to the server log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from providers.ai.base import ProviderError, TransientProviderError
from providers.ai.errors import ProviderAddressRefusedError

log = logging.getLogger(__name__)

UNREACHABLE = "could not reach the provider"
_CALLS = frozenset({"write_script", "generate_image", "synthesize", "list_voices", "clone_voice"})


class ProviderUnreachableError(TransientProviderError):
    """Any failure of a provider at a user-chosen address, reported without detail."""

    def __init__(self, provider: str) -> None:
        super().__init__(provider, UNREACHABLE)


class OpaqueErrors:
    """The wrapped provider, whose calls fail only with ProviderUnreachableError or
    ProviderAddressRefusedError. Attributes (name, model, base_url, aclose...) pass through."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.name: str = inner.name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._inner, attr)
        if attr in _CALLS:
            return self._guarded(value)
        return value

    def _guarded(self, call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return await call(*args, **kwargs)
            except ProviderAddressRefusedError:
                raise
            except ProviderError as exc:
                log.info("own-endpoint provider %s failed: %s", self.name, exc.message)
                raise ProviderUnreachableError(self.name) from None
            except TimeoutError:
                log.info("own-endpoint provider %s timed out", self.name)
                raise ProviderUnreachableError(self.name) from None

        return guarded

    def __repr__(self) -> str:
        return f"OpaqueErrors({self._inner!r})"
