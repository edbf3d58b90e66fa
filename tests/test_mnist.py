"""The optional MNIST loader, on small IDX files the test writes itself (no download)."""
import gzip
import struct

import numpy as np
import pytest

from ragteach.data.mnist import FILES, load_mnist, read_idx


def write_idx(path, array, compress=True):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)


def test_reads_idx_and_scales(tmp_path):
    images = np.zeros((3, 28, 28), np.uint8)
    images[0, 0, 0] = 255
    write_idx(tmp_path / FILES[True][0], images)
    write_idx(tmp_path / FILES[True][1], np.array([7, 1, 0], np.uint8))
    x, y = load_mnist(tmp_path)
    assert x.shape == (3, 784) and y.tolist() == [7, 1, 0]
    assert x[0, 0] == 1.0 and x[1].max() == -1.0


def test_uncompressed_and_bad_header(tmp_path):
    write_idx(tmp_path / "a.idx", np.arange(6).reshape(2, 3), compress=False)
    assert read_idx(tmp_path / "a.idx").tolist() == [[0, 1, 2], [3, 4, 5]]
    (tmp_path / "b.idx").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "b.idx")


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="download_mnist"):
        load_mnist(tmp_path, train=False)
