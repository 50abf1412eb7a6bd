"""Failed event handlers: one log line and a Russian message in the page.

Reflex's default ``backend_exception_handler`` answers with a toast, which
its client runs through ``eval`` — and the Content-Security-Policy (rightly
without ``'unsafe-eval'``) blocks that, so the person saw nothing: a form just
went back to idle.  :func:`handle_backend_error` instead logs one line (the
exception's type, a database driver's own short message, where it happened —
no exception text that could carry input, no SQL parameters, no traceback)
and returns :meth:`ErrorBanner.show`, an ordinary state event: the page frames
(``components/layout.py``, ``components/cabinet.py``) render the message from
state, no script involved.
"""

import logging
import os
import traceback

import reflex as rx
from reflex.event import EventSpec

from lkk_app import routes
from lkk_app.i18n import t
from lkk_app.state.base import SignedOut

log = logging.getLogger("lkk.errors")

# A driver message longer than this is cut (its first line only is kept).
DETAIL_MAX = 120
# Frames of the app are those of files in this directory.
_APP_DIR = f"{os.sep}lkk_app{os.sep}"


class ErrorBanner(rx.State):
    """The message shown at the top of the page after a handler failed.

    ``path`` is the page it belongs to: after moving to another page the
    message is no longer shown.  Any client may call these two events, but
    only for its own tab; they carry nothing."""

    message: str = ""
    path: str = ""

    @rx.event
    def show(self) -> None:
        self.message = t("error.handler_failed")
        self.path = self.router.page.path or ""

    @rx.event
    def dismiss(self):
        self.message = ""
        self.path = ""


def _detail(exception: BaseException) -> str:
    """A database driver's own message (``database is locked``); nothing else,
    since other messages may repeat what the person typed."""
    orig = getattr(exception, "orig", None)
    if orig is None:
        return ""
    first = (str(orig).strip().splitlines() or [""])[0]
    return first[:DETAIL_MAX]


def _where(exception: BaseException) -> str:
    """``file:line in function`` of the app's outermost and innermost frames."""
    frames = [f for f in traceback.extract_tb(exception.__traceback__) if _APP_DIR in f.filename]
    if not frames:
        return ""
    places = []
    for frame in (frames[0], frames[-1]) if len(frames) > 1 else (frames[0],):
        name = frame.filename[frame.filename.rindex(_APP_DIR) + 1:]
        places.append(f"{name}:{frame.lineno} in {frame.name}")
    return " -> ".join(places)


def describe(exception: BaseException) -> str:
    """The one-line description that goes to the log."""
    text = type(exception).__name__
    detail = _detail(exception)
    if detail:
        text += f" ({detail})"
    where = _where(exception)
    if where:
        text += f" at {where}"
    return text


def handle_backend_error(exception: Exception) -> EventSpec:
    """``rx.App(backend_exception_handler=...)``: log one line, show the banner —
    or, for a handler that let :class:`SignedOut` through, the login window
    that says the session has ended (as :meth:`AuthState._to_login` does)."""
    if isinstance(exception, SignedOut):
        return rx.redirect(routes.CHANGE_PASSWORD if exception.restricted
                           else routes.login_url(expired="1"))
    log.error("event handler failed: %s", describe(exception))
    return ErrorBanner.show()  # type: ignore[operator]  # rx.event handlers are typed as the decorator


def error_banner() -> rx.Component:
    """The message, for the page frames; an alert, so screen readers announce it."""
    return rx.cond(
        (ErrorBanner.message != "") & (ErrorBanner.path == rx.State.router.page.path),
        rx.el.div(
            rx.el.p(ErrorBanner.message, class_name="error-banner-text"),
            rx.el.button(t("error.dismiss"), type="button", on_click=ErrorBanner.dismiss,
                         class_name="btn-link error-banner-close"),
            role="alert",
            class_name="error-banner",
            data_testid="error-banner",
        ),
    )
