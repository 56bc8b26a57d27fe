"""Docs pages as scripts: the shell blocks of a Markdown page, and the files it shows, in order.

A page's fenced blocks run as one bash script: ```sh blocks as they are; a block right after an
`<!-- file: NAME -->` comment is written to NAME where it appears; a block after
`<!-- not run: WHY -->` is skipped. Any other block is an error, so no block escapes the test.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
_MARK = re.compile(r"<!--\s*(file|not run):\s*(.*?)\s*-->\s*\Z", re.S)
_EOF = "IPTF_DOC_EOF"


def shell_script(markdown: str, name: str = "page") -> str:
    """The bash script that runs every block of the page, stopping at the first failing command."""
    lines = ["set -euo pipefail", f"PS4='+ {name}: '", "set -x"]
    end = 0
    for block in _FENCE.finditer(markdown):
        lang, body = block.group(1), block.group(2)
        before = markdown[end:block.start()].rstrip()
        mark = _MARK.search(before[before.rfind("<!--"):]) if before.endswith("-->") else None
        end = block.end()
        if mark and mark.group(1) == "not run":
            continue
        if mark and mark.group(1) == "file":
            if _EOF in body:
                raise ValueError(f"{name}: {mark.group(2)} holds {_EOF}")
            lines += [f"cat > {mark.group(2)} <<'{_EOF}'", body.rstrip("\n"), _EOF]
        elif lang in ("sh", "bash", "console"):
            lines.append(body.rstrip("\n"))
        else:
            first = body.splitlines()[0] if body.strip() else ""
            raise ValueError(f"{name}: a ```{lang} block ({first!r}) is neither run nor marked "
                             "<!-- file: NAME --> or <!-- not run: WHY -->")
    return "\n".join(lines) + "\n"
