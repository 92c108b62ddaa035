"""Tests of collapsebook.store: folders that know their run, one writer, atomic writes, damaged files named."""

import json
import os
import re
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


def test_compressed_npz_round_trips_and_is_deflated(tmp_path):
    import zipfile

    arrays = {"images": np.zeros((100, 28, 28), dtype=np.float32), "labels": np.arange(100)}
    store.save_npz(tmp_path / "plain.npz", **arrays)
    store.save_npz(tmp_path / "packed.npz", compressed=True, **arrays)
    with zipfile.ZipFile(tmp_path / "packed.npz") as z:
        assert {info.compress_type for info in z.infolist()} == {zipfile.ZIP_DEFLATED}
    assert (tmp_path / "packed.npz").stat().st_size < (tmp_path / "plain.npz").stat().st_size / 10
    loaded = store.load_npz(tmp_path / "packed.npz")
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].dtype == value.dtype


def test_writing_replaces_a_folder_whole_and_an_error_keeps_the_old_one(tmp_path):
    folder = tmp_path / "model"
    with store.writing(folder) as partial:
        partial.mkdir()
        (partial / "weights").write_text("old")
    with store.writing(folder) as partial:
        partial.mkdir()
        (partial / "weights").write_text("new")
        (partial / "tokenizer").write_text("new")
    assert snapshot(folder) == {"tokenizer": b"new", "weights": b"new"}
    with pytest.raises(RuntimeError, match="failed half-way"):
        with store.writing(folder) as partial:
            partial.mkdir()
            (partial / "weights").write_text("half")
            raise RuntimeError("failed half-way")
    assert snapshot(folder) == {"tokenizer": b"new", "weights": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary left


# ---- fault injection: a process killed with SIGKILL while it writes ----------------------------------------

WRITER = """
import sys
import numpy as np
from collapsebook import store
x = np.zeros(2_000_000)  # 16 MB: writing takes most of each iteration
print("writing", flush=True)
for version in range(1, 10**6):
    x[:] = version
    store.save_npz(sys.argv[1], version=np.array(version), x=x)
"""


def test_a_process_killed_while_it_saves_npz_leaves_the_old_or_the_new_file_whole(tmp_path):
    import signal
    import time

    path = tmp_path / "state.npz"
    store.save_npz(path, version=np.array(0), x=np.zeros(2_000_000))
    rng = np.random.default_rng(0)
    for kill in range(5):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "writing"
        time.sleep(rng.uniform(0.05, 0.5))  # a few writes in, at a random point of one
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        state = store.load_npz(path)  # never a torn file
        assert np.all(state["x"] == state["version"]), kill
    left = [p for p in tmp_path.iterdir() if p != path]
    assert all(p.name.startswith(".state.npz.") and p.name.endswith(".tmp") for p in left), left
    for partial in left:  # a kill inside a write leaves only a hidden temporary, itself a truncated npz
        with pytest.raises(store.DamagedFile, match="is damaged"):
            store.load_npz(partial)


CHECKPOINTING_RUN = """
import io, itertools, sys, time
import numpy as np
from collapsebook import discrete, loop

folder, kill_at = sys.argv[1], int(sys.argv[2])
calls, savez = itertools.count(), np.savez


def savez_then_hang(file, **arrays):  # generation kill_at's file is written half, then the process hangs
    if next(calls) == kill_at:
        whole = io.BytesIO()
        savez(whole, **arrays)
        file.write(whole.getvalue()[: len(whole.getvalue()) // 2])
        file.flush()
        print("half written", flush=True)
        time.sleep(600)
    savez(file, **arrays)


np.savez = savez_then_hang
data = np.random.default_rng(0).integers(0, 5, size=(50, 40))
loop.run(discrete.family(5), data, 30, policy="accumulate", sample_axis=1, seed=3, checkpoint_dir=folder,
         progress=False)
"""


def test_a_run_killed_while_it_writes_a_checkpoint_resumes_to_the_uninterrupted_result(tmp_path):
    import signal

    from collapsebook import discrete, loop

    folder = tmp_path / "run"
    writer = subprocess.Popen([sys.executable, "-c", CHECKPOINTING_RUN, str(folder), "7"], stdout=subprocess.PIPE,
                              text=True)
    assert writer.stdout.readline().strip() == "half written"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    names = sorted(p.name for p in folder.iterdir())
    assert [n for n in names if n.startswith("generation_")] == [f"generation_{g:05d}.npz" for g in range(7)]
    partial, lock = names[:2]  # the half-written temporary and the dead process's lock
    assert re.fullmatch(r"\.generation_00007\.npz\.\d+\.[0-9a-f]{8}\.tmp", partial) and lock == store.LOCK
    with pytest.raises(store.DamagedFile, match=r"\.generation_00007\.npz\..*is damaged"):
        store.load_npz(folder / partial)

    data = np.random.default_rng(0).integers(0, 5, size=(50, 40))
    settings = dict(policy="accumulate", sample_axis=1, seed=3, progress=False)
    resumed = loop.run(discrete.family(5), data, 30, checkpoint_dir=folder, **settings)
    whole = loop.run(discrete.family(5), data, 30, **settings)
    for key in whole.keys():
        np.testing.assert_array_equal(resumed[key], whole[key], err_msg=key)
    left = sorted(p.name for p in folder.iterdir() if not p.name.startswith("generation_"))
    assert left == ["config.json"]  # the dead writer's lock and temporary are gone


def test_a_folder_written_again_removes_what_a_killed_writer_left_of_it(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead = tmp_path / f".model.{finished.stdout.strip()}.0badf00d.tmp"  # a model folder half-saved by a killed run
    dead.mkdir()
    (dead / "weights").write_bytes(b"half")
    live = tmp_path / f".model.{os.getpid()}.feedf00d.tmp"  # one this process is still writing
    live.mkdir()
    with store.writing(tmp_path / "model") as partial:
        partial.mkdir()
        (partial / "weights").write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "model"]
