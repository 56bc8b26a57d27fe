"""MNIST by CID, as `keras.datasets.mnist.load_data()` gives it, read from IPFS.

    from iptf.datasets import mnist
    (x_train, y_train), (x_test, y_test) = mnist.load()     # numpy, no TensorFlow needed
    ds = mnist.dataset("train").shuffle(60_000).batch(128)  # tf.data, read by TensorFlow's file system

Both record each file they read, with its CID, in the node's reflog (`iptf reflog`). `root` is
the folder holding the four gzip'd IDX files: any iptf:// URI, `/ipfs/…`, or a CID.
"""

from __future__ import annotations

import gzip
import math
import zlib
from typing import TYPE_CHECKING, Callable

from ..errors import InvalidArgument
from ..paths import to_uri
from . import uri

if TYPE_CHECKING:
    import numpy as np
    import tensorflow as tf

ROOT = uri("mnist")

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# IDX type code → numpy dtype (all big-endian on disk).
_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(data: bytes, name: str = "IDX data", magic: int | None = None) -> np.ndarray:
    """Parse an IDX file (gzip'd or not) into an array of its shape and dtype (native byte order).

    A bad magic number (or not `magic`, when given), a truncated or overlong body, or broken gzip
    raise InvalidArgument naming `name`.
    """
    import numpy as np

    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; a cut stream is EOFError
            raise InvalidArgument(f"{name}: not a readable gzip file ({e})") from None
    if not data:
        raise InvalidArgument(f"{name}: empty, not an IDX file")
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _DTYPES:
        raise InvalidArgument(f"{name}: bad magic 0x{data[:4].hex()}, not an IDX file")
    if magic is not None and data[:4] != magic.to_bytes(4, "big"):
        raise InvalidArgument(f"{name}: bad magic 0x{data[:4].hex()}, want 0x{magic:08x}")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise InvalidArgument(f"{name}: truncated IDX header ({len(data)} of {header} bytes)")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[data[2]])
    want = header + dtype.itemsize * math.prod(shape)  # Python ints: a corrupt header cannot overflow
    if len(data) != want:
        what = "truncated" if len(data) < want else "too long"
        raise InvalidArgument(f"{name}: {what} IDX data ({len(data)} bytes, shape {shape} needs {want})")
    # astype copies: a writable array in native byte order, as keras's loader gives.
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _split(read: Callable[[str], bytes], root: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The (images, labels) of a split, each file read with `read(path)`."""
    if split not in FILES:
        raise InvalidArgument(f"unknown MNIST split {split!r}; splits: {', '.join(FILES)}")
    base = to_uri(root).rstrip("/")
    images_path, labels_path = (f"{base}/{name}" for name in FILES[split])
    # The magic numbers pin MNIST's layout: uint8 images count×rows×cols, uint8 labels count.
    images = read_idx(read(images_path), images_path, magic=0x00000803)
    labels = read_idx(read(labels_path), labels_path, magic=0x00000801)
    if len(images) != len(labels):
        raise InvalidArgument(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path}")
    return images, labels


def load(root: str = ROOT) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) as uint8 arrays, like `keras.datasets.mnist.load_data()`.

    Reads through the Python API (`iptf.cat`), so TensorFlow is not needed; blocks missing locally
    are fetched from peers.
    """
    from ..content import cat

    return _split(cat, root, "train"), _split(cat, root, "test")


def dataset(split: str = "train", root: str = ROOT) -> tf.data.Dataset:
    """A `tf.data.Dataset` of (image uint8 28×28, label uint8) pairs of the "train" or "test" split.

    The files are read through TensorFlow's own file system (`tf.io.gfile` on iptf:// paths).
    """
    import tensorflow as tf

    def read(path: str) -> bytes:
        with tf.io.gfile.GFile(path, "rb") as f:
            return f.read()

    images, labels = _split(read, root, split)
    return tf.data.Dataset.from_tensor_slices((images, labels))
