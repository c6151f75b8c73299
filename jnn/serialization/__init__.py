"""Checkpoints: ``jnn.save`` / ``jnn.load`` read and write PyTorch's own ``.pt``/``.pth`` files.

Neither function imports torch. A file written by :func:`save` loads with
``torch.load(f, weights_only=True)``, and :func:`load` reads what ``torch.save`` writes, so
checkpoints move freely between the two libraries.

File format (what ``torch.save`` writes since PyTorch 1.6, and what :func:`save` writes):
    An uncompressed zip archive whose records all sit in one folder ``<name>/``:

    * ``<name>/data.pkl``: a pickle (protocol 2) of the saved object. Each tensor is the call
      ``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
      OrderedDict())`` where ``storage`` is a *persistent id*
      ``('storage', torch.FloatStorage, key, 'cpu', numel)`` (the storage class names the
      dtype; dtypes without a storage class use ``_rebuild_tensor_v3`` with a
      ``torch.storage.UntypedStorage`` and an explicit dtype). A ``Parameter`` wraps its tensor
      in ``torch._utils._rebuild_parameter(tensor, requires_grad, OrderedDict())``.
    * ``<name>/data/<key>``: the storage's raw bytes, little-endian, each record aligned to 64
      bytes in the file (through padding in the zip "extra" field, as torch does) so that
      ``torch.load(..., mmap=True)`` can map it.
    * ``<name>/byteorder`` (``little``), ``<name>/version`` (``3``), ``<name>/.format_version``,
      ``<name>/.storage_alignment`` and ``<name>/.data/serialization_id``.

    The legacy format (``torch.save(..., _use_new_zipfile_serialization=False)``) is a run of
    pickles in one stream: a magic number, the protocol version, a ``sys_info`` dict, the object
    (storages as persistent ids ``('storage', type, key, location, numel, view)``), the sorted
    list of storage keys, then for each key an int64 element count and the raw bytes.
    :func:`load` reads it too; :func:`save` writes only the zip format.

Safety model:
    Unpickling an arbitrary pickle runs arbitrary code. :func:`load` therefore never uses
    Python's normal class lookup: its unpickler admits only a fixed list of names -- the tensor
    rebuild functions (``torch._utils._rebuild_tensor``, ``_rebuild_tensor_v2``,
    ``_rebuild_tensor_v3``, ``_rebuild_parameter``, ``_rebuild_parameter_with_state``,
    ``torch._tensor._rebuild_from_type_v2`` for plain tensors/parameters), the storage classes,
    torch dtypes, ``torch.Size``, ``torch.device``, ``collections.OrderedDict``/``Counter``,
    ``builtins.set``/``frozenset``/``complex``/``bytearray`` and ``_codecs.encode`` (how
    protocol 2 spells ``bytes``) -- and each name resolves to jnn's own small replacement, never
    to the real object. Any other global (``os.system``, ``builtins.eval``, ``posix.system``, any
    class) is refused with :class:`UnsafeCheckpointError` (a ``pickle.UnpicklingError``) naming
    the callable and the file, before anything of it runs. Tensor views are bounds-checked
    against their storage. This matches ``torch.load(weights_only=True)``, torch's default;
    ``weights_only=False`` (unpickling arbitrary objects, e.g. a whole ``nn.Module`` saved with
    ``torch.save(model)``) is not supported.

Memory and other bounds (what a hostile or broken file can cost):
    * Tensor data: the storage bytes a load reads plus the arrays it builds may total at most
      8 x the file's size + 64 MiB (``load(..., max_bytes=)`` sets another limit). A file of
      plain tensors needs about 2 x its size. What passes the limit is refused with
      :class:`CheckpointError` before it is allocated: a broadcast tensor (stride 0) over a
      tiny storage, thousands of views of one storage, a compressed record that inflates.
    * The pickle: unpickled by a Python unpickler whose memo is a dict (a huge memo index costs
      one entry) and which builds containers without recursion, so memory is proportional to
      the pickle's length; a compressed ``data.pkl`` may not expand past the file's size +
      1 MiB. Nesting depth is unbounded (torch loads 200,000 nested lists too) and never raises
      ``RecursionError``. Dict keys and set elements may hold at most 256 values (nested
      tuples/frozensets), since Python hashes nested tuples recursively and crashes on deep
      ones.
    * Every failure to read the file (a truncated or corrupt zip, a bad CRC, an encrypted or
      unknown-compression record, a file object opened in text mode, a broken pickle) is a
      :class:`CheckpointError`; it and :class:`UnsafeCheckpointError` always name the file.

Saving:
    To a path, a save is atomic (a temporary file beside the target, fsync-ed, renamed over it,
    the folder fsync-ed): a crash mid-save leaves the old file intact, and the next save of the
    same target removes the temporary files that killed saves left (see
    ``jnn/serialization/_atomic.py`` for the naming scheme; only files of processes that have
    ended are removed). As with torch's in-place write, an existing file keeps its permission
    bits (and its group and owner where the OS allows), a symlink is written through (the link
    stays a link), and a non-regular file such as ``/dev/null`` is written into.

Differences from PyTorch:
    Loaded tensors are ``jax.Array`` (``numpy.ndarray`` with ``as_numpy=True``); tensors saved as
    ``Parameter`` load as ``jnn.Parameter`` (plain arrays with ``as_numpy=True``). Every loaded
    tensor owns its data: two tensors that were views of one storage load as two arrays (equal
    values, no shared memory -- JAX arrays are immutable anyway), and a broadcast (stride 0)
    tensor is materialised, within the memory bound above. A tensor used as a dict key or set
    element is refused (jax and numpy arrays are unhashable; torch's tensors hash by identity).
    With ``jax_enable_x64`` off, 64-bit tensors become 32-bit jax arrays (floats rounded), as
    with any ``jnp.asarray``, except that integers outside the 32-bit range and finite floats
    beyond float32's range raise :class:`CheckpointError` instead of wrapping or becoming
    ``inf``; ``as_numpy=True`` keeps every dtype exactly. ``map_location`` only picks the jax
    device. Saving replaces the file rather than rewriting it in place, so other hard links to
    it keep the old data, and the folder must be writable; a file without write permission is
    refused, as torch refuses it.
"""
from __future__ import annotations

