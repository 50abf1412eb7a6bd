"""Load on the websocket, in the shapes a supplier runs: one worker with its
tabs' state in memory, one worker with the Redis state manager, two workers on
Redis.  For each shape it starts its own production-mode server (bcrypt cost
12), then:

- **idle clients**: opens tabs that hydrate the login page (its ``on_load``
  runs) and stay; server memory (RSS of every server process, and Redis's
  ``used_memory``) per tab;
- **closed loop**: N = 1, 50, 200, 500 tabs each send a cheap event (the root
  state's ``set_is_hydrated``) and wait for its answer, at most 18 a second per
  tab (the server allows 20 per connection); events/s, p50/p99 latency, server
  CPU per event (Redis's own CPU apart);
- **open loop**: 200 tabs send events at a fixed total rate — half the shape's
  closed-loop maximum — whatever the answers do; latency from the moment each
  event was due;
- **logins** (the first shape only): logins/s with 8 at a time against raw
  bcrypt checks/s on as many threads as cores, in the same run; the login
  page's ``on_load`` (a new tab hydrating ``/``) idle and while the logins hash.

Every tab and every login comes from an address of its own (the benchmark is
the server's trusted proxy hop, ``X-Forwarded-For: 10.x.y.z``), so the
per-address limits never answer in place of the work.  The tabs speak
Engine.IO/Socket.IO over aiohttp websockets directly (a full Socket.IO client
per tab would be the bottleneck on the same machine).

    .venv/bin/python bench/load.py [--shapes memory,redis,redis2] [--clients 1,50,200,500]
                                   [--seconds 8] [--redis redis://127.0.0.1:6379/14]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import itertools
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402

from tests.appserver import AppServer, running_app  # noqa: E402

ROOT_STATE = "reflex___state____state"
HYDRATE = f"{ROOT_STATE}.hydrate_and_load"
CHEAP = f"{ROOT_STATE}.set_is_hydrated"
IS_HYDRATED = "is_hydrated_rx_state_"
PER_TAB_RATE = 18.0
# permessage-deflate window bits the tabs offer (Chromium offers 15; 0: none)
COMPRESS = int(os.environ.get("LKK_BENCH_WS_COMPRESS", "15"))
PASSWORD = "Скамейка в парке 12"
SHAPES = {
    "memory": {"LKK_WORKERS": "1"},
    "redis": {"LKK_WORKERS": "1", "REFLEX_REDIS_URL": None},
    "redis2": {"LKK_WORKERS": "2", "REFLEX_REDIS_URL": None},
}

_addresses = itertools.count(1)


def fresh_ip() -> str:
    n = next(_addresses)
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def rss_kib(server: AppServer) -> int:
    """Resident memory of every live process of the server, KiB."""
    total = 0
    for folder, _ in server.processes():
        try:
            text = (folder / "status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


CGROUP_CPU = Path("/sys/fs/cgroup/cpu")


def server_workers(server: AppServer) -> list[int]:
    """The pids of the server's worker processes (gunicorn's master's children)."""
    members: dict[int, int] = {}
    for folder, fields in server.processes():
        try:
            if b"gunicorn" in (folder / "cmdline").read_bytes():
                members[int(folder.name)] = int(fields[1])
        except OSError:
            continue
    return sorted(pid for pid, parent in members.items() if parent in members)


def cap_workers(server: AppServer, cores: float) -> list[Path]:
    """Give every worker a CPU group of its own limited to ``cores`` (cgroup v1
    quota): each worker gets at most that much of the machine, and the load
    generator the rest, whether one worker runs or two."""
    groups = []
    for pid in server_workers(server):
        group = CGROUP_CPU / f"lkk-bench-{pid}"
        group.mkdir(exist_ok=True)
        (group / "cpu.cfs_period_us").write_text("100000")
        (group / "cpu.cfs_quota_us").write_text(str(int(cores * 100000)))
        for task in Path(f"/proc/{pid}/task").iterdir():
            (group / "tasks").write_text(task.name)
        groups.append(group)
    if not groups:
        raise SystemExit("no worker processes found to cap")
    return groups


def pin(server: AppServer) -> None:
    """Every thread of the server on the first core, this load generator on the
    second: neither waits for the other's turn on a core (one worker only)."""
    for folder, _ in server.processes():
        try:
            for task in (folder / "task").iterdir():
                os.sched_setaffinity(int(task.name), {0})
        except (OSError, ValueError):
            continue
    os.sched_setaffinity(0, {1})


