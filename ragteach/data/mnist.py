"""MNIST, article 003's dataset — an **optional** loader for online users, never a default.

The notebooks run offline on scikit-learn's 8x8 digits. Online, you can fetch the original files
(IDX format, gzip-compressed) and load them:

    from ragteach.data.mnist import download_mnist, load_mnist
    root = download_mnist("data")          # ~11 MB, once
    x, y = load_mnist(root, train=True)    # (60000, 784) in [-1, 1], labels 0..9

IDX: a big-endian header (magic 0x0000080D for ubyte data with D dimensions, then D sizes as uint32)
followed by the raw bytes.
"""
from __future__ import annotations

import gzip
import struct
import urllib.request
from pathlib import Path

import numpy as np
import torch

MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FILES = {True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes (optionally gzip-compressed) into an array of its shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (header {raw[:4].hex()})")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape}, but holds {data.size} values")
    return data.reshape(shape).copy()  # frombuffer is read-only; torch wants writable memory


def load_mnist(root: str | Path, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as float (N, 784) in [-1, 1] (x / 127.5 − 1) and integer labels."""
    images, labels = (Path(root) / name for name in FILES[train])
    for f in (images, labels):
        if not f.exists():
            raise FileNotFoundError(f"{f} not found. This loader is optional and needs a download: "
                                    f"call download_mnist({str(root)!r}) while online.")
    x = read_idx(images)
    y = read_idx(labels)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    return torch.as_tensor(x.reshape(len(x), -1), dtype=torch.float32) / 127.5 - 1.0, torch.as_tensor(y.astype(np.int64))


def download_mnist(root: str | Path) -> Path:  # pragma: no cover - needs the internet
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name in FILES[True] + FILES[False]:
        if not (root / name).exists():
            urllib.request.urlretrieve(MIRROR + name, root / name)
    return root
