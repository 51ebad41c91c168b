"""What every independent peer shares with the test that drives it.

The peer reports on stdout, one JSON object per line, and reads commands on stdin, one JSON
object per line. JSON has no bytes, so bytes travel in both directions as {"$bin": "<hex>"}.
"""
import json
import sys


def emit(event):
    print(json.dumps(printable(event)), flush=True)


def printable(value):
    """`value` with every bytes replaced by {"$bin": hex}, for a JSON line."""
    if isinstance(value, (bytes, bytearray)):
        return {"$bin": bytes(value).hex()}
    if isinstance(value, list):
        return [printable(item) for item in value]
    if isinstance(value, dict):
        return {key: printable(item) for key, item in value.items()}
    return value


def with_bytes(value):
    """The reverse of `printable`: {"$bin": hex} becomes bytes."""
    if isinstance(value, dict):
        if set(value) == {"$bin"}:
            return bytes.fromhex(value["$bin"])
        return {key: with_bytes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [with_bytes(item) for item in value]
    return value


def parse_command(line):
    """A command line: a JSON object whose "do" names it ({"do": "quit"}), bytes as $bin."""
    command = with_bytes(json.loads(line))
    if not isinstance(command, dict) or not isinstance(command.get("do"), str):
        raise ValueError(f"not a command: {line!r}")
    return command


def client_message(command, topic):
    """The protocol message a "publish" or "request" command asks for, else None."""
    if command["do"] == "publish":
        return {"type": "publish", "id": command["id"], "topic": topic, "data": command["data"]}
    if command["do"] == "request":
        request = {"type": "request", "id": command["id"], "method": command["method"]}
        if "params" in command:
            request["params"] = command["params"]
        return request
    return None


def run(main):
    """Runs `main`; any failure becomes an "error" event (the test fails with it) and exit 1."""
    try:
        main()
    except Exception as error:
        emit({"event": "error", "message": f"{type(error).__name__}: {error}"})
        sys.exit(1)
