"""Datasets by CID: the registry, and MNIST's loaders on a folder in MNIST's layout that the test
writes and adds itself (nothing is downloaded): numpy through the Python API, tf.data through
TensorFlow's file system, both in the reflog; malformed files are one-line errors naming the file."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from harness import IptfRepo
from harness.tf_support import run_tf

import iptf.datasets
from iptf.datasets import mnist
from iptf.errors import InvalidArgument, NotFound

MNIST_CID = "QmazxWBPrSfTzkuzQNvyzYWx438q98Q1pQ7vRJkQZh7x97"
NAMES = {"train": mnist.FILES["train"], "test": mnist.FILES["test"]}


def idx(array: np.ndarray, code: int) -> bytes:
    """The IDX encoding of array: magic (0, 0, type code, ndim), big-endian dims, big-endian data."""
    head = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """count 28×28 uint8 images, each a pattern of its index, and their labels."""
    i, r, c = np.ogrid[:count, :28, :28]
    images = ((i * 7 + r * 28 + c + seed) % 256).astype(np.uint8)
    labels = ((np.arange(count) + seed) % 10).astype(np.uint8)
    return images, labels


def write_mnist(folder: Path, train: int = 60, test: int = 10, **replace: bytes) -> dict[str, np.ndarray]:
    """MNIST's four gzip'd files in folder; replace= swaps a file's bytes (by its name without dashes)."""
    folder.mkdir(parents=True)
    arrays = {}
    for split, count, seed in (("train", train, 0), ("test", test, 3)):
        images, labels = digits(count, seed)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = images, labels
        for name, data in zip(NAMES[split], (idx(images, 0x08), idx(labels, 0x08))):
            body = gzip.compress(data, mtime=0)
            (folder / name).write_bytes(replace.get(name.replace("-", "_").removesuffix(".gz"), body))
    return arrays


def test_registry_names_mnist_by_its_cid() -> None:
    entry = iptf.datasets.get("mnist")
    assert entry.uri == iptf.datasets.uri("mnist") == f"iptf://ipfs/{MNIST_CID}" and entry.cid == MNIST_CID
    assert entry.files == ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    assert entry.description and entry.source and entry in iptf.datasets.known()
    assert mnist.ROOT == entry.uri and set(entry.files) == {*NAMES["train"], *NAMES["test"]}
    with pytest.raises(NotFound, match=r"'cifar10'.*known datasets: mnist"):
        iptf.datasets.uri("cifar10")


@pytest.mark.parametrize("code,dtype", [(0x08, "u1"), (0x09, "i1"), (0x0B, "i2"), (0x0C, "i4"),
                                        (0x0D, "f4"), (0x0E, "f8")])
