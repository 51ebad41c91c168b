#!/usr/bin/env python3
"""An independent Lifeline peer, written from PROTOCOL.md alone (Python standard library).

It opens a WebSocket to a Lifeline server, subscribes to a topic with `presence: true`,
keeps the topic's members the way PROTOCOL.md, "Presence", says (ask with `presence` after
`subscribed`, drop the diffs that arrive before the answer, apply the ones after), and
reports on stdout, one JSON object per line:

  {"event": "members", "members": [...client ids...], "count": n}  after each change
  {"event": "answer", "result": {...}}                            for each "query" command

Commands on stdin, one per line: "query" asks for the members again; "quit" closes.

Usage: presence_peer.py PORT TOPIC CLIENT_ID
"""
import base64
import hashlib
import json
import os
import select
import socket
import struct
import sys

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
DEADLINE_S = 60


class WebSocket:
    """RFC 6455 client: masked text frames out; text, ping and close frames in."""

    def __init__(self, host, port, path):
        self.sock = socket.create_connection((host, port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: lifeline.v1\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("connection closed during the handshake")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0]:
            raise RuntimeError(f"upgrade refused: {lines[0]}")
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise RuntimeError("bad Sec-WebSocket-Accept")

    def send_frame(self, opcode, payload):
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, message):
        self.send_frame(0x1, json.dumps(message).encode())

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def pending(self):
        return len(self.buffer) > 0

    def receive(self):
        """The next text message as a dict; answers pings, raises EOFError on close."""
        message = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            payload = self._read(length)
            if opcode == 0x9:
                self.send_frame(0xA, payload)
            elif opcode == 0x8:
                raise EOFError("close frame")
            elif opcode in (0x1, 0x0):
                message += payload
                if first & 0x80:
                    return json.loads(message.decode("utf-8"))


def emit(event):
    print(json.dumps(event), flush=True)


def main():
    port, topic, client_id = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ws = WebSocket("127.0.0.1", port, f"/ws?client_id={client_id}&version=1&role=test")
    hello = ws.receive()
    if hello.get("type") != "hello" or "presence" not in hello.get("features", []):
        raise RuntimeError(f"no presence feature in {hello}")
    members = {}
    sync_id = None
    counter = 0

    def ask(prefix):
        nonlocal counter
        counter += 1
        request_id = f"{prefix}-{counter}"
        ws.send({"type": "presence", "id": request_id, "topic": topic})
        return request_id

    ws.send({"type": "subscribe", "id": "sub-1", "topic": topic, "presence": True})
    queries = set()
    while True:
        # Frames already read into the buffer do not make the socket readable again.
        wait = 0 if ws.pending() else DEADLINE_S
        readable, _, _ = select.select([ws.sock, sys.stdin], [], [], wait)
        if not readable and not ws.pending():
            raise RuntimeError("nothing happened for a minute")
        if sys.stdin in readable:
            command = sys.stdin.readline().strip()
            if command in ("quit", ""):
                ws.send_frame(0x8, struct.pack("!H", 1000))
                return
            if command == "query":
                queries.add(ask("q"))
        if ws.sock not in readable and not ws.pending():
            continue
        message = ws.receive()
        kind = message.get("type")
        if kind == "ping":
            ws.send({"type": "pong"})
        elif kind == "subscribed" and message.get("id") == "sub-1":
            sync_id = ask("sync")
        elif kind == "response" and message.get("id") == sync_id:
            sync_id = None
            if not message["ok"]:
                raise RuntimeError(f"presence refused: {message}")
            members = {m["client_id"]: m for m in message["result"]["members"]}
            emit({"event": "members", "members": sorted(members), "count": len(members)})
        elif kind == "response" and message.get("id") in queries:
            queries.discard(message["id"])
            emit({"event": "answer", "result": message.get("result"), "ok": message["ok"]})
        elif kind == "presence_diff" and message["topic"] == topic and sync_id is None:
            for member in message["leaves"]:
                members.pop(member["client_id"], None)
            for member in message["joins"]:
                members[member["client_id"]] = member
            emit({"event": "members", "members": sorted(members), "count": len(members)})


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # reported to the test, which fails with it
        print(json.dumps({"event": "error", "message": str(error)}), flush=True)
        sys.exit(1)
