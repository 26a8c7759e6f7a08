"""The age gate: who proved their age gets a short-lived signed viewing token.

A token names its channel and its expiry, and is signed with HMAC-SHA256:

    <channel>.<expires, Unix seconds>.<b|u>.<signature, base64url>

A *bound* token (b) is valid only together with the session cookie it was
issued for: the web player gets one, in a cookie, after passing the gate. An
*unbound* token (u) is for plain HLS players that keep no cookies (VLC, a TV
app): the gate hands it out as a playlist link, and the origin writes it into
every URI of the playlists it serves, so the player carries it along. The
signature covers the channel, the expiry, the kind and the session, so none
can be changed; the comparison takes constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from vvtv.clock import US, to_datetime
from vvtv.config import ChannelSettings, Settings
from vvtv.errors import ConfigError, InputError

SESSION_COOKIE = "vvtv_session"
TOKEN_PARAMETER = "token"
BOUND = "b"
UNBOUND = "u"
KEY_BYTES = 32


def token_cookie(channel: str) -> str:
    return f"vvtv_token_{channel}"


@dataclass(frozen=True, kw_only=True)
class Token:
    text: str
    channel: str
    expires_us: int


@dataclass(frozen=True, kw_only=True)
class TokenSigner:
    key: bytes
    ttl_us: int

    def issue(self, channel: str, now_us: int, *, session: str | None) -> Token:
        """A token for `channel` valid ttl from now: bound to `session`, or unbound when it is None."""
        expires_s = (now_us + self.ttl_us) // US
        kind = UNBOUND if session is None else BOUND
        text = f"{channel}.{expires_s}.{kind}.{self._sign(channel, expires_s, kind, session or '')}"
        return Token(text=text, channel=channel, expires_us=expires_s * US)

    def verify(self, text: str, now_us: int, *, session: str | None) -> str | None:
        """The channel the token is valid for at now, with this session cookie; None if it is not valid."""
        parts = text.split(".")
        if len(parts) != 4 or not parts[1].isdigit() or parts[2] not in (BOUND, UNBOUND):
            return None
        channel, expires, kind, signature = parts
        if int(expires) * US <= now_us:
            return None
        if kind == BOUND and not session:
            return None
        expected = self._sign(channel, int(expires), kind, (session or "") if kind == BOUND else "")
        return channel if hmac.compare_digest(expected, signature) else None

    def _sign(self, channel: str, expires_s: int, kind: str, session: str) -> str:
        message = f"{channel}\n{expires_s}\n{kind}\n{session}".encode()
        digest = hmac.new(self.key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signer_for(settings: Settings) -> TokenSigner:
    key = settings.origin.token_secret.encode() if settings.origin.token_secret else _stored_key(settings.run_dir)
    return TokenSigner(key=key, ttl_us=settings.origin.token_seconds * US)


def _stored_key(run_dir: Path) -> bytes:
    """The key made once for this data folder, so every origin on it (and a restarted one) accepts the same tokens."""
    path = run_dir / "token.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    run_dir.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".token.key.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
    finally:
        os.close(fd)
    try:
        os.link(temp, path)  # the first origin to get here wins; the others read its key
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"origin.token_secret: cannot store a key in {path}: {exc}") from exc
    finally:
        temp.unlink(missing_ok=True)
    return path.read_bytes()


def new_session() -> str:
    return secrets.token_urlsafe(16)


def is_gated(channel: ChannelSettings) -> bool:
    return channel.compliance.min_age > 0


@dataclass(frozen=True, kw_only=True)
class GateAnswer:
    """What the viewer sent to the gate: a date of birth, or a confirmation."""

    birthdate: date | None = None
    confirmed: bool = False


def parse_answer(channel: ChannelSettings, body: object) -> GateAnswer:
    if not isinstance(body, dict):
        raise InputError("expected a JSON object")
    if channel.compliance.gate == "confirm":
        if body.get("confirm") is not True:
            raise InputError('expected {"confirm": true}')
        return GateAnswer(confirmed=True)
    text = body.get("birthdate")
    if not isinstance(text, str):
        raise InputError('expected {"birthdate": "YYYY-MM-DD"}')
    try:
        return GateAnswer(birthdate=date.fromisoformat(text))
    except ValueError:
        raise InputError(f"birthdate: {text[:40]!r} is not a date (YYYY-MM-DD)") from None


def old_enough(channel: ChannelSettings, answer: GateAnswer, now_us: int) -> bool:
    if channel.compliance.gate == "confirm":
        return answer.confirmed
    assert answer.birthdate is not None
    return age_on(answer.birthdate, to_datetime(now_us).date()) >= channel.compliance.min_age


def age_on(birthdate: date, today: date) -> int:
    """Full years from birthdate to today (a birthday on 29 February counts from 1 March in other years)."""
    return today.year - birthdate.year - ((today.month, today.day) < (birthdate.month, birthdate.day))
