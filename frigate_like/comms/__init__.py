"""Talking to the outside: MQTT (and later the WebSocket) behind one ``Publisher`` fan-out."""
