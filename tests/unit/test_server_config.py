"""How ``reflex run --env prod`` starts the server: gunicorn with LKK_WORKERS
uvicorn workers (lkk_app/web/asgi/server.py), configured so the app, not the
server, decides who the client is."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gunicorn.util import load_class
from uvicorn.config import Config

from lkk_app.settings import SettingsError, load_settings
from lkk_app.web.asgi import server, server_command

ROOT = Path(__file__).resolve().parents[2]


def _config() -> Config:
    async def app(scope, receive, send):  # pragma: no cover - never called
        raise AssertionError

    config = Config(app=app, **server.Worker.CONFIG_KWARGS)
    config.load()
    return config


def test_the_worker_leaves_the_client_address_to_the_app():
    config = _config()
    # uvicorn would otherwise take X-Forwarded-For from loopback clients as the truth.
    assert config.proxy_headers is False
    assert not any(name == b"server" for name, _ in config.encoded_headers)


def test_the_websocket_protocol_keeps_little_per_tab():
    config = _config()
    assert config.ws_protocol_class.__name__ == "WebSocketsSansIOProtocol"
    assert config.ws_per_message_deflate is False
    assert config.ws_ping_interval is None
    # A message Engine.IO takes (64 Ki characters, up to 4 UTF-8 bytes each) passes;
    # uvicorn's own default (16 MiB) does not stand.
    engine_io_limit = int(os.environ.get("REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE", 64 * 1024))
    assert 4 * engine_io_limit <= config.ws_max_size <= 1024 * 1024


def test_gunicorn_args_name_an_importable_worker():
    args = server_command.gunicorn_args(3).split()
    assert args[args.index("--workers") + 1] == "3"
    assert load_class(args[args.index("--worker-class") + 1]) is server.Worker
    # gunicorn waits for the app's own shutdown (up to 20 s for a letter being sent).
    assert int(args[args.index("--graceful-timeout") + 1]) > 20


def test_an_operators_gunicorn_args_are_added_but_keep_our_worker():
    given = "--worker-class uvicorn.workers.UvicornWorker --keep-alive 5 --access-logfile -"
    args = server_command.gunicorn_args(2, given).split()
    assert "--access-logfile" in args and args[len(args) - 1 - args[::-1].index("--keep-alive") + 1] == "5"
    classes = [args[i + 1] for i, a in enumerate(args) if a == "--worker-class"]
    assert classes[-1] == server_command.WORKER_CLASS  # gunicorn takes the last one
    again = " ".join(args)
    assert server_command.gunicorn_args(2, again) == again  # a child process adds nothing


def test_sigterm_to_the_command_reaches_its_children(tmp_path):
    """``reflex run`` waits for gunicorn; a SIGTERM to it alone must reach gunicorn."""
    import signal
    import time

    code = (
        "import subprocess, sys; sys.argv = ['reflex', 'run'];"
        "from lkk_app.web.asgi import server_command as c; assert c.is_reflex_run();"
        "c.forward_termination();"
        f"open({str(tmp_path / 'ready')!r}, 'w').close();"
        "subprocess.run([sys.executable, '-c', 'import time; time.sleep(60)'])"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "ready").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=15) == 0  # the child ended, then the command
    finally:
        parent.kill()
    assert not server_command.is_reflex_run()  # pytest is not the command


def test_the_worker_freezes_what_the_master_made(monkeypatch):
    calls = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *a: calls.append(a))
    monkeypatch.setattr(server.UvicornWorker, "__init__", lambda self, *a, **k: calls.append("init"))
    server.Worker()
    assert calls == ["freeze", server._GC_THRESHOLDS, "init"]


@pytest.mark.parametrize("workers", ["1", "3"])
def test_rxconfig_starts_gunicorn_with_the_workers_asked_for(tmp_path, workers):
    code = "import os, rxconfig; print(os.environ['REFLEX_USE_GRANIAN']); print(os.environ['GUNICORN_CMD_ARGS'])"
    env = {"PATH": "/usr/bin:/bin", "LKK_DATA_DIR": str(tmp_path), "LKK_WORKERS": workers,
           "REFLEX_REDIS_URL": "redis://127.0.0.1:6379/15"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout.split("\n")
    assert out[0] == "false"
    assert f"--workers {workers}" in out[1] and "lkk_app.web.asgi.server.Worker" in out[1]


def test_the_old_workers_setting_is_refused_not_ignored(tmp_path):
    with pytest.raises(SettingsError, match="GRANIAN_WORKERS is not read"):
        load_settings({"LKK_DATA_DIR": str(tmp_path), "GRANIAN_WORKERS": "4"})


def test_several_workers_need_redis(tmp_path):
    with pytest.raises(SettingsError, match="LKK_WORKERS above 1 needs REFLEX_REDIS_URL"):
        load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_WORKERS": "2"})
    with pytest.raises(SettingsError, match="LKK_WORKERS"):
        load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_WORKERS": "0"})
    s = load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_WORKERS": "2",
                       "REFLEX_REDIS_URL": "redis://127.0.0.1:6379/15"})
    assert s.workers == 2
    assert load_settings({"LKK_DATA_DIR": str(tmp_path)}).workers == 1
