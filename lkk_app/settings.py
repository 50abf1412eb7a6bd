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
import math
import os
import re
import secrets
import string
import sys
import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ENV_DEVELOPMENT = "development"
ENV_PRODUCTION = "production"

# Mail (SECURITY.md, "Mail"): how the connection to the SMTP server is secured.
SMTP_TLS_NONE = "none"
SMTP_TLS_STARTTLS = "starttls"
SMTP_TLS_TLS = "tls"
SMTP_TLS_MODES = (SMTP_TLS_NONE, SMTP_TLS_STARTTLS, SMTP_TLS_TLS)
SMTP_DEFAULT_PORTS = {SMTP_TLS_NONE: 25, SMTP_TLS_STARTTLS: 587, SMTP_TLS_TLS: 465}
DEFAULT_MAIL_FROM = "ЛКК <no-reply@localhost>"

# Billing (lkk_app/billing): the embedded demo system or a real one over HTTP.
BILLING_DEMO = "demo"
BILLING_HTTP = "http"
BILLING_ADAPTERS = (BILLING_DEMO, BILLING_HTTP)

# Times are shown in the supplier's time zone (an IANA name).
DEFAULT_TIME_ZONE = "Europe/Moscow"

# The supplier's look (LKK_SUPPLIER_LOGO, LKK_SUPPLIER_COLOR_*): the demo defaults.
ASSETS_DIR = PROJECT_ROOT / "assets"
DEFAULT_SUPPLIER_LOGO = ASSETS_DIR / "supplier-logo.svg"
DEFAULT_COLOR_PRIMARY = "#1e6fd9"
DEFAULT_COLOR_ACCENT = "#f2a900"
# The logo's formats, by the first bytes of the file (SVG: its text), and size.
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp", ".svg": "image/svg+xml"}
LOGO_MAX_BYTES = 512 * 1024


@dataclasses.dataclass(frozen=True)
class Requisites:
    """The supplier's requisites printed on its documents and shown for payment
    (``LKK_SUPPLIER_*``; the defaults are demo values, valid in form)."""

    full_name: str = "Акционерное общество «Демо-Энергосбыт» (демонстрационные данные)"
    inn: str = "7700000016"
    kpp: str = "770001001"
    address: str = "123000, г. Москва, ул. Энергетиков, д. 1"
    bank: str = "ПАО «Демобанк», г. Москва"
    bik: str = "044525999"
    account: str = "40702810600000012345"
    corr_account: str = "30101810600000000999"


