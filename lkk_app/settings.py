"""All settings of the cabinet, read from the environment and validated once.

Every setting is an ``LKK_*`` variable (plus Reflex's own ``REFLEX_DB_URL`` /
``REFLEX_REDIS_URL``).  The README and ``.env.example`` list them all.  No
module may read ``os.environ`` for its own configuration: call
:func:`get_settings` instead.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ENV_DEVELOPMENT = "development"
ENV_PRODUCTION = "production"


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class Settings:
    env: str
    secret_key: bytes
    public_url: str
    data_dir: Path
    db_url: str
    redis_url: str
    bcrypt_cost: int
    session_idle_minutes: int
    session_absolute_hours: int
    session_cookie_name: str
    trusted_proxy_hops: int

    @property
    def is_production(self) -> bool:
        return self.env == ENV_PRODUCTION

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def cookie_secure(self) -> bool:
        return self.public_url.startswith("https://")


def _int(env: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _dev_secret(data_dir: Path) -> bytes:
    """A random key kept under ``var/`` so that development restarts keep sessions."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip().encode()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key.encode()


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise :class:`SettingsError` on the first problem."""
    env = dict(os.environ if env is None else env)
    mode = env.get("LKK_ENV", ENV_DEVELOPMENT).strip().lower() or ENV_DEVELOPMENT
    if mode not in (ENV_DEVELOPMENT, ENV_PRODUCTION):
        raise SettingsError(f"LKK_ENV must be 'development' or 'production', got {mode!r}")
    production = mode == ENV_PRODUCTION

    data_dir = Path(env.get("LKK_DATA_DIR", "").strip() or PROJECT_ROOT / "var")
    if not data_dir.is_absolute():
        data_dir = PROJECT_ROOT / data_dir

    public_url = env.get("LKK_PUBLIC_URL", "").strip().rstrip("/")
    if not public_url:
        if production:
            raise SettingsError("LKK_PUBLIC_URL is required when LKK_ENV=production")
        public_url = "http://localhost:3000"
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"LKK_PUBLIC_URL must be an http(s) URL, got {public_url!r}")
    if parts.query or parts.fragment:
        raise SettingsError("LKK_PUBLIC_URL must not have a query or fragment")

    raw_key = env.get("LKK_SECRET_KEY", "").strip()
    if raw_key:
        if len(raw_key) < 32:
            raise SettingsError("LKK_SECRET_KEY must be at least 32 characters long")
        secret_key = raw_key.encode()
    elif production:
        raise SettingsError("LKK_SECRET_KEY is required when LKK_ENV=production")
    else:
        secret_key = _dev_secret(data_dir)

    db_url = env.get("REFLEX_DB_URL", "").strip() or f"sqlite:///{data_dir / 'lkk.db'}"

    cookie_name = env.get("LKK_SESSION_COOKIE", "").strip() or "lkk_session"
    if not cookie_name.replace("_", "").replace("-", "").isalnum():
        raise SettingsError("LKK_SESSION_COOKIE may hold only letters, digits, '_' and '-'")

    return Settings(
        env=mode,
        secret_key=secret_key,
        public_url=public_url,
        data_dir=data_dir,
        db_url=db_url,
        redis_url=env.get("REFLEX_REDIS_URL", "").strip(),
        bcrypt_cost=_int(env, "LKK_BCRYPT_COST", 12, 10, 16),
        session_idle_minutes=_int(env, "LKK_SESSION_IDLE_MINUTES", 30, 1, 24 * 60),
        session_absolute_hours=_int(env, "LKK_SESSION_ABSOLUTE_HOURS", 12, 1, 24 * 30),
        session_cookie_name=cookie_name,
        trusted_proxy_hops=_int(env, "LKK_TRUSTED_PROXY_HOPS", 0, 0, 5),
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reload_settings() -> Settings:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()
    return get_settings()
