"""jnn.save to a path: atomic (a failed or killed save never loses the old file), keeps the
target's mode, writes through symlinks, names the user's path in errors, and cleans up its
temporary files, including those that killed saves left behind."""
import io
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest

from jnn.serialization import load, save

POSIX = os.name == "posix"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def temp_files(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".jnn-tmp"))


def test_failed_save_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save({"x": np.zeros(3, np.float32)}, path)
    before = path.read_bytes()

    calls = {"n": 0}
    real = zipfile.ZipFile.writestr

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # in the middle of the storages
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", flaky)
    with pytest.raises(OSError, match="disk full"):
        save({"x": np.ones(3, np.float32), "y": np.ones(1000, np.float32)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.pt"]  # no temp file left behind

    def no_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(OSError, match="rename failed"):
        save({"x": np.ones(3, np.float32)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.pt"]
    assert np.array_equal(load(path, as_numpy=True)["x"], np.zeros(3, np.float32))

    save({"x": np.ones(3, np.float32)}, path)  # a successful save replaces it
    assert np.array_equal(load(path, as_numpy=True)["x"], np.ones(3, np.float32))




def _temp_name_of_a_save(tmp_path, monkeypatch) -> str:
    """The temporary file name this process uses for ``tmp_path / 'ckpt.pt'``."""
    seen = []

    def capture(src, dst):
        seen.append(os.path.basename(src))
        raise OSError("stop here")

    monkeypatch.setattr(os, "replace", capture)
    with pytest.raises(OSError, match="stop here"):
        save({}, tmp_path / "ckpt.pt")
    monkeypatch.undo()
    return seen[0]


@pytest.mark.skipif(not POSIX, reason="stale temp files are only recognised on POSIX")
def test_stale_temp_files_of_ended_saves_are_removed(tmp_path, monkeypatch):
    name = _temp_name_of_a_save(tmp_path, monkeypatch)  # .ckpt.pt.<host tag>-<pid>-<hex>.jnn-tmp
    assert temp_files(tmp_path) == []  # the failed save removed its own
    prefix, pid, _ = name[:-len(".jnn-tmp")].rsplit("-", 2)
    assert prefix.startswith(".ckpt.pt.") and int(pid) == os.getpid()
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    names = {
        "ended": f"{prefix}-{ended.pid}-0a1b.jnn-tmp",                # removed
        "running": f"{prefix}-{os.getppid()}-0a1b.jnn-tmp",           # a live process: kept
        "mine": f"{prefix}-{os.getpid()}-0a1b.jnn-tmp",               # this process: kept
        "other host": f".ckpt.pt.otherhost_1-{ended.pid}-0a1b.jnn-tmp",  # kept
        "other file": f".other.pt.{prefix[9:]}-{ended.pid}-0a1b.jnn-tmp",  # kept
        "not ours": f".ckpt.pt.{ended.pid}.tmp",                       # kept
    }
    for n in names.values():
        (tmp_path / n).write_bytes(b"partial")
    save({"x": np.ones(2)}, tmp_path / "ckpt.pt")
    left = set(os.listdir(tmp_path))
    assert names["ended"] not in left
    assert {n for k, n in names.items() if k != "ended"} <= left
    assert np.array_equal(load(tmp_path / "ckpt.pt", as_numpy=True)["x"], np.ones(2))


_KILLED_SAVER = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from jnn.serialization import save
state = {"w": np.full(4 << 20, 2.0, np.float32)}  # 16 MB: a save takes a while
print("ready", flush=True)
while True:
    save(state, sys.argv[1])
"""


@pytest.mark.skipif(not POSIX, reason="SIGKILL and stale temp files are POSIX")
def test_killed_save_leaves_the_target_intact_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "ckpt.pt"
    save({"w": np.zeros(3, np.float32)}, path)
    for _attempt in range(5):  # until the kill lands while a temp file exists
        child = subprocess.Popen([sys.executable, "-c", _KILLED_SAVER, str(path), ROOT],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while not temp_files(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.001)
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        left = temp_files(tmp_path)
        # the target is a whole checkpoint: the old one or one of the child's
        w = load(path, as_numpy=True)["w"]
        assert w.shape in ((3,), (4 << 20,)) and np.all(w == w[0]) and w[0] in (0.0, 2.0)
        if left:
            break
    assert left and all(f"-{child.pid}-" in n for n in left), left
    save({"w": np.ones(3, np.float32)}, path)  # the next save removes the dead save's file
    assert temp_files(tmp_path) == []
    assert np.array_equal(load(path, as_numpy=True)["w"], np.ones(3, np.float32))


@pytest.mark.skipif(not POSIX, reason="POSIX permission bits")
def test_save_keeps_the_files_mode(tmp_path):
    path = tmp_path / "secret.pt"
    save({"x": np.ones(2)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask  # a new file: as open() makes
    for mode in (0o600, 0o640, 0o604):
        os.chmod(path, mode)
        save({"x": np.zeros(2)}, path)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode  # as torch's in-place write keeps
    assert np.array_equal(load(path, as_numpy=True)["x"], np.zeros(2))


@pytest.mark.skipif(not POSIX, reason="symlinks")
def test_save_writes_through_symlinks(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "links").mkdir()
    real = tmp_path / "runs" / "best.pt"
    save({"x": np.zeros(2)}, real)
    os.chmod(real, 0o600)
    link = tmp_path / "links" / "latest.pt"
    os.symlink("../runs/best.pt", link)  # relative, into another folder
    save({"x": np.ones(2)}, link)
    assert os.path.islink(link) and os.readlink(link) == "../runs/best.pt"
    assert np.array_equal(load(real, as_numpy=True)["x"], np.ones(2))
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path / "links")) == ["latest.pt"]
    with zipfile.ZipFile(real) as zf:  # torch names the archive after the path it was given
        assert zf.namelist()[0] == "latest/data.pkl"
    dangling = tmp_path / "links" / "new.pt"  # a link to a file not yet written: created
    os.symlink("../runs/new.pt", dangling)
    save({"x": np.ones(1)}, dangling)
    assert os.path.islink(dangling) and (tmp_path / "runs" / "new.pt").is_file()
    loop = tmp_path / "links" / "loop.pt"
    os.symlink("loop.pt", loop)
    with pytest.raises(OSError, match="loop.pt") as info:
        save({}, loop)
    assert ".jnn-tmp" not in str(info.value) and os.path.islink(loop)


def test_save_errors_name_the_users_path(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="empty path"):
        save({}, "")
    missing = tmp_path / "no" / "such" / "ckpt.pt"
    with pytest.raises(FileNotFoundError) as info:
        save({}, missing)
    msg = str(info.value)
    assert str(missing.parent) in msg and str(missing) in msg and ".jnn-tmp" not in msg
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        save({}, tmp_path)
    with open(tmp_path / "text.pt", "w") as text:
        with pytest.raises(TypeError, match="text mode"):
            save({}, text)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    path = tmp_path / "full.pt"
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError) as info:
        save({"x": np.ones(2)}, path)
    monkeypatch.undo()
    assert info.value.errno == 28 and info.value.filename == str(path)
    assert ".jnn-tmp" not in str(info.value) and temp_files(tmp_path) == []
    assert not path.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_save_into_a_non_regular_file_writes_into_it(tmp_path):
    # (a FIFO stands for /dev/null and devices: a save must write into them, as torch does,
    # never rename a regular file over them)
    pipe = tmp_path / "pipe.pt"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    save({"x": np.arange(3)}, pipe)
    reader.join()
    assert stat.S_ISFIFO(os.stat(pipe).st_mode) and os.listdir(tmp_path) == ["pipe.pt"]
    assert np.array_equal(load(io.BytesIO(received[0]), as_numpy=True)["x"], np.arange(3))