import gc
import io
import os
import pickle
import zipfile
from typing import TYPE_CHECKING, Any, BinaryIO

from ..parameter import Parameter
from ._arrays import Finisher, MemoryBudget, materialize, render_path, resolve_device, to_jax
from ._atomic import atomic_write
from ._errors import (
    CheckpointError,
    UnsafeCheckpointError,
    describe_file,
    naming_file,
    short_message,
)
from ._legacy_format import read_legacy
from ._pickler import pickle_checkpoint
from ._safetensors_format import load_safetensors, save_safetensors
from ._zip_format import archive_name, read_zip, write_zip

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "CheckpointError",
           "UnsafeCheckpointError"]

FileLike = str | os.PathLike | BinaryIO

if TYPE_CHECKING:  # (annotations only: typing_extensions is not a run-time dependency)
    from typing_extensions import TypeIs


def _is_path(f: Any) -> TypeIs[str | bytes | os.PathLike]:
    return isinstance(f, (str, bytes, os.PathLike))


def save(obj: Any, f: FileLike, pickle_protocol: int = 2) -> None:
    """Save ``obj`` in PyTorch's checkpoint format (``torch.save``).

    The file loads with ``torch.load(f, weights_only=True)`` and with :func:`jnn.load`.
    Arrays (``jax.Array``, ``numpy.ndarray``) become tensors with the same dtype and shape
    (numpy scalars such as ``np.float64(0.5)`` become 0-d tensors); ``jnn.Parameter`` becomes
    ``torch.nn.Parameter``; dicts, ``OrderedDict`` (with torch's ``_metadata`` attribute),
    lists, tuples, sets, numbers, strings, bytes and ``None`` are kept. One array object saved
    twice (tied weights) is stored once and loads as one tensor. When ``f`` is a path the write
    is atomic: data goes to a temporary file in the same folder, is fsync-ed, then renamed over
    ``f``, so a crash mid-save leaves any old file intact (and the next save removes the
    crashed save's temporary file). An existing file keeps its permissions; a symlink is
    written through.

    Args:
        obj: the object to save, typically ``model.state_dict()`` or
            ``{"model": ..., "optimizer": ..., "epoch": ...}``.
        f: a path (``str``/``os.PathLike``) or a binary file object open for writing.
        pickle_protocol: pickle protocol of ``data.pkl``. Keep 2 (torch's default): torch's
            weights-only loader only understands protocol 2's opcodes. :func:`load` reads any.

    Returns:
        None.

    Raises:
        TypeError: ``obj`` holds something a weights-only checkpoint cannot hold (a module, a
            function, an arbitrary class, a dtype PyTorch lacks); the message names its path.
            Or ``f`` is neither a path nor a binary file object.
        ValueError: ``f`` is an empty path, or ``obj`` is nested too deeply to pickle.
        OSError: the file cannot be written; the message names ``f`` (never the temporary
            file) or the missing folder.

    Example:
        >>> import tempfile, torch
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = f"{tmp.name}/ckpt.pt"
        >>> nn.save(nn.Linear(2, 3).state_dict(), path)
        >>> torch.nn.Linear(2, 3).load_state_dict(torch.load(path, weights_only=True))
        <All keys matched successfully>
        >>> tmp.cleanup()
    """
    if not isinstance(pickle_protocol, int) or not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"save: pickle_protocol must be an int in [2, "
                         f"{pickle.HIGHEST_PROTOCOL}], got {pickle_protocol!r}")
    if _is_path(f):
        if not os.fsdecode(f):
            raise ValueError("save: f is an empty path; pass a file name such as 'ckpt.pt'")
    elif not hasattr(f, "write"):
        raise TypeError(f"save: f must be a path or a binary file object, got "
                        f"{type(f).__name__}")
    elif isinstance(f, io.TextIOBase):
        raise TypeError("save: f is open in text mode; open it with open(path, 'wb')")
    pickled, storages = pickle_checkpoint(obj, pickle_protocol)
    prefix = archive_name(f)

    def write(fobj: BinaryIO) -> None:
        write_zip(fobj, prefix, pickled, storages)

    if _is_path(f):
        atomic_write(f, write)
    else:
        write(f)
        if hasattr(f, "flush"):
            f.flush()


