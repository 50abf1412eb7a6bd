"""All settings of the cabinet, read from the environment and validated once.

Every setting is an ``LKK_*`` variable (plus Reflex's own ``REFLEX_DB_URL`` /
``REFLEX_REDIS_URL``).  The README and ``.env.example`` list them all.  No
module may read ``os.environ`` for its own configuration: call
:func:`get_settings` instead.
"""

from __future__ import annotations

import dataclasses
import email.utils
import functools
import ipaddress
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ENV_DEVELOPMENT = "development"
ENV_PRODUCTION = "production"

# Mail (docs/security.md, "Mail"): how the connection to the SMTP server is secured.
SMTP_TLS_NONE = "none"
SMTP_TLS_STARTTLS = "starttls"
SMTP_TLS_TLS = "tls"
SMTP_TLS_MODES = (SMTP_TLS_NONE, SMTP_TLS_STARTTLS, SMTP_TLS_TLS)
SMTP_DEFAULT_PORTS = {SMTP_TLS_NONE: 25, SMTP_TLS_STARTTLS: 587, SMTP_TLS_TLS: 465}
DEFAULT_MAIL_FROM = "ЛКК <no-reply@localhost>"


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
    # LKK_CAPTCHA_FIXED_CODE: every captcha shows this code (browser tests);
    # "" = random codes.  Never set in production.
    captcha_fixed_code: str
    # Mail.  An empty smtp_host means the development mailbox (files in mail_dir).
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str = dataclasses.field(repr=False)
    smtp_tls: str  # none | starttls | tls
    smtp_timeout: int  # seconds, per SMTP operation
    mail_from: str
    mail_dir: Path
    # Branding of the guaranteeing supplier that runs this deployment («Служба поддержки»).
    supplier_name: str = "Гарантирующий поставщик (демонстрационная версия)"
    support_phones: tuple[str, ...] = ("8 800 000-00-00", "+7 495 000-00-00")
    support_hours: str = "Пн–Чт 8:30–17:30, Пт 8:30–16:15 (время московское)"
    support_email: str = "support@example.ru"
    # LKK_RATE_EXEMPT_IPS: client IPs (comma-separated) that the per-IP and
    # per-connection limits of registration and the authorization code do not
    # count — test servers on loopback.  Never set in production.
    rate_exempt_ips: tuple[str, ...] = ()

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

    @property
    def mail_enabled_smtp(self) -> bool:
        """True when letters go to an SMTP server, False for the development mailbox."""
        return bool(self.smtp_host)

    @property
    def mail_from_address(self) -> str:
        """The bare address of ``mail_from`` (``no-reply@example.ru``): the envelope sender."""
        return email.utils.parseaddr(self.mail_from)[1]

    @property
    def mail_from_domain(self) -> str:
        """The domain of ``mail_from``; the right-hand side of every ``Message-ID``."""
        return self.mail_from_address.rpartition("@")[2]


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


