"""IptfFileSystem: the iptf:// scheme for fsspec (pandas, PyArrow, PyTorch, Dask, TensorBoard).

Paths are the TensorFlow plugin's: iptf://ipfs/<cid>[/path], iptf://ipns/<name>[/path],
iptf://repo/root[/path] (the writable tree) and iptf://meta/repo/root[/path]. Every operation
is one of the node's own commands, which resolve the path, classify errors and keep the
reflog, so a file written here has the CID `iptf add` and TensorFlow give the same bytes.
"""

from __future__ import annotations

import errno
from typing import Any

from fsspec.spec import AbstractFileSystem
from fsspec.utils import stringify_path

from . import calls
from .errors import IS_A_DIRECTORY, NOT_A_DIRECTORY, NOT_EMPTY
from .reader import BlockReader, IptfReadFile
from .writer import IptfWriteFile

SCHEME = "iptf://"
_MAGIC = "*?["


class IptfFileSystem(AbstractFileSystem):
    """fsspec filesystem over the repo's IPTF node (started on demand, shared by every process)."""

    protocol = "iptf"
    root_marker = ""

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = stringify_path(path)
        if path.startswith(SCHEME):
            path = path[len(SCHEME) :]
        return path.strip("/")

    def unstrip_protocol(self, name: str) -> str:
        return SCHEME + self._strip_protocol(name)

    @staticmethod
    def _uri(path: str) -> str:
        return SCHEME + IptfFileSystem._strip_protocol(path)

    def _entry(self, name: str, kind: str, size: int, cid: str | None = None) -> dict[str, Any]:
        info: dict[str, Any] = {"name": name, "size": size if kind == "file" else 0, "type": kind}
        if cid:
            info["cid"] = cid
        return info

    # ---- metadata

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """name, size, type ("file" or "directory") and, for content and tree paths, cid."""
        name = self._strip_protocol(path)
        st = calls.stat(self._uri(name))
        return self._entry(name, st.type, st.size, st.cid)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """A directory's entries; for a file, the file itself (as fsspec's local filesystem)."""
        name = self._strip_protocol(path)
        uri = self._uri(name)
        try:
            listing = calls.ls(uri, (uri, NOT_A_DIRECTORY, NOT_A_DIRECTORY))
        except NotADirectoryError:
            if calls.kind_of(uri) != "file":
                raise
            entries = [self.info(name)]
        else:
            entries = [self._entry(f"{name}/{e.name}", e.type, e.size) for e in listing]
        return entries if detail else [e["name"] for e in entries]

    def ukey(self, path: str) -> str:
        """The CID: it changes exactly when the content does."""
        return self.info(path).get("cid") or super().ukey(path)

    def glob(self, path: str, maxdepth: int | None = None, **kwargs: Any) -> Any:
        """Paths matching *, ? and [...] per segment (the node's glob, as TensorFlow's);
        ** and maxdepth fall back to fsspec's walk."""
        if "**" in path or maxdepth is not None:
            return super().glob(path, maxdepth=maxdepth, **kwargs)
        pattern = self._uri(path)
        matches = [self._strip_protocol(m) for m in calls.glob(pattern)]
        if kwargs.get("detail"):
            return {m: self.info(m) for m in matches}
        return matches

    # ---- files

    def _open(self, path: str, mode: str = "rb", block_size: int | None = None, autocommit: bool = True,
              cache_options: dict | None = None, **kwargs: Any) -> Any:
        uri = self._uri(path)
        if mode == "rb":
            raw = BlockReader.open(uri)
            return IptfReadFile(raw, buffer_size=block_size or 256 << 10)
        if mode in ("wb", "ab"):
            return IptfWriteFile(uri, append=mode == "ab")
        if mode == "xb":
            if calls.kind_of(uri) is not None:
                raise FileExistsError(errno.EEXIST, f"{uri}: already exists")
            return IptfWriteFile(uri)
        raise ValueError(f"{uri}: mode {mode!r} is not supported (rb, wb, ab, xb and their text forms)")

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy into iptf://repo/root/ without moving bytes (the destination gets the same CID)."""
        dst = self._uri(path2)
        calls.raw("iptf/cp", [self._uri(path1), dst], calls.is_a_directory(dst), **calls.caller())

    # ---- the writable tree

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        uri = self._uri(path)
        if create_parents and calls.kind_of(uri) is not None:
            raise FileExistsError(errno.EEXIST, f"{uri}: already exists")
        calls.raw("iptf/mkdir", [uri], parents=create_parents)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        uri = self._uri(path)
        if not exist_ok and calls.kind_of(uri) is not None:
            raise FileExistsError(errno.EEXIST, f"{uri}: already exists")
        calls.raw("iptf/mkdir", [uri], parents=True)

    def rmdir(self, path: str) -> None:
        uri = self._uri(path)
        calls.raw("iptf/rm", [uri], (uri, NOT_EMPTY, NOT_A_DIRECTORY), kind="dir")

    def rm_file(self, path: str) -> None:
        uri = self._uri(path)
        calls.raw("iptf/rm", [uri], calls.is_a_directory(uri), kind="file")

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Remove files; with recursive, whole trees (the node removes each at once)."""
        if maxdepth is not None:
            return super().rm(path, recursive=recursive, maxdepth=maxdepth)
        for p in [path] if isinstance(path, str) else list(path):
            uri = self._uri(p)
            if recursive:
                calls.raw("iptf/rm", [uri], kind="recursive")
            else:
                self.rm_file(p)

    def mv(self, path1: str, path2: str, recursive: bool = False, maxdepth: int | None = None,
           **kwargs: Any) -> None:
        """Rename within iptf://repo/root/ (a file still being imported is renamed in the queue)."""
        if not isinstance(path1, str) or not isinstance(path2, str):
            return super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)
        dst = self._uri(path2)
        calls.raw("iptf/mv", [self._uri(path1), dst], (dst, IS_A_DIRECTORY, NOT_A_DIRECTORY))

    def created(self, path: str) -> Any:
        raise NotImplementedError("iptf:// content has no creation time (the reflog records when it was written)")

    def modified(self, path: str) -> Any:
        raise NotImplementedError("iptf:// content has no modification time (the reflog records when it was written)")
