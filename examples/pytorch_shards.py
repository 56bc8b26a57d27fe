"""A PyTorch dataset whose shards are addressed by CID and read through fsspec.

    pip install 'iptf-tensorflow[fsspec]' torch numpy
    iptf add -r -Q shards/                  # prints the folder's CID
    python pytorch_shards.py iptf://ipfs/<cid> --workers 2

Each item is one shard's bytes as a uint8 tensor. The DataLoader's workers are separate
processes; all of them read through the repo's one IPTF node (started on demand), which takes
local blocks from its blockstore and fetches missing ones from peers. Prints one JSON line per
shard (name, size, sha256 of the tensor's bytes, the worker's pid), then one line with this
process's pid.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os

import fsspec
import torch
from torch.utils.data import DataLoader, Dataset


class Shards(Dataset):
    """The files of an iptf:// folder, in name order, one tensor per file."""

    def __init__(self, folder: str) -> None:
        fs = fsspec.filesystem("iptf")
        self.paths = sorted(fs.ls(folder, detail=False))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[str, torch.Tensor, int]:
        with fsspec.open(f"iptf://{self.paths[i]}", "rb") as f:
            data = f.read()
        return self.paths[i], torch.frombuffer(bytearray(data), dtype=torch.uint8), os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="an iptf:// folder, e.g. iptf://ipfs/<cid>")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    args = parser.parse_args()
    loader = DataLoader(Shards(args.folder), batch_size=None, num_workers=args.workers)
    for path, tensor, worker in loader:
        digest = hashlib.sha256(tensor.numpy().tobytes()).hexdigest()
        print(json.dumps({"name": path.rsplit("/", 1)[-1], "size": tensor.numel(), "sha256": digest,
                          "worker": worker}), flush=True)
    print(json.dumps({"main": os.getpid()}), flush=True)


if __name__ == "__main__":
    main()
