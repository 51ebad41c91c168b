#!/usr/bin/env python3
"""An independent Lifeline peer, written from PROTOCOL.md alone (Python standard library).

It opens a WebSocket to a Lifeline server (its own client on a bare socket, ws_frames.py),
subscribes to a topic with `presence: true`, keeps the topic's members the way
PROTOCOL.md, "Presence", says (ask with `presence` after `subscribed`, drop the diffs that
arrive before the answer, apply the ones after), and reports on stdout, one JSON object per line:

  {"event": "members", "members": [...client ids...], "count": n}  after each change
  {"event": "answer", "result": {...}}                            for each "query" command

Commands on stdin, one per line: "query" asks for the members again; "quit" closes.

Usage: presence_peer.py PORT TOPIC CLIENT_ID
"""
import json
import sys

from peer_io import emit, run
from ws_frames import TEXT, WebSocket


class JsonWebSocket(WebSocket):
    """The JSON wire: one JSON message per text frame."""

    def send(self, message):
        self.send_frame(TEXT, json.dumps(message).encode())

    def receive_json(self):
        opcode, payload = self.receive()
        if opcode != TEXT:
            raise RuntimeError("a binary frame on the JSON wire")
        return json.loads(payload.decode("utf-8"))


def main():
    port, topic, client_id = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ws = JsonWebSocket("127.0.0.1", port, f"/ws?client_id={client_id}&version=1&role=test")
    hello = ws.receive_json()
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
        command_ready, frame_ready = ws.wait(sys.stdin)
        if command_ready:
            command = sys.stdin.readline().strip()
            if command in ("quit", ""):
                ws.close(1000)
                return
            if command == "query":
                queries.add(ask("q"))
        if not frame_ready:
            continue
        message = ws.receive_json()
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
    run(main)
