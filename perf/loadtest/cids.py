"""CIDv1 and CARv1 decoding for the load test: enough to check blocks against their CIDs."""

from __future__ import annotations

import base64
import hashlib

RAW, DAG_PB, SHA2_256 = 0x55, 0x70, 0x12


def _varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def cid_bytes(cid: str) -> bytes:
    """The binary form of a base32 CIDv1 ('b...')."""
    if not cid.startswith("b"):
        raise ValueError(f"not a base32 CIDv1: {cid}")
    body = cid[1:].upper()
    return base64.b32decode(body + "=" * (-len(body) % 8))


def parse_cid(buf: bytes | memoryview, pos: int = 0) -> tuple[int, int, bytes, int]:
    """(codec, multihash code, digest, end) of a binary CIDv1 at buf[pos:]."""
    version, pos = _varint(buf, pos)
    if version != 1:
        raise ValueError(f"CID version {version}")
    codec, pos = _varint(buf, pos)
    code, pos = _varint(buf, pos)
    length, pos = _varint(buf, pos)
    return codec, code, bytes(buf[pos:pos + length]), pos + length


def block_matches(cid_bin: bytes, data: bytes | memoryview) -> bool:
    _codec, code, digest, _ = parse_cid(cid_bin)
    return code == SHA2_256 and hashlib.sha256(data).digest() == digest


def read_car(body: bytes) -> tuple[bytes, list[tuple[bytes, memoryview]]]:
    """The header and the (binary CID, data) sections of a CARv1."""
    view = memoryview(body)
    length, pos = _varint(view, 0)
    header = bytes(view[pos:pos + length])
    pos += length
    sections = []
    while pos < len(view):
        length, pos = _varint(view, pos)
        end = pos + length
        _codec, _code, _digest, cid_end = parse_cid(view, pos)
        sections.append((bytes(view[pos:cid_end]), view[cid_end:end]))
        pos = end
    if pos != len(view):
        raise ValueError("truncated CAR")
    return header, sections
