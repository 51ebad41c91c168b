"""The MessagePack subset Lifeline's wire uses, written from the spec at msgpack.org.

PROTOCOL.md, "MessagePack wire": nil, bool, integers of any width, floats, str, bin,
array and map (string keys). Extension types are not part of the wire and are refused,
as are the reserved byte 0xc1, truncated values and trailing bytes. Python values:
None, bool, int, float, str, bytes, list, dict. Floats are always written as float64.
"""
import struct


class DecodeError(ValueError):
    pass


def encode(value):
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _encode(value, out):
    if value is None:
        out.append(0xC0)
    elif value is True:
        out.append(0xC3)
    elif value is False:
        out.append(0xC2)
    elif isinstance(value, int):
        _encode_int(value, out)
    elif isinstance(value, float):
        out.append(0xCB)
        out += struct.pack(">d", value)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        _head(len(data), out, fix=(0xA0, 31), sized=(0xD9, 0xDA, 0xDB))
        out += data
    elif isinstance(value, (bytes, bytearray)):
        _head(len(value), out, fix=None, sized=(0xC4, 0xC5, 0xC6))
        out += value
    elif isinstance(value, (list, tuple)):
        _head(len(value), out, fix=(0x90, 15), sized=(None, 0xDC, 0xDD))
        for item in value:
            _encode(item, out)
    elif isinstance(value, dict):
        _head(len(value), out, fix=(0x80, 15), sized=(None, 0xDE, 0xDF))
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"map keys are strings on this wire, got {key!r}")
            _encode(key, out)
            _encode(item, out)
    else:
        raise TypeError(f"no MessagePack form for {type(value).__name__}")


def _encode_int(value, out):
    if 0 <= value <= 0x7F:
        out.append(value)
    elif -32 <= value < 0:
        out.append(value & 0xFF)
    elif value > 0:
        for code, fmt, bound in ((0xCC, ">B", 1 << 8), (0xCD, ">H", 1 << 16),
                                 (0xCE, ">I", 1 << 32), (0xCF, ">Q", 1 << 64)):
            if value < bound:
                out.append(code)
                out += struct.pack(fmt, value)
                return
        raise OverflowError(f"{value} does not fit in 64 bits")
    else:
        for code, fmt, bound in ((0xD0, ">b", 1 << 7), (0xD1, ">h", 1 << 15),
                                 (0xD2, ">i", 1 << 31), (0xD3, ">q", 1 << 63)):
            if value >= -bound:
                out.append(code)
                out += struct.pack(fmt, value)
                return
        raise OverflowError(f"{value} does not fit in 64 bits")


def _head(length, out, fix, sized):
    """The type byte and length of a str, bin, array or map (fix form when it fits)."""
    if fix is not None and length <= fix[1]:
        out.append(fix[0] | length)
        return
    for code, fmt, bound in zip(sized, (">B", ">H", ">I"), (1 << 8, 1 << 16, 1 << 32)):
        if code is not None and length < bound:
            out.append(code)
            out += struct.pack(fmt, length)
            return
    raise OverflowError(f"length {length} is too large")


def decode(data):
    """Exactly one value from `data`; anything left over is an error."""
    reader = _Reader(bytes(data))
    value = reader.value(depth=0)
    if reader.pos != len(reader.data):
        raise DecodeError(f"{len(reader.data) - reader.pos} trailing bytes")
    return value


_FIXED = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
          0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
_LENGTH = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xC4: ">B", 0xC5: ">H", 0xC6: ">I",
           0xDC: ">H", 0xDD: ">I", 0xDE: ">H", 0xDF: ">I"}
MAX_DEPTH = 100


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise DecodeError("truncated value")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self, depth):
        if depth > MAX_DEPTH:
            raise DecodeError("nested too deeply")
        code = self.take(1)[0]
        if code <= 0x7F:
            return code
        if code >= 0xE0:
            return code - 0x100
        if 0xA0 <= code <= 0xBF:
            return self.text(code & 0x1F)
        if 0x90 <= code <= 0x9F:
            return self.array(code & 0x0F, depth)
        if 0x80 <= code <= 0x8F:
            return self.map(code & 0x0F, depth)
        if code in (0xC0, 0xC2, 0xC3):
            return {0xC0: None, 0xC2: False, 0xC3: True}[code]
        if code in _FIXED:
            return self.unpack(_FIXED[code])
        if code in _LENGTH:
            length = self.unpack(_LENGTH[code])
            if code in (0xD9, 0xDA, 0xDB):
                return self.text(length)
            if code in (0xC4, 0xC5, 0xC6):
                return self.take(length)
            if code in (0xDC, 0xDD):
                return self.array(length, depth)
            return self.map(length, depth)
        raise DecodeError(f"type byte 0x{code:02x} is not part of the wire")

    def text(self, length):
        try:
            return self.take(length).decode("utf-8")
        except UnicodeDecodeError as error:
            raise DecodeError(f"str is not UTF-8: {error}") from None

    def array(self, length, depth):
        return [self.value(depth + 1) for _ in range(length)]

    def map(self, length, depth):
        result = {}
        for _ in range(length):
            key = self.value(depth + 1)
            if isinstance(key, int) and not isinstance(key, bool):
                key = str(key)
            if not isinstance(key, str):
                raise DecodeError(f"map key {key!r} is not a string")
            result[key] = self.value(depth + 1)
        return result
