#!/usr/bin/env python3
"""An independent Lifeline peer on the MessagePack wire, written from PROTOCOL.md alone.

Standard library only: its own WebSocket client (ws_frames.py) and its own MessagePack
encoder and decoder (msgpack_codec.py). It offers `lifeline.v1.msgpack, lifeline.v1`,
insists that the server selected the MessagePack subprotocol, subscribes to TOPIC and then
follows commands. It reports on stdout, one JSON object per line (bytes as {"$bin": hex}):

  {"event": "hello", "protocol": ..., "features": [...], "frame": "binary"}
  {"event": "subscribed", ...the subscribed message...}
  {"event": "message", "topic", "offset", "epoch", "data"}
  {"event": "response", "id", "ok", "result" | "error"}
  {"event": "error", ...the server's error message..., "server": true}
  {"event": "pong", "frame": "binary"}        after answering the server's application ping

Commands on stdin, one JSON object per line (bytes as {"$bin": hex}):
  {"do": "publish", "id": ..., "data": ...}
  {"do": "request", "id": ..., "method": ..., "params": ...}
  {"do": "raw", "hex": ...}     sends these bytes as one binary frame, as they are
  {"do": "text", "text": ...}   sends a text frame (not this wire's)
  {"do": "quit"}                closes with 1000 and exits

Usage: msgpack_peer.py PORT TOPIC CLIENT_ID
"""
import sys

import msgpack_codec
from peer_io import client_message, emit, parse_command, run
from ws_frames import BINARY, WebSocket

SUBPROTOCOL = "lifeline.v1.msgpack"


class PackSocket(WebSocket):
    """The MessagePack wire: one MessagePack map per binary frame, in both directions."""

    def send(self, message):
        self.send_frame(BINARY, msgpack_codec.encode(message))

    def receive_message(self):
        opcode, payload = self.receive()
        if opcode != BINARY:
            raise RuntimeError(f"a text frame on the MessagePack wire: {payload[:200]!r}")
        message = msgpack_codec.decode(payload)
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise RuntimeError(f"not a message: {message!r}")
        return message


def handle_command(ws, command):
    """Carries out one stdin command; False when the peer should stop."""
    kind = command["do"]
    if kind == "quit":
        ws.close(1000)
        return False
    message = client_message(command, command["topic"])
    if message is not None:
        ws.send(message)
    elif kind == "raw":
        ws.send_frame(BINARY, bytes.fromhex(command["hex"]))
    elif kind == "text":
        ws.send_frame(0x1, command["text"].encode("utf-8"))
    else:
        raise ValueError(f"unknown command {kind!r}")
    return True


def handle_message(ws, message):
    """Reports one message from the server (and answers its application ping)."""
    kind = message["type"]
    if kind == "ping":
        ws.send({"type": "pong"})
        emit({"event": "pong", "frame": "binary"})
    elif kind in ("subscribed", "message", "response"):
        emit({"event": kind, **{k: v for k, v in message.items() if k != "type"}})
    elif kind == "error":
        emit({"event": "server_error", **{k: v for k, v in message.items() if k != "type"}})


def main():
    port, topic, client_id = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ws = PackSocket("127.0.0.1", port, f"/ws?client_id={client_id}&version=1&role=test",
                    protocols=(SUBPROTOCOL, "lifeline.v1"))
    if ws.protocol != SUBPROTOCOL:
        raise RuntimeError(f"the server selected {ws.protocol!r}, not {SUBPROTOCOL}")
    hello = ws.receive_message()
    if hello["type"] != "hello" or "msgpack" not in hello.get("features", []):
        raise RuntimeError(f"no msgpack feature in {hello}")
    emit({"event": "hello", "protocol": ws.protocol, "features": hello["features"],
          "client_id": hello["client_id"], "frame": "binary"})
    ws.send({"type": "subscribe", "id": "sub-1", "topic": topic})
    while True:
        command_ready, frame_ready = ws.wait(sys.stdin)
        if command_ready:
            line = sys.stdin.readline()
            command = parse_command(line) if line.strip() else {"do": "quit"}
            if not handle_command(ws, {"topic": topic, **command}):
                return
        if frame_ready:
            handle_message(ws, ws.receive_message())


if __name__ == "__main__":
    run(main)
