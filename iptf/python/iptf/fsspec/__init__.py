"""fsspec support: `fsspec.open("iptf://ipfs/<cid>/train.parquet")` with no import.

The package registers IptfFileSystem for the "iptf" protocol through fsspec's entry point
(`fsspec.specs`), so pandas, PyArrow, PyTorch and Dask reach iptf:// paths on the same node,
namespaces, reflog and CIDs as TensorFlow. Needs the optional `fsspec` extra.
"""

from .filesystem import IptfFileSystem

__all__ = ["IptfFileSystem"]
