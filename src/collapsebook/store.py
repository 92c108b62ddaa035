"""One home for results folders: a folder knows the run it holds, one process writes it at a time, every file
is written atomically, and a damaged file is reported with its path and what to do.

- :func:`claim` records a run's settings in the folder the first time and, on every later use, refuses other
  settings with one line naming what differs, before anything is written;
- :func:`lock` makes the folder one process's for as long as it writes (a second run into it is refused);
- :func:`writing` gives a temporary path unique to the process and moves it into place in one step when the
  block succeeds (a file or a folder); :func:`atomic_write` and :func:`save_npz` write through it;
- :func:`load_npz` and :func:`load_json` read, and turn a truncated or edited file into a :class:`DamagedFile`
  error that names it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

SETTINGS = "settings.json"
LOCK = ".lock"


class DamagedFile(ValueError):
    """A results file that cannot be read: truncated, edited or not written by this package."""


class FolderInUse(RuntimeError):
    """Another process is writing the results folder."""


def fingerprint(array) -> str:
    """A short digest of an array's shape, dtype and values: what a folder records of its data."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.shape}|{array.dtype.str}|".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def _plain(settings: Mapping) -> dict:
    """``settings`` as JSON would give them back (tuples become lists, numbers stay numbers)."""
    return json.loads(json.dumps(dict(settings), sort_keys=True, default=str))


def differences(saved: Mapping, wanted: Mapping) -> list[str]:
    """``key: saved (this run: wanted)`` for every setting that differs."""
    keys = sorted(set(saved) | set(wanted))
    return [f"{k} {saved.get(k, '(unset)')!r} (this run: {wanted.get(k, '(unset)')!r})"
            for k in keys if saved.get(k) != wanted.get(k)]


def claim(folder, settings: Mapping, name: str = SETTINGS) -> Path:
    """Make ``folder`` the home of the run that ``settings`` describe: record them (as ``name``) the first time;
    later, raise ValueError naming every setting that differs, having written nothing. Returns the folder."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a results folder")
    wanted, path = _plain(settings), folder / name
    if path.exists():
        saved = load_json(path)
        changed = differences(saved, wanted)
        if changed:
            raise ValueError(f"{folder} holds a run with other settings: {'; '.join(changed)}. "
                             "Use another folder, or the settings it holds")
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(wanted, indent=1, sort_keys=True).encode())
    return folder


def _temporary(path: Path) -> Path:
    """A temporary name next to ``path``, unique to this process and call (two writers never share one)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


@contextlib.contextmanager
def writing(path):
    """Write ``path`` (a file, or a folder) atomically: the block writes the temporary path this yields, unique to
    the process and the call; when the block ends without an error, it takes the place of ``path`` in one rename,
    so a reader sees the old version or the whole new one, never a part. On an error it is removed and ``path``
    is left as it was. A process killed meanwhile leaves only a hidden ``.NAME.PID.*.tmp`` beside ``path``, which
    :func:`lock` (or, for a folder, the next :func:`writing` of it) removes."""
    path = Path(path)
    tmp = _temporary(path)
    try:
        yield tmp
        if tmp.is_dir():  # a folder (a model) can be large: remove what killed writers left of earlier ones
            _remove_dead_temporaries(path.parent, path.name)
        _replace(tmp, path)
    finally:
        _remove(tmp)


def _replace(new: Path, path: Path) -> None:
    if not (new.is_dir() and path.is_dir()):
        os.replace(new, path)
        return
    old = _temporary(path)  # a folder cannot be renamed onto another: move the old one aside first
    os.replace(path, old)
    os.replace(new, path)
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def atomic_write(path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that a reader sees the old file or the whole new one, never a part."""
    with writing(path) as tmp:
        tmp.write_bytes(payload)


def save_npz(path, *, compressed: bool = False, **arrays) -> None:
    """``np.savez`` (``np.savez_compressed`` with ``compressed=True``) of ``arrays`` to ``path``, atomically."""
    save = np.savez_compressed if compressed else np.savez
    with writing(path) as tmp, open(tmp, "wb") as file:  # a file object: numpy adds no ".npz" to its name
        save(file, **arrays)


def load_npz(path) -> dict:
    """Every array of the ``.npz`` at ``path``; a damaged file raises :class:`DamagedFile` naming it."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise DamagedFile(f"{path} is damaged ({type(error).__name__}: {error}); delete it to recompute what it "
                          "held (a resumed run redoes that generation)") from error


def cached(folder, name: str, settings: Mapping, compute) -> dict:
    """The arrays of ``compute()``, saved as ``folder/name.npz`` for the run that ``settings`` describe (claimed
    as ``folder/name.json``, see :func:`claim`); a later call with the same settings reads them back instead of
    computing, one with other settings raises ValueError naming them. ``folder=None``: computed, not saved."""
    if folder is None:
        return compute()
    claim(folder, settings, name=f"{name}.json")
    path = Path(folder) / f"{name}.npz"
    if path.exists():
        return load_npz(path)
    arrays = compute()
    save_npz(path, **arrays)
    return arrays


def load_json(path) -> dict:
    """The JSON object at ``path``; a damaged file raises :class:`DamagedFile` naming it."""
    try:
        value = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DamagedFile(f"{path} is damaged ({error}); restore it or start the run in a new folder") from error
    if not isinstance(value, dict):
        raise DamagedFile(f"{path} is damaged: it holds a {type(value).__name__}, not settings")
    return value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_dead_temporaries(folder: Path, name: str = "*") -> None:
    """Delete the temporaries (see :func:`writing`) of ``name`` in ``folder`` that processes killed while writing
    left there; a live process's are kept."""
    if not folder.is_dir():
        return
    for path in folder.glob(f".{name}.*.tmp"):
        pid = path.name.split(".")[-3]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            _remove(path)


@contextlib.contextmanager
def lock(folder):
    """Hold ``folder`` for this process while the block runs: a second process is refused with
    :class:`FolderInUse`; a lock left by a process that died is taken over."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a results folder")
    folder.mkdir(parents=True, exist_ok=True)
    path, me = folder / LOCK, f"{socket.gethostname()} {os.getpid()}"
    while True:
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                host, _, pid = path.read_text().partition(" ")
            except FileNotFoundError:  # released meanwhile: try again
                continue
            if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
                path.unlink(missing_ok=True)  # its process died: the lock is stale
                continue
            raise FolderInUse(f"{folder} is being written by process {pid or '?'} on {host or '?'}; wait for it "
                              f"to finish, or use another folder (if no such process runs, delete {path})") from None
        with os.fdopen(descriptor, "w") as file:
            file.write(me)
        break
    _remove_dead_temporaries(folder)
    try:
        yield folder
    finally:
        if path.exists() and path.read_text() == me:
            path.unlink()
