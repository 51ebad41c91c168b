#!/usr/bin/env python3
"""An independent Lifeline peer on the HTTP fallback (SSE), written from PROTOCOL.md alone.

Standard library only (http.client). It opens the event stream, reads `hello` for its
`connection_id` and `sse_key`, subscribes to TOPIC by post, answers every `ping` with a
`pong` post, keeps the topic's position {offset, epoch} as PROTOCOL.md, "What a client
does", says, and after a "disconnect" and a "connect" subscribes again on the new stream
with `since` = that position. It reports on stdout, one JSON object per line:

  {"event": "stream", "status": 200, "content_type": ..., "comment": "ok", "streams": n}
  {"event": "hello", "connection_id", "client_id", "features", "key_length", "streams"}
  {"event": "subscribed" | "message" | "response" | "server_error" | ..., ...its fields}
  {"event": "ping", "answered": 204}          after answering a ping with a pong post
  {"event": "posted", "status", "body"}       for a "post" command
  {"event": "close", "code", "reason"}        the server's close event

Commands on stdin, one JSON object per line:
  {"do": "publish", "id": ..., "data": ...}
  {"do": "request", "id": ..., "method": ..., "params": ...}
  {"do": "post", "body": "...", "key": "..."?}  posts this body as is (key: instead of ours)
  {"do": "disconnect"}                          drops the stream (as a network would)
  {"do": "connect"}                             a new stream, resuming the subscription
  {"do": "quit"}

Usage: sse_peer.py PORT TOPIC CLIENT_ID
"""
import http.client
import json
import queue
import socket
import sys
import threading
from urllib.parse import quote, urlencode

from peer_io import client_message, emit, parse_command, run

HOST = "127.0.0.1"
DEADLINE_S = 60


class Stream:
    """One GET of the event stream, parsed (WHATWG "Server-sent events") on its own thread.

    Every dispatched event goes to `events` as ("sse", stream, event type, data); the end of
    the response as ("end", stream, None, None).
    """

    def __init__(self, port, query, events):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=None)
        self.conn.request("GET", "/sse?" + query, headers={"Accept": "text/event-stream"})
        self.sock = self.conn.sock
        self.response = self.conn.getresponse()
        self.content_type = self.response.getheader("Content-Type")
        if self.response.status != 200:
            body = self.response.read().decode("utf-8", "replace")
            raise RuntimeError(f"stream refused: {self.response.status} {body}")
        self.comments = []
        self.events = events
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        data, kind = [], "message"
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    break
                line = raw.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if data:
                        self.events.put(("sse", self, kind, "\n".join(data)))
                    data, kind = [], "message"
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "data":
                        data.append(value)
                    elif field == "event":
                        kind = value
        except (OSError, ValueError, http.client.HTTPException):
            pass  # the stream was dropped (by "disconnect", or the network): its end follows
        self.events.put(("end", self, None, None))

    def drop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Peer:
    def __init__(self, port, topic, client_id):
        self.port, self.topic, self.client_id = port, topic, client_id
        self.events = queue.Queue()
        self.stream = None
        self.streams = 0
        self.connection_id = self.key = None
        self.position = None  # {"offset", "epoch"} of the topic, as "What a client does" keeps it

    def open(self):
        query = urlencode({"client_id": self.client_id, "version": 1, "role": "test"})
        self.stream = Stream(self.port, query, self.events)
        self.streams += 1
        emit({"event": "stream", "status": self.stream.response.status,
              "content_type": self.stream.content_type, "streams": self.streams})

    def post(self, body, key=None):
        """POSTs `body` (text) like a browser would (text/plain, no preflight)."""
        path = (f"/sse/send?connection_id={quote(self.connection_id)}"
                f"&key={quote(key if key is not None else self.key)}")
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            conn.request("POST", path, body=body.encode("utf-8"),
                         headers={"Content-Type": "text/plain;charset=UTF-8"})
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def send(self, message):
        """Posts one message (the peer posts one at a time); anything but 204 is a failure."""
        status, answer = self.post(json.dumps(message))
        if status != 204:
            raise RuntimeError(f"post refused: {status} {answer}")
        return status

    def subscribe(self):
        message = {"type": "subscribe", "id": f"sub-{self.streams}", "topic": self.topic}
        if self.position is not None:
            message["since"] = self.position
        self.send(message)

    def on_message(self, message):
        kind = message["type"]
        fields = {k: v for k, v in message.items() if k != "type"}
        if kind == "hello":
            self.connection_id, self.key = message["connection_id"], message["sse_key"]
            emit({"event": "hello", "connection_id": self.connection_id,
                  "client_id": message["client_id"], "features": message["features"],
                  "key_length": len(self.key), "comments": self.stream.comments,
                  "streams": self.streams})
            self.subscribe()
        elif kind == "ping":
            emit({"event": "ping", "answered": self.send({"type": "pong"})})
        elif kind == "message":
            self.on_topic_message(message, fields)
        elif kind == "subscribed":
            self.on_subscribed(message)
            emit({"event": "subscribed", **fields})
        else:
            emit({"event": "server_error" if kind == "error" else kind, **fields})

    def on_topic_message(self, message, fields):
        pos = self.position
        if pos and message["epoch"] == pos["epoch"] and message["offset"] <= pos["offset"]:
            emit({"event": "duplicate", **fields})
            return
        self.position = {"offset": message["offset"], "epoch": message["epoch"]}
        emit({"event": "message", **fields})

    def on_subscribed(self, message):
        pos = self.position
        offset = message["offset"]
        if pos and pos["epoch"] == message["epoch"]:
            offset = max(pos["offset"], offset)
        self.position = {"offset": offset, "epoch": message["epoch"]}

    def on_command(self, command):
        """Carries out one stdin command; False when the peer should stop."""
        kind = command["do"]
        if kind == "quit":
            if self.stream is not None:
                self.stream.drop()
            return False
        if kind == "disconnect":
            self.stream.drop()
            self.stream = None
            emit({"event": "disconnected", "streams": self.streams})
        elif kind == "connect":
            self.open()
        elif client_message(command, self.topic) is not None:
            self.send(client_message(command, self.topic))
        elif kind == "post":
            status, body = self.post(command["body"], command.get("key"))
            emit({"event": "posted", "status": status, "body": body})
        else:
            raise ValueError(f"unknown command {kind!r}")
        return True

    def loop(self):
        threading.Thread(target=self._read_stdin, daemon=True).start()
        self.open()
        while True:
            try:
                source, stream, kind, data = self.events.get(timeout=DEADLINE_S)
            except queue.Empty:
                raise RuntimeError("nothing happened for a minute") from None
            if source == "stdin":
                if not self.on_command(parse_command(data) if data else {"do": "quit"}):
                    return
            elif stream is not self.stream:
                continue  # a stream this peer dropped
            elif source == "end":
                raise RuntimeError("the stream ended without a close event (1006)")
            elif kind == "close":
                emit({"event": "close", **json.loads(data)})
                return
            else:
                self.on_message(json.loads(data))

    def _read_stdin(self):
        for line in sys.stdin:
            if line.strip():
                self.events.put(("stdin", None, None, line))
        self.events.put(("stdin", None, None, None))


def main():
    port, topic, client_id = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    Peer(port, topic, client_id).loop()


if __name__ == "__main__":
    run(main)