_HOST_RE = re.compile(r"[A-Za-z0-9._-]+|\[?[0-9A-Fa-f:.]+\]?")
_ADDR_RE = re.compile(r"[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def is_loopback_host(host: str) -> bool:
    """``localhost`` (and ``*.localhost``) or a loopback IP address (127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _mail_settings(env: dict[str, str], *, production: bool, data_dir: Path) -> dict:
    host = env.get("LKK_SMTP_HOST", "").strip()
    if host and not _HOST_RE.fullmatch(host):
        raise SettingsError(f"LKK_SMTP_HOST must be a host name or IP address, got {host!r}")
    if production and not host:
        raise SettingsError(
            "LKK_SMTP_HOST is required when LKK_ENV=production "
            "(without it letters only go to the development mailbox)"
        )

    tls = env.get("LKK_SMTP_TLS", "").strip().lower()
    if not tls:
        tls = SMTP_TLS_STARTTLS if host else SMTP_TLS_NONE
    if tls not in SMTP_TLS_MODES:
        raise SettingsError(f"LKK_SMTP_TLS must be one of none, starttls, tls, got {tls!r}")
    if host and tls == SMTP_TLS_NONE and production and not is_loopback_host(host):
        raise SettingsError(
            "LKK_SMTP_TLS=none is allowed only for a loopback LKK_SMTP_HOST "
            "(localhost, 127.0.0.1, ::1) or when LKK_ENV=development; use starttls or tls"
        )

    port = _int(env, "LKK_SMTP_PORT", SMTP_DEFAULT_PORTS[tls], 1, 65535)

    user = env.get("LKK_SMTP_USER", "").strip()
    password = env.get("LKK_SMTP_PASSWORD", "")
    if bool(user) != bool(password):
        raise SettingsError("LKK_SMTP_USER and LKK_SMTP_PASSWORD must be set together")
    if any(ch in user + password for ch in "\r\n\x00"):
        raise SettingsError("LKK_SMTP_USER and LKK_SMTP_PASSWORD must not contain line breaks")

    mail_from = env.get("LKK_MAIL_FROM", "").strip() or DEFAULT_MAIL_FROM
    if any(ch in mail_from for ch in "\r\n\x00") or len(mail_from) > 320:
        raise SettingsError("LKK_MAIL_FROM must be one line, e.g. 'ЛКК <no-reply@example.ru>'")
    name, addr = email.utils.parseaddr(mail_from)
    if not addr or not _ADDR_RE.fullmatch(addr) or len(addr) > 254:
        raise SettingsError(
            f"LKK_MAIL_FROM must be an address such as 'ЛКК <no-reply@example.ru>', got {mail_from!r}"
        )

    mail_dir = Path(env.get("LKK_MAIL_DIR", "").strip() or data_dir / "mail")
    if not mail_dir.is_absolute():
        mail_dir = PROJECT_ROOT / mail_dir

    return {
        "smtp_host": host,
        "smtp_port": port,
        "smtp_user": user,
        "smtp_password": password,
        "smtp_tls": tls,
        "smtp_timeout": _int(env, "LKK_SMTP_TIMEOUT", 15, 1, 120),
        "mail_from": mail_from,
        "mail_dir": mail_dir,
    }


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

    captcha_fixed_code = env.get("LKK_CAPTCHA_FIXED_CODE", "").strip()
    if captcha_fixed_code:
        if production:
            raise SettingsError("LKK_CAPTCHA_FIXED_CODE must not be set when LKK_ENV=production")
        if not (captcha_fixed_code.isascii() and captcha_fixed_code.isdigit()
                and 6 <= len(captcha_fixed_code) <= 7):
            raise SettingsError("LKK_CAPTCHA_FIXED_CODE must be 6 or 7 digits")

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
        captcha_fixed_code=captcha_fixed_code,
        **_mail_settings(env, production=production, data_dir=data_dir),
        **_support_settings(env),
        rate_exempt_ips=_exempt_ips(env, production=production),
    )


def _exempt_ips(env: dict[str, str], *, production: bool) -> tuple[str, ...]:
    raw = env.get("LKK_RATE_EXEMPT_IPS", "").strip()
    if not raw:
        return ()
    if production:
        raise SettingsError("LKK_RATE_EXEMPT_IPS must not be set when LKK_ENV=production")
    items = tuple(p.strip() for p in raw.split(",") if p.strip())
    for item in items:
        try:
            ipaddress.ip_address(item)
        except ValueError as exc:
            raise SettingsError(f"LKK_RATE_EXEMPT_IPS must be IP addresses separated by ',', "
                                f"got {item!r}") from exc
    return items


def _support_settings(env: dict[str, str]) -> dict:
    """LKK_SUPPLIER_NAME, LKK_SUPPORT_PHONES (separated by ';'), LKK_SUPPORT_HOURS,
    LKK_SUPPORT_EMAIL — each optional; the defaults are demo values."""
    out: dict = {}
    name = env.get("LKK_SUPPLIER_NAME", "").strip()
    if name:
        if len(name) > 200:
            raise SettingsError("LKK_SUPPLIER_NAME must be at most 200 characters")
        out["supplier_name"] = name
    phones = env.get("LKK_SUPPORT_PHONES", "").strip()
    if phones:
        items = tuple(p.strip() for p in phones.split(";") if p.strip())
        bad = [p for p in items if len(p) > 40 or not all(c.isdigit() or c in " +-()" for c in p)]
        if bad or not items:
            raise SettingsError(f"LKK_SUPPORT_PHONES must be phone numbers separated by ';', got {phones!r}")
        out["support_phones"] = items
    hours = env.get("LKK_SUPPORT_HOURS", "").strip()
    if hours:
        if len(hours) > 200:
            raise SettingsError("LKK_SUPPORT_HOURS must be at most 200 characters")
        out["support_hours"] = hours
    email = env.get("LKK_SUPPORT_EMAIL", "").strip()
    if email:
        from lkk_app.services.validation import email_error

        if email_error(email):
            raise SettingsError(f"LKK_SUPPORT_EMAIL is not an e-mail address: {email!r}")
        out["support_email"] = email
    return out


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reload_settings() -> Settings:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()
    return get_settings()