def uncap(groups: list[Path]) -> None:
    for group in groups:
        for task in (group / "tasks").read_text().split():
            try:
                (CGROUP_CPU / "tasks").write_text(task)
            except OSError:
                pass
        group.rmdir()


def redis_cpu_and_memory(url: str | None) -> tuple[float, int]:
    if not url:
        return 0.0, 0
    import redis

    client = redis.Redis.from_url(url)
    try:
        cpu = client.info("cpu")
        memory = client.info("memory")
    finally:
        client.close()
    return float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]), int(memory["used_memory"])


class Tab:
    """One browser tab's websocket, without the browser."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url
        self.token = str(uuid.uuid4())
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._waiters: list[tuple[object, asyncio.Future]] = []
        self._reader: asyncio.Task | None = None

    async def open(self) -> None:
        ws_url = self.url.replace("http", "ws", 1) + f"/_event/?EIO=4&transport=websocket&token={self.token}"
        self.ws = await self.session.ws_connect(
            ws_url, headers={"Origin": self.url, "X-Forwarded-For": fresh_ip()}, autoping=False, compress=COMPRESS,
            max_msg_size=0)
        opened = await self.ws.receive_str()
        assert opened.startswith("0"), opened
        await self.ws.send_str("40/_event,")
        while True:
            frame = await self.ws.receive_str()
            if frame.startswith("40/_event"):
                break
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = msg.data
            if data == "2":
                await self.ws.send_str("3")
                continue
            if not data.startswith("42/_event,"):
                continue
            name, update = json.loads(data[len("42/_event,"):])[:2]
            if name != "event":
                continue
            root = (update.get("delta") or {}).get(ROOT_STATE) or {}
            if IS_HYDRATED in root:
                value = root[IS_HYDRATED]
                for waiter in [w for w in self._waiters if w[0] == value]:
                    self._waiters.remove(waiter)
                    if not waiter[1].done():
                        waiter[1].set_result(time.perf_counter())

    async def send(self, name: str, payload: dict, expect: bool, path: str = "/") -> float:
        """Send an event; the time its answer (``is_hydrated`` = ``expect``) arrived."""
        assert self.ws is not None
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((expect, future))
        event = {"name": name, "payload": payload,
                 "router_data": {"pathname": path, "asPath": path, "query": {}}}
        await self.ws.send_str("42/_event," + json.dumps(["event", event], ensure_ascii=False))
        return await asyncio.wait_for(future, 30)

    async def hydrate(self, path: str = "/") -> float:
        """A page load: ``hydrate_and_load`` (the page's on_load runs); seconds."""
        start = time.perf_counter()
        await self.send(HYDRATE, {}, True, path)
        return time.perf_counter() - start

    async def toggle(self, n: int) -> float:
        start = time.perf_counter()
        await self.send(CHEAP, {"value": bool(n % 2)}, bool(n % 2))
        return time.perf_counter() - start

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        if self.ws is not None:
            await self.ws.close()


async def open_tabs(session, url: str, count: int, tabs: list[Tab]) -> None:
    """Grow ``tabs`` to ``count`` hydrated tabs, 20 opening at a time."""
    semaphore = asyncio.Semaphore(20)

    async def one() -> Tab:
        async with semaphore:
            tab = Tab(session, url)
            await tab.open()
            await tab.hydrate()
            return tab

    tabs.extend(await asyncio.gather(*(one() for _ in range(count - len(tabs)))))


async def closed_loop(tabs: list[Tab], seconds: float) -> tuple[int, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def run(tab: Tab) -> None:
        n = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            latencies.append(await tab.toggle(n))
            n += 1
            rest = 1 / PER_TAB_RATE - (time.perf_counter() - start)
            if rest > 0:
                await asyncio.sleep(rest)

    await asyncio.gather(*(run(t) for t in tabs))
    return len(latencies), latencies


class measured:
    """No collection of this process's garbage while the block runs."""

    def __enter__(self) -> None:
        gc.collect()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        gc.enable()


async def open_loop(tabs: list[Tab], rate: float, seconds: float) -> tuple[int, list[float]]:
    """Events due every 1/rate seconds, round-robin over the tabs; latency from when due."""
    latencies: list[float] = []
    start = time.perf_counter() + 0.2
    total = int(rate * seconds)
    pending = []

    async def one(i: int, due: float) -> None:
        tab = tabs[i % len(tabs)]
        answered = await tab.send(CHEAP, {"value": bool((i // len(tabs)) % 2)}, bool((i // len(tabs)) % 2))
        latencies.append(answered - due)

    for i in range(total):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        pending.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*pending)
    return total, latencies


def login(url: str, login_name: str) -> float:
    start = time.perf_counter()
    r = httpx.post(url + "/auth/login", data={"login": login_name, "password": PASSWORD},
                   headers={"Origin": url, "X-Forwarded-For": fresh_ip()}, follow_redirects=False, timeout=60)
    assert r.status_code == 303 and "e=" not in r.headers["location"], r.headers.get("location")
    return time.perf_counter() - start


def bcrypt_rate(seconds: float, threads: int) -> float:
    from lkk_app.auth import passwords

    stored = passwords.hash_password(PASSWORD, secret_key="k" * 40, cost=12)
    stop = time.perf_counter() + seconds
    counts = [0] * threads

    def work(i: int) -> None:
        while time.perf_counter() < stop:
            passwords.verify_password(PASSWORD, stored, secret_key="k" * 40)
            counts[i] += 1

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    return sum(counts) / seconds


async def on_load_samples(url: str, count: int) -> list[float]:
    out = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            tab = Tab(session, url)
            await tab.open()
            out.append(await tab.hydrate())
            await tab.close()
    return out


def logins_and_on_load(server: AppServer, seconds: float) -> list[tuple[str, str]]:
    rows = []
    url = server.url
    idle = asyncio.run(on_load_samples(url, 30))
    rows.append(("login page on_load, idle", f"p50 {pct(idle, .5) * 1000:.0f} ms, p90 {pct(idle, .9) * 1000:.0f} ms"))
    stop = threading.Event()
    done: list[float] = []

    def burst(i: int) -> None:
        while not stop.is_set():
            done.append(login(url, f"bench{i}"))

    c0 = server.cpu_seconds()
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(burst, i) for i in range(8)]
        time.sleep(1.0)
        during = asyncio.run(on_load_samples(url, 30))
        time.sleep(max(0.0, seconds - (time.perf_counter() - t0)))
        stop.set()
        for f in futures:
            f.result()
    elapsed = time.perf_counter() - t0
    cpu_per_login = (server.cpu_seconds() - c0) / len(done)
    raw = bcrypt_rate(4.0, os.cpu_count() or 2)
    rows.append(("logins/s, 8 at a time / raw bcrypt checks/s (all cores)",
                 f"{len(done) / elapsed:.1f} / {raw:.1f} = {len(done) / elapsed / raw:.2f}; "
                 f"server CPU {cpu_per_login * 1000:.0f} ms a login"))
    rows.append(("login page on_load during the login burst",
                 f"p50 {pct(during, .5) * 1000:.0f} ms, p90 {pct(during, .9) * 1000:.0f} ms, "
                 f"max {max(during) * 1000:.0f} ms"))
    return rows


async def websocket_load(server: AppServer, redis_url: str | None, clients: list[int], seconds: float,
                         idle: int, idle_wait: float) -> tuple[list[tuple[str, str]], float]:
    rows = []
    tabs: list[Tab] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        before_rss, (_, before_redis) = rss_kib(server), redis_cpu_and_memory(redis_url)
        await open_tabs(session, server.url, idle, tabs)
        # Past Reflex's opportunistic lock (the state of a tab kept in the
        # worker after its last event, 5 s by default) and the first expiry sweeps.
        await asyncio.sleep(idle_wait)
        after_rss, (_, after_redis) = rss_kib(server), redis_cpu_and_memory(redis_url)
        rows.append((f"memory per idle tab ({idle} tabs)",
                     f"server {(after_rss - before_rss) / idle:.0f} KiB"
                     + (f", Redis {(after_redis - before_redis) / idle / 1024:.1f} KiB" if redis_url else "")))
        best = 0.0
        for n in clients:
            if len(tabs) < n:
                await open_tabs(session, server.url, n, tabs)
            c0, (r0, _) = server.cpu_seconds(), redis_cpu_and_memory(redis_url)
            with measured():
                count, latencies = await closed_loop(tabs[:n], seconds)
            cpu, (r1, _) = server.cpu_seconds() - c0, redis_cpu_and_memory(redis_url)
            rate = count / seconds
            best = max(best, rate)
            rows.append((f"closed loop, {n} tab(s)",
                         f"{rate:.0f} events/s, p50 {pct(latencies, .5) * 1000:.1f} ms, "
                         f"p99 {pct(latencies, .99) * 1000:.1f} ms, server CPU {cpu / count * 1000:.2f} ms/event"
                         + (f" (+ Redis {(r1 - r0) / count * 1000:.2f})" if redis_url else "")))
        n = min(200, len(tabs))
        rate = best / 2
        with measured():
            count, latencies = await open_loop(tabs[:n], rate, seconds)
        rows.append((f"open loop, {n} tabs at {rate:.0f} events/s (half the max)",
                     f"p50 {pct(latencies, .5) * 1000:.1f} ms, p99 {pct(latencies, .99) * 1000:.1f} ms"))
        await asyncio.gather(*(t.close() for t in tabs))
    return rows, best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", default="memory,redis,redis2")
    parser.add_argument("--clients", default="1,50,200,500")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--idle", type=int, default=300)
    parser.add_argument("--idle-wait", type=float, default=12.0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--pin", action="store_true",
                        help="one worker on the first core, the load generator on the second")
    parser.add_argument("--worker-cpu", type=float, default=0.0, metavar="CORES",
                        help="limit every worker to this many cores (cgroup v1 quota; needs root)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra setting of every server (to compare Reflex's options)")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    # The generator's own collections (hundreds of tabs' objects) would stop
    # every tab at once and count as the server's latency: none while measuring
    # (measured(), below), the garbage collected between the measurements.
    gc.freeze()
    os.environ.setdefault("LKK_TEST_WEB_WORKDIR", ".web-bench")
    with open("/proc/loadavg") as f:
        print(f"# {time.strftime('%d %b %Y %H:%M')}, load average before: {f.read().split()[0]}, "
              f"{os.cpu_count()} cores")
    maxima = {}
    for index, shape in enumerate(args.shapes.split(",")):
        env = {k: (args.redis if v is None else v) for k, v in SHAPES[shape].items()}
        env.update(item.split("=", 1) for item in args.env)
        redis_url = env.get("REFLEX_REDIS_URL")
        if redis_url:
            import redis

            redis.Redis.from_url(redis_url).flushdb()
        data_dir = Path(tempfile.mkdtemp(prefix="lkk-load-"))
        with running_app(data_dir, LKK_BCRYPT_COST="12", LKK_TRUSTED_PROXY_HOPS="1", **env) as server:
            rows: list[tuple[str, str]] = []
            if index == 0:
                os.environ.update({k: v for k, v in server.env.items() if k.startswith(("LKK_", "REFLEX_"))})
                from lkk_app.auth import users
                from lkk_app.db import session_scope

                with session_scope() as s:
                    for i in range(8):
                        users.create_user(s, login=f"bench{i}", email=f"bench{i}@example.com",
                                          password=PASSWORD, confirmed=True)
                rows += logins_and_on_load(server, args.seconds)
            groups = cap_workers(server, args.worker_cpu) if args.worker_cpu else []
            pinned = args.pin and env.get("LKK_WORKERS") == "1"
            if pinned:
                pin(server)
            try:
                load_rows, maxima[shape] = asyncio.run(
                    websocket_load(server, redis_url, clients, args.seconds, args.idle, args.idle_wait))
            finally:
                uncap(groups)
                os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
            rows += load_rows
        cap = (f", every worker ≤ {args.worker_cpu} core" if args.worker_cpu else "") \
            + (", the server on core 0, the load on core 1" if pinned else "")
        print(f"\n## {shape}: {env}{cap}")
        width = max(len(r[0]) for r in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
    if "memory" in maxima:
        for shape in maxima:
            print(f"max events/s {shape} / memory: {maxima[shape] / maxima['memory']:.2f}")
    if "redis" in maxima and "redis2" in maxima:
        print(f"max events/s redis2 / redis: {maxima['redis2'] / maxima['redis']:.2f}")
    with open("/proc/loadavg") as f:
        print(f"# load average after: {f.read().split()[0]}")


if __name__ == "__main__":
    main()
