"""CIFAR-10, article 001's dataset — an **optional** loader for online users, never a default.

The notebooks run offline on scikit-learn's digits. If you are online and want the article's data:

    from ragteach.data.cifar import download_cifar10, load_cifar10
    root = download_cifar10("data")          # ~170 MB, once
    x, y = load_cifar10(root, train=True)    # (50000, 3072) in [-1, 1], labels 0..9

The files are the official "python version": pickled dicts with ``b"data"`` (N, 3072) uint8 rows
(1024 red, 1024 green, 1024 blue values of a 32x32 image) and ``b"labels"``.
"""
from __future__ import annotations

import pickle
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import torch

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILES = ["test_batch"]


def read_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch file → (uint8 data (N, 3072), int labels (N,))."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data, labels = np.asarray(batch[b"data"], dtype=np.uint8), np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise ValueError(f"{path} is not a CIFAR-10 batch: data {data.shape}, labels {labels.shape}")
    return data, labels


def load_cifar10(root: str | Path, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as float (N, 3072) in [-1, 1] (x / 127.5 − 1) and labels, from ``root/cifar-10-batches-py``."""
    folder = Path(root) / FOLDER
    files = TRAIN_FILES if train else TEST_FILES
    missing = [f for f in files if not (folder / f).exists()]
    if missing:
        raise FileNotFoundError(f"CIFAR-10 files {missing} not found in {folder}. This loader is optional and "
                                f"needs a download: call download_cifar10({str(root)!r}) while online.")
    parts = [read_batch(folder / f) for f in files]
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return torch.as_tensor(data, dtype=torch.float32) / 127.5 - 1.0, torch.as_tensor(labels)


def download_cifar10(root: str | Path) -> Path:  # pragma: no cover - needs the internet
    """Download and unpack the official archive into ``root`` (skipped if already there)."""
    root = Path(root)
    if (root / FOLDER / TEST_FILES[0]).exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    archive = root / "cifar-10-python.tar.gz"
    urllib.request.urlretrieve(URL, archive)
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return root
