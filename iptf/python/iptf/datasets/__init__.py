"""Well-known datasets by CID: the same CID always names the same bytes, so a run that reads
`iptf://ipfs/<cid>/…` says exactly which data it trained on, and any peer holding it can serve it.

    >>> import iptf.datasets
    >>> iptf.datasets.uri("mnist")
    'iptf://ipfs/QmazxWBPrSfTzkuzQNvyzYWx438q98Q1pQ7vRJkQZh7x97'
    >>> from iptf.datasets import mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load()

To add a dataset, add an entry to `_REGISTRY` below: its name, the CID of its folder, the files the
folder holds, one line saying what it is and where it came from. A folder already published on
IPFS keeps the CID it is published under; for a new one, `iptf add -r <folder>` prints the CID
(`iptf add` takes kubo's defaults: CIDv0, `Qm…`; its `-Q` prints the folder's CID alone).

This module imports nothing heavy; the loaders (`iptf.datasets.mnist`) import numpy, and
TensorFlow only for `tf.data`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NotFound

__all__ = ["Dataset", "known", "get", "uri"]


@dataclass(frozen=True)
class Dataset:
    """A dataset published as one folder on IPFS."""

    name: str
    uri: str  # iptf://ipfs/<cid> of the folder
    files: tuple[str, ...]  # the names in the folder the loader reads
    description: str  # one line
    source: str  # where the bytes came from

    @property
    def cid(self) -> str:
        """The folder's CID, without the `iptf://ipfs/` prefix."""
        return self.uri.removeprefix("iptf://ipfs/")


_REGISTRY: dict[str, Dataset] = {d.name: d for d in (
    Dataset(
        name="mnist",
        uri="iptf://ipfs/QmazxWBPrSfTzkuzQNvyzYWx438q98Q1pQ7vRJkQZh7x97",
        files=("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
        description="MNIST handwritten digits: 60,000 train and 10,000 test 28x28 grey images with labels 0-9",
        source="Yann LeCun, Corinna Cortes, Christopher J.C. Burges: http://yann.lecun.com/exdb/mnist/ (gzip'd IDX)",
    ),
)}


def known() -> list[Dataset]:
    """The known datasets, by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get(name: str) -> Dataset:
    """The registry entry of a dataset; NotFound names the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NotFound(f"no dataset named {name!r}; known datasets: {', '.join(sorted(_REGISTRY))}") from None


def uri(name: str) -> str:
    """The `iptf://ipfs/<cid>` of a known dataset's folder."""
    return get(name).uri