def load(f: FileLike, map_location: Any = None, weights_only: bool | None = True, *,
         as_numpy: bool = False, mmap: bool | None = None, max_bytes: int | None = None) -> Any:
    """Load a checkpoint written by ``torch.save`` or :func:`jnn.save` (``torch.load``).

    Reads PyTorch's zip format and its legacy (``_use_new_zipfile_serialization=False``)
    format without importing torch. Tensors become ``jax.Array`` (or ``numpy.ndarray`` with
    ``as_numpy=True``) with the same dtype, shape and values, honouring storage offsets and
    strides (views, transposes, shared storages); ``torch.nn.Parameter`` becomes
    ``jnn.Parameter``; containers, numbers and strings come back as saved, including a
    state_dict's ``_metadata`` attribute.

    Loading is weights-only, always: the unpickler resolves only an allowlist of tensor rebuild
    functions, storage/dtype names, ``OrderedDict`` and plain containers, each to jnn's own
    stand-in. Anything else is refused with :class:`UnsafeCheckpointError` before it runs.
    Memory is bounded by the file's size (see the module docstring).

    Args:
        f: a path or a binary file object open for reading.
        map_location: where arrays go: ``None`` (jax's default device), ``'cpu'``,
            ``'cuda'``/``'cuda:1'``, a ``jax.Device``, or a dict from the saved location tag
            (``'cuda:0'``) to one of those. Ignored with ``as_numpy=True``.
        weights_only: must be ``True`` (or ``None``). ``False`` -- unpickling arbitrary
            objects -- is not supported.
        as_numpy: return ``numpy.ndarray`` instead of jax arrays (every dtype kept exactly,
            including 64-bit ones when ``jax_enable_x64`` is off).
        mmap: accepted for ``torch.load`` compatibility; the data is always read into memory.
        max_bytes: the most bytes of tensor data (storages read plus arrays built) this load
            may allocate. ``None``: 8 x the file's size + 64 MiB. Raise it to load a file you
            trust whose tensors are large broadcasts or overlapping views of small storages.

    Returns:
        The saved object with tensors replaced by arrays.

    Raises:
        FileNotFoundError: ``f`` does not exist.
        CheckpointError: (a ``RuntimeError``) the file is corrupt, truncated or not a PyTorch
            checkpoint, it would take more memory than allowed, or (with ``jax_enable_x64``
            off) an integer tensor holds values 32 bits cannot; the message names the file.
        UnsafeCheckpointError: (a ``pickle.UnpicklingError``) the file references a callable or
            class outside the allowlist; the message names it and the file.

    Example:
        >>> import tempfile, torch
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = f"{tmp.name}/linear.pth"
        >>> torch.save(torch.nn.Linear(2, 3).state_dict(), path)
        >>> sd = nn.load(path)                       # torch is not needed to read it
        >>> {k: v.shape for k, v in sd.items()}
        {'weight': (3, 2), 'bias': (3,)}
        >>> nn.Linear(2, 3).load_state_dict(sd)
        <All keys matched successfully>
        >>> tmp.cleanup()
    """
    if weights_only is False:
        raise ValueError(
            "load: weights_only=False is not supported. jnn never unpickles arbitrary objects "
            "(that would run code from the file and needs torch's own classes); checkpoints "
            "must hold tensors, containers, numbers and strings. If the file holds a whole "
            "pickled model, load it with torch and save its state_dict() instead.")
    if weights_only not in (True, None):
        raise TypeError(f"load: weights_only must be a bool, got {weights_only!r}")
    if max_bytes is not None and (type(max_bytes) is not int or max_bytes < 0):
        raise ValueError(f"load: max_bytes must be None or an int >= 0, got {max_bytes!r}")
    if not as_numpy and map_location is not None:  # validate early
        for target in (map_location.values() if isinstance(map_location, dict)
                       else (map_location,)):
            resolve_device(target)
    source = describe_file(f)
    options = (as_numpy, map_location, max_bytes)
    if _is_path(f):
        path = os.fsdecode(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load: no such file: {path!r}")
        with open(path, "rb") as fh:
            return _load_file(fh, source, *options)
    if not hasattr(f, "read"):
        raise TypeError(f"load: f must be a path or a binary file object, got "
                        f"{type(f).__name__}")
    return _load_file(f, source, *options)


def _load_file(fh: BinaryIO, source: str, as_numpy: bool, map_location: Any,
               max_bytes: int | None) -> Any:
    # The cyclic GC is paused while the loader builds objects: a file can hold 10^5 nested
    # containers, and every collection would walk all of them again (3x slower).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        obj, little_endian, budget = _read(fh, max_bytes)
        return _finish(obj, little_endian, budget, as_numpy, map_location)
    except (CheckpointError, UnsafeCheckpointError) as e:
        # naming_file sets the cause itself (the original error's cause, context suppressed).
        raise naming_file(e, source)  # noqa: B904
    finally:
        if gc_was_enabled:
            gc.enable()


def _read(fh: BinaryIO, max_bytes: int | None) -> tuple[Any, bool, MemoryBudget]:
    """Unpickle the file (either format): (object with TensorRefs, little-endian, budget).

    Every failure of the file, the zip reader or the unpickler becomes a CheckpointError
    (MemoryError stays itself: it is not the file's fault once the budget has passed it).
    """
    try:
        return _read_formats(fh, max_bytes)
    except (CheckpointError, UnsafeCheckpointError, MemoryError):
        raise
    except Exception as e:
        raise CheckpointError(f"corrupt or truncated checkpoint ({short_message(e)})") from e


_TEXT_MODE = "the file object is open in text mode; open the file with open(path, 'rb')"


def _read_formats(fh: BinaryIO, max_bytes: int | None) -> tuple[Any, bool, MemoryBudget]:
    if isinstance(fh, io.TextIOBase):
        raise CheckpointError(_TEXT_MODE)
    if not getattr(fh, "seekable", lambda: False)():
        data = fh.read()
        if isinstance(data, str):
            raise CheckpointError(_TEXT_MODE)
        fh = io.BytesIO(data)
    start = fh.tell()
    size = fh.seek(0, io.SEEK_END) - start
    fh.seek(start)
    head = fh.read(512)
    fh.seek(start)
    if isinstance(head, str):
        raise CheckpointError(_TEXT_MODE)
    if not head:
        raise CheckpointError("file is empty")
    budget = MemoryBudget(size, max_bytes)
    if head[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(fh) as zf:
            obj, little_endian = read_zip(zf, size, budget)
    elif head[:1] == pickle.PROTO:
        obj, little_endian = read_legacy(fh.read(), budget)
    elif len(head) >= 262 and head[257:262] == b"ustar":
        raise CheckpointError("PyTorch's tar checkpoint format (before 0.4) is not supported; "
                              "re-save the file with a recent torch")
    else:
        raise CheckpointError(f"not a PyTorch checkpoint (unknown file header {head[:8]!r})")
    return obj, little_endian, budget


def _finish(obj: Any, little_endian: bool, budget: MemoryBudget, as_numpy: bool,
            map_location: Any) -> Any:
    """Replace the TensorRefs in ``obj`` with arrays (and refuse any other loader object)."""
    swapped: dict = {}

    def tensor(ref, path) -> Any:
        arr = materialize(ref, little_endian, budget, swapped)
        if as_numpy:
            return arr if arr.flags.writeable else arr.copy()  # a view of the file's bytes
        loc = map_location.get(ref.storage.location) if isinstance(map_location, dict) \
            else map_location
        return to_jax(arr, resolve_device(loc), f"the tensor at {render_path(path)}")

    def parameter(value: Any, requires_grad: bool) -> Any:
        return value if as_numpy else Parameter(value, requires_grad=requires_grad)

    return Finisher(tensor, parameter)(obj)
