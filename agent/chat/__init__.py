"""The chat: the wire protocol, the websocket endpoint, live sessions, identity, limits, the lead form."""
