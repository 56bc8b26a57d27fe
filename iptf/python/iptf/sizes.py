"""Sizes and counts in words, as the node writes them (so `iptf status` and `iptf cache` agree)."""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def size_text(n: int) -> str:
    """A byte count in binary units, one decimal below 10 ("2.9 MiB", "33 GiB", "512 B")."""
    if n < 10:
        return f"{n} B"
    exp = 0
    value = float(n)
    while value >= 1024 and exp < len(_UNITS) - 1:
        value /= 1024
        exp += 1
    value = int(value * 10 + 0.5) / 10
    return f"{value:.0f} {_UNITS[exp]}" if value >= 10 else f"{value:.1f} {_UNITS[exp]}"


def count_text(n: int, noun: str) -> str:
    """n and the noun, plural unless n is 1 ("1 CID", "12 CIDs")."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
