"""`vvtvctl --url`: a control command run by a remote channel's origin (see control/api.py)."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from vvtv.errors import ConfigError, InputError

# A restart waits for the supervisor's answer (up to 300 s when asked); everything else answers at once.
TIMEOUT = httpx.Timeout(330, connect=10)


def call_remote(url: str, name: str, values: dict[str, Any], *, token: SecretStr | None) -> dict:
    if token is None:
        raise ConfigError("--url: the remote control API needs its token; set VVTV_CONTROL__TOKEN")
    if not url.startswith(("http://", "https://")):
        raise InputError(f"--url {url!r}: expected http://HOST:PORT or https://...")
    endpoint = f"{url.rstrip('/')}/api/control/{name.replace('.', '/')}"
    try:
        response = httpx.post(
            endpoint, json=values, headers={"Authorization": f"Bearer {token.get_secret_value()}"}, timeout=TIMEOUT
        )
    except httpx.HTTPError as exc:
        raise InputError(f"--url {url}: {exc or type(exc).__name__}") from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code != 200 or not isinstance(data, dict):
        message = data.get("error") if isinstance(data, dict) else response.text[:200]
        raise InputError(f"{endpoint}: {response.status_code}: {message}")
    return data
