"""Calling Reflex state handlers directly in tests (no browser, no server)."""

from __future__ import annotations

from reflex.istate.data import RouterData


def make_state(cls, path: str = "/", *, query: str = "", cookie: str = "", ip: str | None = None,
               user_agent: str | None = None, token: str | None = None):
    """An instance of state ``cls`` whose router says: this path and query,
    this Cookie header, client IP, user agent and tab token."""
    root = cls.get_root_state()()
    state = root.get_substate(cls.get_full_name().split(".")[1:])
    headers = {"cookie": cookie} if cookie else {}
    if user_agent is not None:
        headers["user_agent"] = user_agent
    data = {"headers": headers, "pathname": path, "asPath": path + (f"?{query}" if query else "")}
    if ip is not None:
        data["ip"] = ip
    if token is not None:
        data["token"] = token
    state.router = RouterData.from_router_data(data)
    return state


def sibling(state, cls):
    """The instance of state ``cls`` in the same tab (state tree) as ``state``."""
    return state._get_root_state().get_substate(cls.get_full_name().split(".")[1:])


def redirects(events) -> list[str]:
    """The paths of the rx.redirect events among ``events``."""
    found = []
    for event in events:
        for name, value in getattr(event, "args", ()):
            if name._js_expr == "path":
                found.append(str(getattr(value, "_var_value", value)).strip('"'))
    return found


def redirect_path(result) -> str | None:
    """The path of one rx.redirect result (None for no result)."""
    if result is None:
        return None
    found = redirects([result])
    if not found:
        raise AssertionError(f"not a redirect: {result}")
    return found[0]


async def run_events(gen) -> list:
    """Drive a handler that yields; collect every event it yields."""
    out = []
    async for item in gen:
        if item is not None:
            out.extend(item if isinstance(item, list) else [item])
    return out
