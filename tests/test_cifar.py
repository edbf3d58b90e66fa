"""The optional CIFAR-10 loader, on small CIFAR-format files the test writes itself (no download)."""
import pickle

import numpy as np
import pytest

from ragteach.data.cifar import FOLDER, TEST_FILES, TRAIN_FILES, load_cifar10


def write_fake_cifar(root, n=4):
    folder = root / FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in TRAIN_FILES + TEST_FILES:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        data[0, 0] = 255
        data[0, 1] = 0
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": list(range(n))}, f)


def test_loads_cifar_format_and_scales_to_unit_range(tmp_path):
    write_fake_cifar(tmp_path)
    x, y = load_cifar10(tmp_path, train=True)
    assert x.shape == (20, 3072) and y.tolist() == [0, 1, 2, 3] * 5
    assert x[0, 0] == 1.0 and x[0, 1] == -1.0 and x.min() >= -1 and x.max() <= 1
    xt, yt = load_cifar10(tmp_path, train=False)
    assert xt.shape == (4, 3072)


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="download_cifar10"):
        load_cifar10(tmp_path)


def test_malformed_batch_is_refused(tmp_path):
    write_fake_cifar(tmp_path)
    with open(tmp_path / FOLDER / TEST_FILES[0], "wb") as f:
        pickle.dump({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match="not a CIFAR-10 batch"):
        load_cifar10(tmp_path, train=False)
