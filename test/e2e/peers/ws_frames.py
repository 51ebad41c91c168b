"""A minimal RFC 6455 WebSocket client on a bare socket, for the independent peers.

Written from the RFC and PROTOCOL.md ("Transport and framing", "Connecting"), standard
library only. It offers a list of subprotocols and records the one the server selected,
sends masked frames, answers ping frames, and hands back whole data messages with their
opcode (text or binary), so each peer brings its own encoding (JSON or MessagePack).
"""
import base64
import hashlib
import os
import select
import socket
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class Closed(EOFError):
    """The server closed the connection; `code` is its close code (1006 without a frame)."""

    def __init__(self, code, reason=""):
        super().__init__(f"closed {code} {reason}".strip())
        self.code = code
        self.reason = reason


class WebSocket:
    """One client connection: `protocol` is the subprotocol the server selected (or None)."""

    def __init__(self, host, port, path, protocols=("lifeline.v1",), timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {', '.join(protocols)}\r\n\r\n"
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
        self.protocol = headers.get("sec-websocket-protocol")
        if self.protocol is not None and self.protocol not in protocols:
            raise RuntimeError(f"the server selected {self.protocol!r}, which was not offered")

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

    def close(self, code=1000):
        self.send_frame(CLOSE, struct.pack("!H", code))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed(1006, "connection dropped")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def pending(self):
        """Bytes already read but not yet parsed: select() will not report them again."""
        return len(self.buffer) > 0

    def wait(self, other, deadline_s=60):
        """Blocks until `other` (a file, stdin) is readable or a frame is there to read.

        Returns (other is readable, a frame can be read); raises after `deadline_s` idle.
        """
        # Frames already read into the buffer do not make the socket readable again.
        timeout = 0 if self.pending() else deadline_s
        readable, _, _ = select.select([self.sock, other], [], [], timeout)
        if not readable and not self.pending():
            raise RuntimeError(f"nothing happened for {deadline_s} s")
        return other in readable, self.sock in readable or self.pending()

    def receive(self):
        """The next data message as (opcode, payload bytes); answers pings, raises Closed."""
        message, kind = b"", None
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            payload = self._read(length)
            if opcode == PING:
                self.send_frame(PONG, payload)
            elif opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                raise Closed(code, payload[2:].decode("utf-8", "replace"))
            elif opcode in (TEXT, BINARY, 0x0):
                kind = kind if opcode == 0x0 else opcode
                message += payload
                if first & 0x80:
                    return kind, message