class SettingsError(ValueError):
    """One or more settings are missing or invalid.  ``problems`` lists them,
    one sentence each, every one naming its variable; the message is those
    sentences, one per line."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class _Problems(list):
    """The problems found so far: every check adds to it and goes on, so that
    one start lists every bad setting at once."""

    def add(self, message: str) -> None:
        self.append(message)


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
    # Seconds to wait for the reply to the end of DATA (RFC 5321 4.5.3.2.6:
    # at least 10 minutes; giving up earlier is what sends a letter twice).
    smtp_data_timeout: int = 600
    # Branding of the guaranteeing supplier that runs this deployment («Служба поддержки»).
    supplier_name: str = "Гарантирующий поставщик (демонстрационная версия)"
    support_phones: tuple[str, ...] = ("8 800 000-00-00", "+7 495 000-00-00")
    support_hours: str = "Пн–Чт 8:30–17:30, Пт 8:30–16:15 (время московское)"
    support_email: str = "support@example.ru"
    supplier: Requisites = Requisites()
    # LKK_SUPPLIER_LOGO: the image beside the supplier's name (login window, header).
    supplier_logo: Path = DEFAULT_SUPPLIER_LOGO
    # LKK_SUPPLIER_COLOR_PRIMARY / _ACCENT: CSS colours (--supplier-primary, --supplier-accent).
    supplier_color_primary: str = DEFAULT_COLOR_PRIMARY
    supplier_color_accent: str = DEFAULT_COLOR_ACCENT
    # LKK_TIME_ZONE: the IANA time zone every time is shown in (stored times are UTC).
    time_zone: str = DEFAULT_TIME_ZONE
    # Billing: adapter, the real system's address and token, sync interval, timeouts (seconds).
    billing_adapter: str = BILLING_DEMO
    billing_url: str = ""
    billing_token: str = dataclasses.field(default="", repr=False)
    billing_sync_minutes: int = 15
    billing_connect_timeout: int = 3
    billing_read_timeout: int = 10
    # LKK_JOB_LEASE_SECONDS: how long a claimed job (a letter, a delivery to billing)
    # stays its worker's without a heartbeat (renewed every third of it while the
    # job runs); a worker that died leaves its jobs to the others after this.
    job_lease_seconds: int = 60
    # LKK_READINGS_WINDOW: days of month when readings are taken (``23-3`` wraps into
    # the next month; ``1-31``: always); a contract's own window from billing wins.
    readings_window: tuple[int, int] = (23, 3)
    # LKK_DEMO=1: the login window offers a ready demo account (demo billing only).
    demo: bool = False
    # LKK_RATE_EXEMPT_IPS: client IPs (comma-separated) that the per-IP and
    # per-connection limits of registration and the authorization code do not
    # count — test servers on loopback.  Never set in production.
    rate_exempt_ips: tuple[str, ...] = ()
    # LKK_FRONTEND_URL: where the pages are served when that is another site than
    # the server (``reflex export`` on a static host, ``reflex deploy``); "" = the
    # pages come from LKK_PUBLIC_URL (one site, the default).
    frontend_url: str = ""
    # LKK_WORKERS: server processes on this host (several need REFLEX_REDIS_URL).
    workers: int = 1

    @property
    def is_production(self) -> bool:
        return self.env == ENV_PRODUCTION

    @property
    def split_site(self) -> bool:
        """The pages come from another origin than the server (SECURITY.md, "The split shape")."""
        return bool(self.frontend_url) and _origin(self.frontend_url) != self.public_origin

    @property
    def pages_url(self) -> str:
        """The address people open: the pages' origin (and path prefix, if any)."""
        return self.frontend_url if self.split_site else self.public_url

    @property
    def frontend_origin(self) -> str:
        return _origin(self.pages_url)

    @property
    def page_origins(self) -> tuple[str, ...]:
        """The origins whose pages may talk to this server."""
        return (self.public_origin, self.frontend_origin) if self.split_site else (self.public_origin,)

    @property
    def public_origin(self) -> str:
        return _origin(self.public_url)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """:attr:`time_zone` as a ``ZoneInfo`` (checked when the settings were loaded)."""
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def cookie_secure(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def cookie_options(self) -> dict[str, Any]:
        """The attributes of every cookie the server sets: ``HttpOnly`` and
        ``SameSite=Strict`` on one site; in the split shape ``SameSite=None;
        Secure`` and ``Partitioned`` (added by ``web/http/base.py``) — kept
        apart per site of the pages (CHIPS), so only requests made by the
        pages' own site carry them."""
        if self.split_site:
            return {"path": "/", "httponly": True, "secure": True, "samesite": "none"}
        return {"path": "/", "httponly": True, "secure": self.cookie_secure, "samesite": "strict"}

    @property
    def supplier_css(self) -> str:
        """The supplier's two colours as CSS variables (``LKK_SUPPLIER_COLOR_*``,
        checked at start as CSS colours); ``html:root`` outweighs the stylesheet's defaults."""
        return (f"html:root{{--supplier-primary:{self.supplier_color_primary};"
                f"--supplier-accent:{self.supplier_color_accent}}}")

    @property
    def demo_mailbox(self) -> bool:
        """A demo deployed without an SMTP server: each address's letters are
        shown to whoever names the address (``/demo/mail``; the data is
        fictitious).  Development has ``/dev/mail``, for this computer only."""
        return self.demo and not self.smtp_host and self.is_production

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


def _int(env: dict[str, str], name: str, default: int, lo: int, hi: int,
         problems: _Problems) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.add(f"{name} must be a whole number, got {raw[:40]!r}")
        return default
    if not lo <= value <= hi:
        problems.add(f"{name} must be between {lo} and {hi}, got {value}")
        return default
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


def _mail_settings(env: dict[str, str], *, production: bool, data_dir: Path,
                   problems: _Problems) -> dict:
    host = env.get("LKK_SMTP_HOST", "").strip()
    if host and not _HOST_RE.fullmatch(host):
        problems.add(f"LKK_SMTP_HOST must be a host name or IP address, got {host[:80]!r}")
    # A demo (LKK_DEMO=1) may run without one: its letters go to the demo mailbox.
    demo = _demo_flag(env) is True
    if production and not host and not demo:
        problems.add(
            "LKK_SMTP_HOST is required when LKK_ENV=production "
            "(without it letters only go to the development mailbox)"
        )

    tls = env.get("LKK_SMTP_TLS", "").strip().lower()
    if not tls:
        tls = SMTP_TLS_STARTTLS if host else SMTP_TLS_NONE
    if tls not in SMTP_TLS_MODES:
        problems.add(f"LKK_SMTP_TLS must be one of none, starttls, tls, got {tls[:40]!r}")
        tls = SMTP_TLS_STARTTLS if host else SMTP_TLS_NONE
    if host and tls == SMTP_TLS_NONE and production and not is_loopback_host(host):
        problems.add(
            "LKK_SMTP_TLS=none is allowed only for a loopback LKK_SMTP_HOST "
            "(localhost, 127.0.0.1, ::1) or when LKK_ENV=development; use starttls or tls"
        )

    port = _int(env, "LKK_SMTP_PORT", SMTP_DEFAULT_PORTS[tls], 1, 65535, problems)

    user = env.get("LKK_SMTP_USER", "").strip()
    password = env.get("LKK_SMTP_PASSWORD", "")
    if bool(user) != bool(password):
        problems.add("LKK_SMTP_USER and LKK_SMTP_PASSWORD must be set together")
    if any(ch in user + password for ch in "\r\n\x00"):
        problems.add("LKK_SMTP_USER and LKK_SMTP_PASSWORD must not contain line breaks")

    mail_from = env.get("LKK_MAIL_FROM", "").strip() or DEFAULT_MAIL_FROM
    if any(ch in mail_from for ch in "\r\n\x00") or len(mail_from) > 320:
        problems.add("LKK_MAIL_FROM must be one line, e.g. 'ЛКК <no-reply@example.ru>'")
    else:
        _name, addr = email.utils.parseaddr(mail_from)
        if not addr or not _ADDR_RE.fullmatch(addr) or len(addr) > 254:
            problems.add(
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
        "smtp_timeout": _int(env, "LKK_SMTP_TIMEOUT", 15, 1, 120, problems),
        "smtp_data_timeout": _int(env, "LKK_SMTP_DATA_TIMEOUT", 600, 60, 3600, problems),
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


# LKK_SECRET_KEY in production (SECURITY.md, "Configuration and the development
# server"): at least this many characters and this many bits by
# :func:`secret_key_bits`.
SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_BITS = 128
# Characters of a key, by class, and how many a class adds to the alphabet.
_KEY_CLASSES = (
    (lambda c: c in string.digits, 10),
    (lambda c: c in string.ascii_lowercase, 26),
    (lambda c: c in string.ascii_uppercase, 26),
    (lambda c: c.isascii() and not c.isalnum(), 33),  # punctuation, space
    (lambda c: not c.isascii(), 66),  # Cyrillic (and any other script)
)
# Words a careless key is made of, besides zxcvbn's own dictionaries.
_KEY_WORDS = ("lkk", "лкк", "secret", "key", "changeme", "example", "production",
              "password", "reflex", "django", "insecure")
_ZXCVBN_CHUNK = 64  # zxcvbn refuses more than 72 characters


def secret_key_bits(key: str, extra_words: tuple[str, ...] = ()) -> float:
    """A conservative estimate of a key's entropy in bits.

    The key is cut by zxcvbn into its likeliest parts (dictionary words, keyboard
    runs, repeats, sequences, dates, and random stretches).  A random stretch
    counts ``log2(alphabet)`` bits per character, the alphabet being the sum of
    the classes the key uses (digits 10, Latin lower case 26, upper case 26,
    other ASCII 33, non-ASCII 66); any other part counts ``log2`` of zxcvbn's
    guesses for it (never more than it would as random characters).  So a
    random 43-character ``secrets.token_urlsafe(32)`` scores about 270 bits,
    ``'k' * 40`` about 9, ``'changeme' * 4`` about 4.
    """
    from zxcvbn import zxcvbn

    alphabet = sum(size for member, size in _KEY_CLASSES if any(member(c) for c in key))
    per_char = math.log2(alphabet) if alphabet > 1 else 0.0
    words = [*_KEY_WORDS, *extra_words]
    bits = 0.0
    for start in range(0, len(key), _ZXCVBN_CHUNK):
        for match in zxcvbn(key[start:start + _ZXCVBN_CHUNK], user_inputs=words)["sequence"]:
            random_bits = len(match["token"]) * per_char
            if match["pattern"] == "bruteforce":
                bits += random_bits
            else:
                bits += min(random_bits, math.log2(max(float(match["guesses"]), 1.0)))
    return bits


def _secret_key_problem(key: str, public_host: str) -> str | None:
    """Why a production key is too weak, or None."""
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"LKK_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters long"
    labels = tuple(p for p in re.split(r"[.:\[\]-]+", public_host.lower()) if len(p) >= 3)
    bits = secret_key_bits(key, labels)
    if bits < SECRET_KEY_MIN_BITS:
        return (f"LKK_SECRET_KEY is too guessable (about {bits:.0f} bits, at least "
                f"{SECRET_KEY_MIN_BITS} needed: no words, repeats or short digit strings); "
                "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise :class:`SettingsError` listing
    every problem found (not only the first)."""
    env = dict(os.environ if env is None else env)
    problems = _Problems()
    mode = env.get("LKK_ENV", ENV_DEVELOPMENT).strip().lower() or ENV_DEVELOPMENT
    if mode not in (ENV_DEVELOPMENT, ENV_PRODUCTION):
        problems.add(f"LKK_ENV must be 'development' or 'production', got {mode[:40]!r}")
        mode = ENV_DEVELOPMENT
    production = mode == ENV_PRODUCTION

    data_dir = Path(env.get("LKK_DATA_DIR", "").strip() or PROJECT_ROOT / "var")
    if not data_dir.is_absolute():
        data_dir = PROJECT_ROOT / data_dir

    public_url = env.get("LKK_PUBLIC_URL", "").strip().rstrip("/")
    if not public_url:
        if production:
            problems.add("LKK_PUBLIC_URL is required when LKK_ENV=production")
        public_url = "http://localhost:3000"
    parts = urlsplit(public_url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
        bad_port = False
    except ValueError:
        bad_port = True
    if parts.scheme not in ("http", "https") or not parts.hostname or bad_port:
        problems.add(f"LKK_PUBLIC_URL must be an http(s) URL, got {public_url[:200]!r}")
    elif parts.query or parts.fragment:
        problems.add("LKK_PUBLIC_URL must not have a query or fragment")

    frontend_url = _frontend_url(env, public_url, problems)

    raw_key = env.get("LKK_SECRET_KEY", "").strip()
    secret_key = b""
    if raw_key:
        problem = (_secret_key_problem(raw_key, parts.netloc) if production
                   else None if len(raw_key) >= SECRET_KEY_MIN_LENGTH
                   else f"LKK_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters long")
        if problem:
            problems.add(problem)
        secret_key = raw_key.encode()
    elif production:
        problems.add("LKK_SECRET_KEY is required when LKK_ENV=production")

    db_url = env.get("REFLEX_DB_URL", "").strip() or f"sqlite:///{data_dir / 'lkk.db'}"

    captcha_fixed_code = env.get("LKK_CAPTCHA_FIXED_CODE", "").strip()
    if captcha_fixed_code:
        if production:
            problems.add("LKK_CAPTCHA_FIXED_CODE must not be set when LKK_ENV=production")
        elif not (captcha_fixed_code.isascii() and captcha_fixed_code.isdigit()
                  and 6 <= len(captcha_fixed_code) <= 7):
            problems.add("LKK_CAPTCHA_FIXED_CODE must be 6 or 7 digits")

    cookie_name = env.get("LKK_SESSION_COOKIE", "").strip() or "lkk_session"
    if not cookie_name.replace("_", "").replace("-", "").isalnum():
        problems.add("LKK_SESSION_COOKIE may hold only letters, digits, '_' and '-'")

    numbers: dict[str, Any] = {
        "bcrypt_cost": _int(env, "LKK_BCRYPT_COST", 12, 10, 16, problems),
        "session_idle_minutes": _int(env, "LKK_SESSION_IDLE_MINUTES", 30, 1, 24 * 60, problems),
        "session_absolute_hours": _int(env, "LKK_SESSION_ABSOLUTE_HOURS", 12, 1, 24 * 30, problems),
        "trusted_proxy_hops": _int(env, "LKK_TRUSTED_PROXY_HOPS", 0, 0, 5, problems),
        "workers": _int(env, "LKK_WORKERS", 1, 1, 64, problems),
    }
    if env.get("GRANIAN_WORKERS", "").strip():
        problems.add("GRANIAN_WORKERS is not read (the server is gunicorn with uvicorn workers): use LKK_WORKERS")
    if numbers["workers"] > 1 and not env.get("REFLEX_REDIS_URL", "").strip():
        problems.add("LKK_WORKERS above 1 needs REFLEX_REDIS_URL (the tabs' state is shared through Redis)")
    mail = _mail_settings(env, production=production, data_dir=data_dir, problems=problems)
    support = _support_settings(env, problems)
    billing = _billing_settings(env, production=production, problems=problems)
    exempt_ips = _exempt_ips(env, production=production, problems=problems)
    time_zone = _time_zone(env, problems)

    if problems:
        raise SettingsError(problems)
    if not secret_key:
        secret_key = _dev_secret(data_dir)
    return Settings(
        env=mode,
        secret_key=secret_key,
        public_url=public_url,
        frontend_url=frontend_url,
        data_dir=data_dir,
        db_url=db_url,
        redis_url=env.get("REFLEX_REDIS_URL", "").strip(),
        session_cookie_name=cookie_name,
        captcha_fixed_code=captcha_fixed_code,
        **numbers,
        **mail,
        **support,
        **billing,
        rate_exempt_ips=exempt_ips,
        time_zone=time_zone,
    )


def _demo_flag(env: dict[str, str]) -> bool | None:
    """LKK_DEMO as given: on, off, or ``None`` for a value that is neither."""
    raw = env.get("LKK_DEMO", "").strip().lower()
    return True if raw in ("1", "true", "yes") else False if raw in ("", "0", "false", "no") else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _frontend_url(env: dict[str, str], public_url: str, problems: _Problems) -> str:
    """LKK_FRONTEND_URL: "" (the pages come from LKK_PUBLIC_URL) or an https
    origin of its own; the server's cookies then need https on both sides."""
    raw = env.get("LKK_FRONTEND_URL", "").strip().rstrip("/")
    if not raw:
        return ""
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        parts = parts._replace(scheme="")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.add(f"LKK_FRONTEND_URL must be an http(s) URL, got {raw[:200]!r}")
        return ""
    if parts.path or parts.query or parts.fragment or parts.username is not None:
        problems.add("LKK_FRONTEND_URL must be an origin only (no user name, path, query or fragment)")
        return ""
    # As a browser writes the Origin header: the host in lower case, no default port.
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port not in (None, default) else ""
    raw = f"{parts.scheme}://{parts.hostname}{port}"
    if _origin(raw) != _origin(public_url) and not (
            raw.startswith("https://") and public_url.startswith("https://")):
        problems.add("LKK_FRONTEND_URL on another site than LKK_PUBLIC_URL needs https on both "
                     "(the session cookie is then Secure and Partitioned)")
    return raw


def _time_zone(env: dict[str, str], problems: _Problems) -> str:
    """LKK_TIME_ZONE: an IANA time zone name such as ``Europe/Moscow`` (the default)."""
    name = env.get("LKK_TIME_ZONE", "").strip() or DEFAULT_TIME_ZONE
    try:
        # ``localtime`` and the like would name the server's zone, not the supplier's.
        if len(name) > 64 or name.lower() in ("localtime", "posixrules"):
            raise ValueError(name)
        zoneinfo.ZoneInfo(name)
    except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
        problems.add(f"LKK_TIME_ZONE must be an IANA time zone such as 'Europe/Moscow', got {name[:64]!r}")
        return DEFAULT_TIME_ZONE
    return name


def _exempt_ips(env: dict[str, str], *, production: bool, problems: _Problems) -> tuple[str, ...]:
    raw = env.get("LKK_RATE_EXEMPT_IPS", "").strip()
    if not raw:
        return ()
    if production:
        problems.add("LKK_RATE_EXEMPT_IPS must not be set when LKK_ENV=production")
        return ()
    items = tuple(p.strip() for p in raw.split(",") if p.strip())
    for item in items:
        try:
            ipaddress.ip_address(item)
        except ValueError:
            problems.add(f"LKK_RATE_EXEMPT_IPS must be IP addresses separated by ',', got {item[:60]!r}")
            return ()
    return items


def _short_text(env: dict[str, str], variable: str, field: str, out: dict, problems: _Problems) -> None:
    """An optional one-line text of at most 200 characters into ``out[field]``."""
    value = env.get(variable, "").strip()
    if not value:
        return
    if len(value) > 200:
        problems.add(f"{variable} must be at most 200 characters")
    else:
        out[field] = value


_REQUISITES = {"full_name": "LKK_SUPPLIER_FULL_NAME", "inn": "LKK_SUPPLIER_INN", "kpp": "LKK_SUPPLIER_KPP",
               "address": "LKK_SUPPLIER_ADDRESS", "bank": "LKK_SUPPLIER_BANK", "bik": "LKK_SUPPLIER_BIK",
               "account": "LKK_SUPPLIER_ACCOUNT", "corr_account": "LKK_SUPPLIER_CORR_ACCOUNT"}


def _requisites(env: dict[str, str], problems: _Problems) -> Requisites:
    """LKK_SUPPLIER_FULL_NAME, _INN, _KPP, _ADDRESS, _BANK, _BIK, _ACCOUNT,
    _CORR_ACCOUNT: each optional (demo values otherwise); the numbers are checked
    (the ИНН's check digits, the accounts' control digit with the БИК)."""
    from stdnum.ru import inn as stdnum_inn

    from lkk_app.core import requisites

    out: dict[str, str] = {}
    for field, variable in _REQUISITES.items():
        _short_text(env, variable, field, out, problems)
    found = Requisites(**out)
    if not (len(found.inn) == 10 and stdnum_inn.is_valid(found.inn)):
        problems.add(f"LKK_SUPPLIER_INN must be a company's ИНН (10 digits), got {found.inn[:40]!r}")
    if not re.fullmatch(r"\d{4}[\dA-Z]{2}\d{3}", found.kpp):
        problems.add(f"LKK_SUPPLIER_KPP must be a КПП (9 characters), got {found.kpp[:40]!r}")
    if not requisites.bik_valid(found.bik):
        problems.add(f"LKK_SUPPLIER_BIK must be a БИК (9 digits starting with 04), got {found.bik[:40]!r}")
    elif not requisites.account_valid(found.account, found.bik):
        problems.add("LKK_SUPPLIER_ACCOUNT must be a settlement account (20 digits) of the bank of "
                     f"LKK_SUPPLIER_BIK, its control digit right; got {found.account[:40]!r}")
    elif not requisites.corr_account_valid(found.corr_account, found.bik):
        problems.add("LKK_SUPPLIER_CORR_ACCOUNT must be the correspondent account (20 digits, 301…) of the "
                     f"bank of LKK_SUPPLIER_BIK; got {found.corr_account[:40]!r}")
    return found


_HEX_COLOR_RE = re.compile(r"#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})")
_NUMBER = r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)"
_FUNCTION_COLOR_RE = re.compile(
    rf"(rgba?|hsla?)\(\s*({_NUMBER}(?:deg|%)?)(?:\s*,\s*|\s+)({_NUMBER}%?)(?:\s*,\s*|\s+)({_NUMBER}%?)"
    rf"(?:\s*[,/]\s*({_NUMBER}%?))?\s*\)")


def css_color(raw: str) -> str | None:
    """A CSS colour as it goes into the stylesheet (lower-case), or ``None`` when
    ``raw`` is not one: ``#rgb``, ``#rgba``, ``#rrggbb``, ``#rrggbbaa``,
    ``rgb()``/``rgba()``/``hsl()``/``hsla()`` with numbers, or a named colour
    (``navy``; not ``transparent`` or ``currentcolor``, which are no brand)."""
    from PIL import ImageColor

    value = raw.strip().lower()
    if len(value) > 64:
        return None
    if _HEX_COLOR_RE.fullmatch(value) or (value.isalpha() and value in ImageColor.colormap):
        return value
    found = _FUNCTION_COLOR_RE.fullmatch(value)
    if found is None:
        return None
    name, first, second, third, _alpha = found.groups()
    if name.startswith("hsl"):  # a hue (a number or degrees), then two percentages
        ok = not first.endswith("%") and second.endswith("%") and third.endswith("%")
    else:  # three numbers or three percentages
        ok = len({part.endswith("%") for part in (first, second, third)}) == 1 and not first.endswith("deg")
    return value if ok else None


def _logo_kind(data: bytes, suffix: str) -> bool:
    """Whether the file's first bytes are what its suffix says."""
    if suffix == ".png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if suffix in (".jpg", ".jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if suffix == ".webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return b"<svg" in data[:4096].lower()


def _logo_problem(raw: str) -> Path | str:
    """LKK_SUPPLIER_LOGO's file, or why it cannot be the logo."""
    path = Path(raw)
    if not path.is_absolute():
        path = (ASSETS_DIR / path).resolve()
        if not path.is_relative_to(ASSETS_DIR.resolve()):
            return f"LKK_SUPPLIER_LOGO must name a file of assets/ or an absolute path, got {raw[:200]!r}"
    suffix = path.suffix.lower()
    if suffix not in LOGO_TYPES:
        return f"LKK_SUPPLIER_LOGO must be a .png, .jpg, .webp or .svg image, got {raw[:200]!r}"
    if not path.is_file():
        return f"LKK_SUPPLIER_LOGO: no such file {str(path)[:200]!r}"
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        return f"LKK_SUPPLIER_LOGO cannot be read: {exc.strerror or exc}"
    if size > LOGO_MAX_BYTES:
        return f"LKK_SUPPLIER_LOGO must be at most {LOGO_MAX_BYTES // 1024} KB, got {size // 1024} KB"
    if not _logo_kind(head, suffix):
        return f"LKK_SUPPLIER_LOGO is not a {suffix[1:].upper()} image: {str(path)[:200]!r}"
    return path


def _supplier_look(env: dict[str, str], problems: _Problems) -> dict:
    """LKK_SUPPLIER_LOGO (a file of ``assets/`` or an absolute path: PNG, JPEG,
    WebP or SVG up to 512 KB, read to check it) and LKK_SUPPLIER_COLOR_PRIMARY /
    _ACCENT (CSS colours)."""
    out: dict = {}
    raw_logo = env.get("LKK_SUPPLIER_LOGO", "").strip()
    if raw_logo:
        logo = _logo_problem(raw_logo)
        if isinstance(logo, str):
            problems.add(logo)
        else:
            out["supplier_logo"] = logo
    for variable, field in (("LKK_SUPPLIER_COLOR_PRIMARY", "supplier_color_primary"),
                            ("LKK_SUPPLIER_COLOR_ACCENT", "supplier_color_accent")):
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        color = css_color(raw)
        if color is None:
            problems.add(f"{variable} must be a CSS colour such as '#1e6fd9', 'rgb(30 111 217)' or 'navy', "
                         f"got {raw[:64]!r}")
        else:
            out[field] = color
    return out


def _support_settings(env: dict[str, str], problems: _Problems) -> dict:
    """LKK_SUPPLIER_NAME, LKK_SUPPORT_PHONES (separated by ';'), LKK_SUPPORT_HOURS,
    LKK_SUPPORT_EMAIL — each optional; the defaults are demo values.  The phones
    are checked like a user's (``phonenumbers``; a number without «+» is Russian)."""
    from lkk_app.auth.validation import normalize_phone
    from lkk_app.core.errors import FieldErrors

    out: dict = _supplier_look(env, problems)
    _short_text(env, "LKK_SUPPLIER_NAME", "supplier_name", out, problems)
    phones = env.get("LKK_SUPPORT_PHONES", "").strip()
    if phones:
        items = tuple(p.strip() for p in phones.split(";") if p.strip())
        bad = []
        for item in items:
            try:
                normalize_phone(item)
            except FieldErrors:
                bad.append(item)
        if bad or not items or len(items) > 10:
            problems.add(f"LKK_SUPPORT_PHONES must be phone numbers separated by ';' (such as "
                         f"'8 800 000-00-00; +7 495 000-00-00'), got {phones[:200]!r}")
        else:
            out["support_phones"] = items
    _short_text(env, "LKK_SUPPORT_HOURS", "support_hours", out, problems)
    out["supplier"] = _requisites(env, problems)
    email = env.get("LKK_SUPPORT_EMAIL", "").strip()
    if email:
        from lkk_app.auth.validation import email_error

        if email_error(email):
            problems.add(f"LKK_SUPPORT_EMAIL is not an e-mail address: {email[:200]!r}")
        else:
            out["support_email"] = email
    return out


def _billing_settings(env: dict[str, str], *, production: bool, problems: _Problems) -> dict:
    """LKK_BILLING_*: production must name the adapter; ``http`` needs a URL and a token."""
    adapter = env.get("LKK_BILLING_ADAPTER", "").strip().lower()
    if not adapter:
        if production:
            problems.add(
                "LKK_BILLING_ADAPTER is required when LKK_ENV=production: "
                "'http' for the billing system, or 'demo' for the demo billing"
            )
        adapter = BILLING_DEMO
    if adapter not in BILLING_ADAPTERS:
        problems.add(f"LKK_BILLING_ADAPTER must be 'demo' or 'http', got {adapter[:40]!r}")
    url = env.get("LKK_BILLING_URL", "").strip().rstrip("/")
    token = env.get("LKK_BILLING_TOKEN", "").strip()
    if adapter == BILLING_HTTP:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.add(f"LKK_BILLING_URL must be an http(s) URL when LKK_BILLING_ADAPTER=http, got {url[:200]!r}")
        elif parts.query or parts.fragment or parts.username or parts.password:
            problems.add("LKK_BILLING_URL must not have a query, fragment or user name")
        elif production and parts.scheme == "http" and not is_loopback_host(parts.hostname):
            problems.add(
                "LKK_BILLING_URL must be https:// when LKK_ENV=production "
                "(http:// is allowed only for a loopback host)"
            )
        if not token:
            problems.add("LKK_BILLING_TOKEN is required when LKK_BILLING_ADAPTER=http")
    if token and (len(token) > 4096 or not token.isascii() or any(ch.isspace() for ch in token)):
        problems.add("LKK_BILLING_TOKEN must be one word of printable ASCII characters")
    flag = _demo_flag(env)
    if flag is None:
        problems.add(f"LKK_DEMO must be 1 or 0, got {env.get('LKK_DEMO', '').strip()[:20]!r}")
    demo_on = flag is True
    if demo_on and adapter != BILLING_DEMO:
        problems.add("LKK_DEMO=1 shows demo data: it needs LKK_BILLING_ADAPTER=demo")
    return {
        "demo": demo_on,
        "billing_adapter": adapter,
        "billing_url": url,
        "billing_token": token,
        "billing_sync_minutes": _int(env, "LKK_BILLING_SYNC_MINUTES", 15, 1, 24 * 60, problems),
        "billing_connect_timeout": _int(env, "LKK_BILLING_CONNECT_TIMEOUT", 3, 1, 60, problems),
        "billing_read_timeout": _int(env, "LKK_BILLING_READ_TIMEOUT", 10, 1, 300, problems),
        "job_lease_seconds": _int(env, "LKK_JOB_LEASE_SECONDS", 60, 6, 3600, problems),
        "readings_window": _readings_window(env, problems),
    }


def _readings_window(env: dict[str, str], problems: _Problems) -> tuple[int, int]:
    """LKK_READINGS_WINDOW: two days of month, ``first-last`` (``23-3``)."""
    raw = env.get("LKK_READINGS_WINDOW", "").strip() or "23-3"
    first, sep, last = raw.partition("-")
    if sep and first.strip().isdigit() and last.strip().isdigit() and len(raw) <= 5:
        days = (int(first), int(last))
        if all(1 <= d <= 31 for d in days):
            return days
    problems.add(f"LKK_READINGS_WINDOW must be two days of month such as 23-3 (1-31: always open), got {raw[:20]!r}")
    return (23, 3)


def refusal_text(error: SettingsError) -> str:
    """What the server prints when it refuses to start: a header line and one
    line per bad setting, no traceback."""
    from lkk_app.i18n import t

    lines = [t("settings.refused", count=len(error.problems))]
    lines += [f"  - {problem}" for problem in error.problems]
    return "\n".join(lines) + "\n"


def settings_or_exit() -> Settings:
    """:func:`get_settings` for the start of a process (``rxconfig.py``): on bad
    settings, print :func:`refusal_text` to stderr and exit with status 2."""
    try:
        return get_settings()
    except SettingsError as exc:
        sys.stderr.write(refusal_text(exc))
        sys.stderr.flush()
        raise SystemExit(2) from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reload_settings() -> Settings:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()
    return get_settings()
