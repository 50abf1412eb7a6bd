"""The web edge around the Reflex app: extra HTTP routes (``web/http``) and the
ASGI and websocket defences (``web/asgi``)."""
