"""Tests of collapsebook.store: folders that know their run, one writer, atomic writes, damaged files named."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from collapsebook import store


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_claim_records_the_settings_then_refuses_others_naming_them_and_writing_nothing(tmp_path):
    folder = tmp_path / "run"
    settings = {"seed": 0, "n_samples": 200, "policy": "replace", "sizes": (10, 20)}
    assert store.claim(folder, settings) == folder
    assert json.loads((folder / store.SETTINGS).read_text())["sizes"] == [10, 20]
    store.claim(folder, dict(settings))  # the same run: accepted
    before = snapshot(folder)
    with pytest.raises(ValueError, match=r"n_samples 200 \(this run: 500\).*seed 0 \(this run: 1\)"):
        store.claim(folder, {**settings, "n_samples": 500, "seed": 1})
    with pytest.raises(ValueError, match=r"data '\(unset\)'"):
        store.claim(folder, {**settings, "data": "abc"})
    assert snapshot(folder) == before


def test_claim_refuses_a_file_where_a_folder_belongs(tmp_path):
    (tmp_path / "x").write_text("not a folder")
    with pytest.raises(ValueError, match="is a file"):
        store.claim(tmp_path / "x", {"seed": 0})


def test_fingerprint_tells_data_apart():
    a = np.arange(12.0).reshape(3, 4)
    assert store.fingerprint(a) == store.fingerprint(a.copy())
    assert store.fingerprint(a) != store.fingerprint(a.reshape(4, 3))
    assert store.fingerprint(a) != store.fingerprint(a.astype(np.float32))
    b = a.copy()
    b[2, 3] += 1e-9
    assert store.fingerprint(a) != store.fingerprint(b)


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path):
    store.atomic_write(tmp_path / "a.json", b"{}")
    store.save_npz(tmp_path / "b.npz", x=np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.npz"]
    np.testing.assert_array_equal(store.load_npz(tmp_path / "b.npz")["x"], np.arange(3))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_npz_is_reported_with_its_path(tmp_path, damage):
    path = tmp_path / "generation_00003.npz"
    store.save_npz(path, x=np.arange(1000))
    payload = path.read_bytes()
    path.write_bytes({"truncate": payload[: len(payload) // 2], "garbage": b"\x00" * 50, "empty": b""}[damage])
    with pytest.raises(store.DamagedFile, match="generation_00003.npz is damaged.*delete it"):
        store.load_npz(path)


def test_a_damaged_json_is_reported_with_its_path(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"seed": 0')
    with pytest.raises(store.DamagedFile, match="settings.json is damaged"):
        store.load_json(path)
    path.write_text("[1, 2]")
    with pytest.raises(store.DamagedFile, match="not settings"):
        store.load_json(path)


def test_a_second_writer_is_refused_and_the_lock_is_released(tmp_path):
    with store.lock(tmp_path):
        with pytest.raises(store.FolderInUse, match="is being written by process"):
            with store.lock(tmp_path):
                pass
        assert (tmp_path / store.LOCK).exists()
    assert not (tmp_path / store.LOCK).exists()
    with store.lock(tmp_path):  # free again
        pass


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    (tmp_path / store.LOCK).write_text(f"{socket.gethostname()} {finished.stdout.strip()}")
    with store.lock(tmp_path):
        assert (tmp_path / store.LOCK).read_text().endswith(f" {os.getpid()}")