def test_read_idx_takes_every_type(code: int, dtype: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "u1":
        array = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    for data in (idx(array, code), gzip.compress(idx(array, code))):
        got = mnist.read_idx(data)
        assert got.dtype == np.dtype(dtype) and got.shape == array.shape and np.array_equal(got, array)


def test_read_idx_errors_name_the_file() -> None:
    good = idx(np.zeros((2, 2), np.uint8), 0x08)
    huge = b"\0\0\x08\x04" + b"\xff" * 16  # dims whose product overflows 64 bits
    for data, why in [(b"\0\0\x07\x01" + good[4:], "bad magic 0x00000701, not an IDX file"),
                      (b"PK\3\4", "bad magic 0x504b0304"), (b"", "empty, not an IDX file"),
                      (good[:6], "truncated IDX header"), (good[:-1], "truncated IDX data"),
                      (huge, "truncated IDX data"),
                      (good + b"\0", "too long"), (gzip.compress(good)[:-9], "not a readable gzip file")]:
        with pytest.raises(InvalidArgument, match=why) as e:
            mnist.read_idx(data, "iptf://ipfs/Qm/x.gz")
        assert str(e.value).startswith("iptf://ipfs/Qm/x.gz: ") and "\n" not in str(e.value)
    assert mnist.read_idx(good, magic=0x00000802).shape == (2, 2)
    with pytest.raises(InvalidArgument, match="x.gz: bad magic 0x00000802, want 0x00000803"):
        mnist.read_idx(good, "x.gz", magic=0x00000803)


def reads(repo: IptfRepo, folder_cid: str) -> list[dict]:
    entries = json.loads(repo.out("reflog", "--op=read", "--enc=json"))["Entries"]
    return [e for e in entries if e["Path"].startswith(f"iptf://ipfs/{folder_cid}/")]


def test_mnist_by_cid_through_numpy_and_tf_data(repo: IptfRepo, tmp_path: Path) -> None:
    want = write_mnist(tmp_path / "mnist")
    cid = repo.out("add", "-r", "-Q", str(tmp_path / "mnist"))
    file_cids = {name: repo.out("add", "-Q", "--only-hash", str(tmp_path / "mnist" / name))
                 for name in iptf.datasets.get("mnist").files}
    # The Python API, without TensorFlow; root as a bare CID, /ipfs/… and iptf://ipfs/….
    got = tmp_path / "load.npz"
    proc = repo.python(f"""
import sys, numpy as np
from iptf.datasets import mnist
(x_train, y_train), (x_test, y_test) = mnist.load({cid!r})
for root in ('/ipfs/{cid}', 'iptf://ipfs/{cid}/'):
    again = mnist.load(root)
    assert all(np.array_equal(a, b) for a, b in zip(again[0] + again[1], (x_train, y_train, x_test, y_test)))
np.savez({str(got)!r}, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
print('tensorflow' in sys.modules)
""")
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert proc.stdout.decode().split() == ["False"]
    with np.load(got) as arrays:
        for key, array in want.items():
            assert arrays[key].dtype == np.uint8 and arrays[key].shape == array.shape
            assert np.array_equal(arrays[key], array), key
    assert want["x_train"].shape == (60, 28, 28) and want["y_test"].shape == (10,)
    loaded = reads(repo, cid)
    assert {e["Path"].rsplit("/", 1)[1] for e in loaded} == set(file_cids)
    assert all(e["Cid"] == file_cids[e["Path"].rsplit("/", 1)[1]] for e in loaded), loaded
    # tf.data through TensorFlow's file system: the same pairs, and the plugin's reads in the reflog.
    proc = run_tf(repo, f"""
import iptf, numpy as np
from iptf.datasets import mnist
ds = mnist.dataset('test', 'iptf://ipfs/{cid}')
assert ds.element_spec[0].shape == (28, 28) and ds.element_spec[0].dtype == tf.uint8, ds.element_spec
pairs = list(ds.as_numpy_iterator())
np.savez({str(got)!r}, x=np.stack([x for x, _ in pairs]), y=np.array([y for _, y in pairs]))
try:
    mnist.dataset('validation', 'iptf://ipfs/{cid}')
except iptf.InvalidArgument as e:
    print(e)
""")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "unknown MNIST split 'validation'" in proc.stdout
    with np.load(got) as arrays:
        assert np.array_equal(arrays["x"], want["x_test"]) and np.array_equal(arrays["y"], want["y_test"])
    by_tf = [e for e in reads(repo, cid) if e not in loaded]
    assert {e["Path"].rsplit("/", 1)[1] for e in by_tf} == set(NAMES["test"]), by_tf
    assert all(e["Cid"] == file_cids[e["Path"].rsplit("/", 1)[1]] for e in by_tf), by_tf
    shown = repo.out("reflog")
    assert all(name in shown for name in file_cids) and all(c in shown for c in file_cids.values())


def test_malformed_mnist_is_one_line_naming_the_file(repo: IptfRepo, tmp_path: Path) -> None:
    good = idx(digits(10, 3)[0], 0x08)
    cases = {
        "bad magic": ("t10k_images_idx3_ubyte", gzip.compress(b"\0\0\x08\x09" + good[4:]),
                      "t10k-images-idx3-ubyte.gz: bad magic 0x00000809, want 0x00000803"),
        "truncated": ("train_labels_idx1_ubyte", gzip.compress(idx(digits(60, 0)[1], 0x08)[:-5]),
                      "train-labels-idx1-ubyte.gz: truncated IDX data"),
        "gzip cut": ("train_images_idx3_ubyte", gzip.compress(good)[:40],
                     "train-images-idx3-ubyte.gz: not a readable gzip file"),
        "counts": ("t10k_labels_idx1_ubyte", gzip.compress(idx(digits(9, 3)[1], 0x08)),
                   "t10k-labels-idx1-ubyte.gz: 9 labels for 10 images"),
        "labels as images": ("train_labels_idx1_ubyte", gzip.compress(idx(digits(60, 0)[0], 0x08)),
                             "train-labels-idx1-ubyte.gz: bad magic 0x00000803, want 0x00000801"),
    }
    roots = {}
    for n, (case, (name, data, _)) in enumerate(cases.items()):
        write_mnist(tmp_path / str(n), **{name: data})
        roots[case] = repo.out("add", "-r", "-Q", str(tmp_path / str(n)))
    proc = repo.python(f"""
import iptf
from iptf.datasets import mnist
for case, root in {roots!r}.items():
    try:
        mnist.load(root)
    except iptf.InvalidArgument as e:
        print(case, '|', e)
    else:
        print(case, '| loaded')
""")
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    lines = dict(line.split(" | ", 1) for line in proc.stdout.decode().splitlines())
    assert set(lines) == set(cases)
    for case, (_, _, message) in cases.items():
        assert lines[case].startswith(f"iptf://ipfs/{roots[case]}/") and message in lines[case], (case, lines[case])
