"""Atomic file writing: a save either completes or leaves the old file as it was.

The data goes to a temporary file beside the target, is fsync-ed, and is renamed over the
target (then the folder is fsync-ed). What torch's in-place write keeps is kept here too: the
target's permission bits (and group/owner where allowed), writing through a symlink to the file
it names, and writing straight into a non-regular file such as ``/dev/null``.

Temporary files are named ``.<target name>.<host>-<pid>-<random>.jnn-tmp``. A save killed
mid-write (SIGKILL, power loss) leaves one behind; the next save of the same target removes
those whose process is gone (same host tag, pid not running) and never another live
process's. The host tag includes the pid namespace on Linux, so containers that share a
folder and a hostname do not mistake each other's pids.
"""
from __future__ import annotations

import errno
import hashlib
import os
import secrets
import socket
import stat
from collections.abc import Callable
from typing import BinaryIO

TEMP_SUFFIX = ".jnn-tmp"


def _host_tag() -> str:
    tag = "".join(c if c.isascii() and c.isalnum() else "_"
                  for c in socket.gethostname())[:32] or "host"
    try:  # 'pid:[4026531836]' on Linux: pids are only comparable within one namespace
        tag += "_" + "".join(c for c in os.readlink("/proc/self/ns/pid") if c.isdigit())
    except OSError:
        pass
    return tag


def _temp_stem(base: str) -> str:
    """The part of a temp name that identifies the target (bounded, for NAME_MAX=255)."""
    if len(base.encode("utf-8", "surrogateescape")) <= 120:
        return base
    digest = hashlib.sha1(base.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return base[:60] + "~" + digest


def _process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except (OverflowError, ValueError):
        return False
    return True


def remove_stale_temps(directory: str, base: str) -> list[str]:
    """Remove the temp files of earlier saves of ``base`` whose process has ended.

    Returns:
        The names removed.
    """
    if os.name != "posix":  # os.kill(pid, 0) on Windows would send a signal, not check
        return []
    prefix = f".{_temp_stem(base)}.{_host_tag()}-"
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    removed = []
    for name in names:
        if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)):
            continue
        pid, _, token = name[len(prefix):-len(TEMP_SUFFIX)].partition("-")
        if not (pid.isdigit() and token and all(c in "0123456789abcdef" for c in token)):
            continue
        if int(pid) == os.getpid() or _process_running(int(pid)):
            continue
        try:
            os.unlink(os.path.join(directory, name))
            removed.append(name)
        except OSError:
            pass
    return removed


def _named(error: OSError, path: str, caller: str, what: str) -> OSError:
    """``error`` re-raised with the user's path (not the hidden temp file's)."""
    if error.errno is None:
        return error
    return OSError(error.errno, f"{caller}: {what}: {error.strerror}", path)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None],
                 caller: str = "save") -> None:
    """Write ``path`` through ``write(fileobj)``, atomically.

    Raises:
        ValueError: ``path`` is empty.
        OSError: the file cannot be written; the message names ``path`` (or its folder).
    """
    path = os.fsdecode(os.fspath(path))
    if not path:
        raise ValueError(f"{caller}: the path is empty; pass a file name such as 'ckpt.pt'")
    target = os.path.realpath(path)  # through symlinks, as torch's fopen() goes
    if os.path.islink(target):
        raise OSError(errno.ELOOP, f"{caller}: the symlink cannot be resolved "
                                   "(a loop of symlinks)", path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise _named(e, path, caller, "cannot write the file") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"{caller}: the path is a folder", path)
    if st is not None and not os.access(target, os.W_OK):  # torch's fopen() would refuse too
        raise PermissionError(errno.EACCES, f"{caller}: the file is not writable", path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        # /dev/null, a FIFO, a device: nothing to replace; write into it, as torch does
        try:
            with open(target, "wb") as fh:
                write(fh)
        except OSError as e:
            raise _named(e, path, caller, "cannot write the file") from None
        return
    directory, base = os.path.split(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"{caller}: the folder {directory!r} does not "
                                              "exist", path)
    remove_stale_temps(directory, base)
    stem = f".{_temp_stem(base)}.{_host_tag()}-{os.getpid()}-"
    for _ in range(100):  # (a name clash needs a 32-bit token collision)
        tmp = os.path.join(directory, f"{stem}{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:
            continue
        except OSError as e:
            raise _named(e, path, caller, f"cannot create a temporary file in {directory!r} "
                                          "(an atomic save writes beside the target, then "
                                          "renames)") from None
    else:  # pragma: no cover
        raise FileExistsError(errno.EEXIST, f"{caller}: cannot create a temporary file in "
                                            f"{directory!r}", path)
    try:
        with os.fdopen(fd, "wb") as fh:
            if st is not None:
                _copy_mode(fh.fileno(), st)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and e.errno is not None:
            raise _named(e, path, caller, "cannot write the file") from None
        raise
    _fsync_dir(directory)


def _copy_mode(fd: int, st: os.stat_result) -> None:
    """Give the new file the old one's group, owner (where allowed) and permission bits."""
    if hasattr(os, "fchown"):
        for uid, gid in ((-1, st.st_gid), (st.st_uid, -1)):  # a group we belong to; root: all
            try:
                os.fchown(fd, uid, gid)
            except OSError:
                pass
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(st.st_mode))


def _fsync_dir(directory: str) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
