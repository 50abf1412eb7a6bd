"""The pieces of lkk_app/web/asgi/event_limits.py that need no server: the frame nesting
check and the token bucket.  The limits themselves are attacked on a running
server in tests/attack/test_event_limits.py."""

from __future__ import annotations

import json
import time

import pytest

from lkk_app.web.asgi.event_limits import MAX_JSON_DEPTH, TokenBucket, json_depth_exceeds


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


def test_the_deepest_event_of_the_app_is_far_below_the_limit():
    frame = '2/_event,' + json.dumps(["event", {"name": "x.y", "payload": {"form_data": {
        "login": "ivanov", "password": "[{[{" * 200}}, "router_data": {"pathname": "/"}}])
    assert not json_depth_exceeds(frame)


def test_frames_deeper_than_the_limit_are_caught():
    assert not json_depth_exceeds(nested(MAX_JSON_DEPTH))
    assert json_depth_exceeds(nested(MAX_JSON_DEPTH + 1))
    assert json_depth_exceeds('2/_event,["event",' + nested(950) + "]")
    objects = '{"a":' * 950 + "1" + "}" * 950
    assert json_depth_exceeds(objects)


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"a": "[" * 5000, "b": ["]" * 5000, "\\\"[[["]})
    assert not json_depth_exceeds(text)


@pytest.mark.timing
def test_the_check_is_quick_on_the_largest_frame():
    text = nested(32 * 1024)  # 64 KiB, the websocket message limit
    started = time.perf_counter()
    for _ in range(10):
        assert json_depth_exceeds(text)
    flat = json.dumps(["[]"] * 8000)  # many brackets, all in strings, ~48 KiB
    for _ in range(10):
        assert not json_depth_exceeds(flat)
    assert (time.perf_counter() - started) / 20 < 0.02


def test_the_bucket_gives_its_burst_then_its_rate():
    bucket = TokenBucket(rate=20, burst=40)
    now = 1000.0
    assert sum(bucket.take(now) for _ in range(100)) == 40
    assert sum(bucket.take(now + 0.5) for _ in range(100)) == 10
    assert sum(bucket.take(now + 100) for _ in range(100)) == 40  # never more than the burst

