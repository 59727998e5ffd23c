"""Resumable checkpoints: safetensors + JSON, committed atomically, no pickle.

A checkpoint is ``OUTPUT/checkpoints/step-NNNNNNNN/`` holding

* ``adapter_model.safetensors`` - the LoRA weights (peft state-dict names);
* ``optimizer.safetensors`` - AdamW moments per parameter index;
* ``state.json`` - optimizer hyper-parameters and step counters, the trainer state (epoch,
  position in the epoch's data order, losses so far, early-stopping counters, timings) and
  the sha256 of the adapter and optimizer files, verified when the checkpoint is loaded;
* ``rng-rank<R>.safetensors`` / ``rng-rank<R>.json`` - every process's torch / python /
  numpy RNG states.

It is written into ``step-NNNNNNNN.tmp/`` and renamed into place after every file is
fsynced, so a run killed mid-write leaves only a ``.tmp`` directory, which resuming
ignores and removes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import re
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ba_io import DataError, UsageError, check_pinned_folder, named_write_error, rename_noreplace, sha256_file

__all__ = [
    "CHECKPOINTS",
    "save_checkpoint",
    "load_checkpoint",
    "latest_checkpoint",
    "list_checkpoints",
    "damaged_checkpoints",
    "check_own_folder",
    "capture_rng",
    "restore_rng",
    "optimizer_to_files",
    "optimizer_from_files",
]

CHECKPOINTS = "checkpoints"
CHECKSUMMED = ("adapter_model.safetensors", "optimizer.safetensors")  # verified on resume (state.json sha256)
_STEP = re.compile(r"^step-(\d{8})\Z")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse directory fsync
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _own_folder(path: Path, shown: Path | None = None) -> Iterator[tuple[Path, tuple[int, int]]]:
    """The folder ``path`` (a checkpoint's tmp folder) opened once, never through a link;
    yields the name to write its files by, through the open folder (``/proc/self/fd/N``)
    where the system has one, so a link or another folder put at ``path`` meanwhile is never
    written into (campaign 40: `step-N.tmp` swapped for a link to a folder of the user's
    mid-save had its adapter replaced), and the folder's identity (device, inode)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        if e.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        raise UsageError(_PUT_THERE.format(path=shown or path, what="a symbolic link or a file")) from None
    try:
        st = os.fstat(fd)
        through = Path(f"/proc/self/fd/{fd}")
        yield (through if through.is_dir() else path), (st.st_dev, st.st_ino)
    finally:
        os.close(fd)


def _make_in_place(at: Path, name: str, shown: Path) -> tuple[int, int]:
    """Make the empty folder ``at/name`` and return its identity: made under a private name
    first, opened there, and renamed to ``name`` only where nothing is (campaign 43: an
    empty folder of the user's moved onto `step-N.tmp` right after a ``mkdir`` by that name
    could not be told from the one made; it was written into, renamed to `step-N` and later
    removed). Anything put at ``name`` meanwhile is refused and kept."""
    private = _new_private_folder(at, name)
    try:
        with _own_folder(private, shown) as (_, ident):
            placed = rename_noreplace(private, at / name)
            if placed is None and not os.path.lexists(at / name):  # no renameat2 here
                os.rename(private, at / name)
                placed = True
    except BaseException:
        with contextlib.suppress(OSError):
            os.rmdir(private)
        raise
    if not placed:
        with contextlib.suppress(OSError):
            os.rmdir(private)
        raise UsageError(_PUT_THERE.format(path=shown, what="a folder or file"))
    return ident


def _new_private_folder(at: Path, name: str) -> Path:
    """A new folder ``at/NAME.RANDOM.new``, made with the modes a plain ``mkdir`` gives under
    the umask (``tempfile.mkdtemp`` makes it 0700: checkpoints unreadable by the group)."""
    while True:
        private = at / f"{name}.{secrets.token_hex(4)}.new"
        try:
            private.mkdir()
        except FileExistsError:
            continue
        return private


#: the private name a checkpoint's tmp folder is made under (`step-N.tmp.RANDOM.new`) until it
#: is renamed into place; a kill in between leaves it empty, and the next save removes it
UNPLACED = re.compile(r"^step-\d{8}\.tmp\.[a-z0-9_]{8}\.new\Z")


def _sweep_unplaced(at: Path) -> None:
    """Remove what a save killed between making its tmp folder and placing it left: an empty
    folder at a private name (``os.rmdir``: one holding anything stays)."""
    for p in at.iterdir():
        if UNPLACED.match(p.name) and not p.is_symlink():
            with contextlib.suppress(OSError):
                os.rmdir(p)


def _check_still_there(path: Path, ident: tuple[int, int], shown: Path | None = None) -> None:
    """``path`` still names the folder :func:`_own_folder` opened (it is renamed next)."""
    try:
        st = os.lstat(path)
        same = not os.path.islink(path) and (st.st_dev, st.st_ino) == ident
    except OSError:
        same = False
    if not same:
        raise UsageError(_PUT_THERE.format(path=shown or path, what="not the folder this save made (moved, or a link)"))


_PUT_THERE = (
    "{path}: is {what}, put there during the run, where a checkpoint is saved; it was kept and nothing "
    "was written through it: move it away, then run again with --resume"
)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")


def list_checkpoints(root: Path, *, opened: bool = False) -> list[Path]:
    """Complete checkpoints under ``root`` (``OUTPUT/checkpoints``), oldest first; none
    through a link (campaign 34: the rotation removed another run's checkpoints in the
    folder a link put at OUTPUT/checkpoints pointed at). ``opened``: ``root`` is the folder
    a save holds open (``/proc/self/fd/N``, a link to it by design)."""
    if (root.is_symlink() and not opened) or not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p)
        for p in root.iterdir()
        if (m := _STEP.match(p.name)) and not p.is_symlink() and (p / "state.json").is_file()
    ]
    return [p for _, p in sorted(found)]


def damaged_checkpoints(root: Path) -> list[Path]:
    """``step-N`` directories without ``state.json`` (oldest first). A checkpoint is renamed into
    place only after all its files are written, so these were damaged after the fact."""
    if not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p) for p in root.iterdir() if (m := _STEP.match(p.name)) and not (p / "state.json").is_file()
    ]
    return [p for _, p in sorted(found)]


def latest_checkpoint(root: Path) -> Path | None:
    found = list_checkpoints(root)
    return found[-1] if found else None


# ---------------------------------------------------------------- RNG state
def capture_rng() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda.{i}"] = s
    version, state, gauss = random.getstate()
    meta: dict[str, Any] = {"python": [version, list(state), gauss]}
    try:
        import numpy as np

        name, keys, pos, has_gauss, cached = np.random.get_state()
        meta["numpy"] = [name, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)]
    except ImportError:  # pragma: no cover
        pass
    return tensors, meta


def restore_rng(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    version, state, gauss = meta["python"]
    random.setstate((version, tuple(state), gauss))
    if "numpy" in meta:
        import numpy as np

        name, keys, pos, has_gauss, cached = meta["numpy"]
        np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


# ---------------------------------------------------------------- optimizer
def optimizer_to_files(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state dict into tensors (safetensors) and JSON."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for idx, st in sd["state"].items():
        for key, value in st.items():
            if torch.is_tensor(value):
                tensors[f"state.{idx}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    groups = []
    for g in sd["param_groups"]:
        groups.append({k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()})
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_from_files(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, idx, key = name.split(".", 2)
        state.setdefault(int(idx), {})[key] = value
    for name, value in meta.get("scalars", {}).items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    groups = []
    for g in meta["param_groups"]:
        g = dict(g)
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    return {"state": state, "param_groups": groups}


# ---------------------------------------------------------------- save / load
def save_checkpoint(
    root: Path,
    step: int,
    *,
    adapter: dict[str, torch.Tensor] | None,
    optimizer: torch.optim.Optimizer | None,
    state: dict[str, Any] | None,
    rank: int = 0,
    keep: int = 2,
    barrier: Callable[[], None] = lambda: None,
) -> Path:
    """Write checkpoint ``step`` atomically (every process calls this; rank 0 writes the
    shared files, each rank its RNG state) and keep the newest ``keep`` checkpoints."""
    final = root / f"step-{step:08d}"
    try:
        if rank == 0:
            check_own_folder(root)  # campaign 34: a link put at OUT/checkpoints was saved into
            root.mkdir(parents=True, exist_ok=True)
        barrier()
        # campaign 41: a link put at OUT/checkpoints just after its check had the save made inside
        # the folder it led to, an earlier run's checkpoint removed: every step below goes through
        # the folder opened here, never through its name
        with _own_folder(root) as (at, _):
            _save_in(at, root, step, adapter, optimizer, state, rank, keep, barrier)
        barrier()
    except Exception as e:  # campaign 24: a full disk was an internal SafetensorError (exit 1), no path
        named = named_write_error(e, final, root / f"{final.name}.tmp")
        if named is not None:
            raise named from e
        raise
    return final


def _save_in(  # noqa: PLR0913 - save_checkpoint's arguments, and the open checkpoints folder
    at: Path,
    root: Path,
    step: int,
    adapter: dict[str, torch.Tensor] | None,
    optimizer: torch.optim.Optimizer | None,
    state: dict[str, Any] | None,
    rank: int,
    keep: int,
    barrier: Callable[[], None],
) -> None:
    """Write checkpoint ``step`` in the checkpoints folder opened at ``at`` (``root`` is its
    name the user sees, for the checks and the messages)."""
    final, tmp = root / f"step-{step:08d}", root / f"step-{step:08d}.tmp"
    at_tmp, at_final = at / tmp.name, at / final.name
    made = None
    if rank == 0:
        check_own_folder(final)
        check_own_folder(tmp)
        if at_tmp.exists():  # a killed save's: its own files go, a file of the user's stays
            _remove_own_files(at_tmp, partial=True)
        _sweep_unplaced(at)
        if not at_tmp.exists():
            made = _make_in_place(at, tmp.name, shown=tmp)
    barrier()
    with _own_folder(at_tmp, shown=tmp) as (here, ident):  # campaign 40: through the folder made
        if made is not None and ident != made:
            raise UsageError(_PUT_THERE.format(path=tmp, what="not the folder this save made (moved, or a link)"))
        rng_t, rng_meta = capture_rng()
        save_file(rng_t, str(here / f"rng-rank{rank}.safetensors"))
        _write_json(here / f"rng-rank{rank}.json", rng_meta)
        if rank == 0:
            assert adapter is not None and optimizer is not None and state is not None
            save_file(
                {k: v.detach().to("cpu").contiguous() for k, v in adapter.items()},
                str(here / "adapter_model.safetensors"),
            )
            opt_t, opt_meta = optimizer_to_files(optimizer)
            save_file(opt_t, str(here / "optimizer.safetensors"))
            sums = {name: sha256_file(here / name) for name in CHECKSUMMED}
            _write_json(here / "state.json", {"step": step, "optimizer": opt_meta, "trainer": state, "sha256": sums})
        barrier()
        if rank == 0:
            for f in here.iterdir():
                _fsync(f)
            _fsync(here)
            _check_still_there(at_tmp, ident, shown=tmp)
    if rank == 0:
        check_own_folder(final)
        if at_final.exists() and not at_final.is_symlink():
            _remove_checkpoint(at_final)
        if os.path.lexists(at_final):  # it held a file of the user's: the checkpoint joins it, state.json last
            _move_into(at_tmp, at_final, shown=final)
        else:
            os.replace(at_tmp, at_final)
        _fsync(at)
        for old in list_checkpoints(at, opened=at != root)[:-keep]:
            _remove_checkpoint(old)


#: the files a checkpoint folder holds (what save_checkpoint writes); the trainer's check of
#: an output folder uses the same rule
CHECKPOINT_FILES = re.compile(
    r"^(adapter_model\.safetensors|optimizer\.safetensors|state\.json|rng-rank\d+\.(safetensors|json))\Z"
)


#: the tmp file safetensors' ``save_file`` writes before its rename (Rust ``tempfile``: ``.tmp``
#: and 6 letters or digits), which a kill inside a save leaves in ``step-N.tmp/``
SAFETENSORS_TMP = re.compile(r"^\.tmp[A-Za-z0-9]{6}\Z")


def _remove_checkpoint(folder: Path) -> None:
    """Remove an older checkpoint's own files, then its folder if nothing else is left: a
    note of the user's put inside is kept (campaign 31: it was deleted with the folder)."""
    _remove_own_files(folder)


#: what a run stopped at its re-pointed output tells the user (``ba_io.check_pinned_folder``)
REPOINTED = "point it back, then run again with --resume"


def check_output_unmoved(path: Path) -> None:
    """``path`` lies in the run's output folder, pinned by ``ba_io.pin_folder`` when the run
    began, which still leads where it led then (campaign 39)."""
    check_pinned_folder(path, REPOINTED)


def check_own_folder(path: Path) -> None:
    """A checkpoint's name holds nothing or a real folder; a symbolic link or a file put
    there during the run is the user's, kept, and the save refused (campaign 33: a link put
    at ``checkpoints/step-N`` mid-run was followed, and the checkpoint files in the folder
    it pointed at were replaced and then removed). The run's output folder must still lead
    where it did (:func:`check_output_unmoved`)."""
    check_output_unmoved(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        what = "a symbolic link" if path.is_symlink() else "a file"
        raise UsageError(
            f"{path}: is {what} put there during the run, where a checkpoint goes; it was kept and the run "
            "stopped: move it away, then run again with --resume"
        )


def _remove_own_files(folder: Path, partial: bool = False) -> list[str]:
    """Remove a checkpoint folder's own files (in a ``partial`` one, ``step-N.tmp/``, also
    safetensors' tmp files), then the folder if nothing else is left; return what is left
    (campaign 32: a save over a folder holding a note of the user's removed it whole)."""
    try:  # opened once, never through a link (campaign 42: a link put there after a check by
        # name had the folder it led to emptied): the files go through the folder opened
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:  # a link, a file, or gone: not ours
        return [folder.name]
    try:
        left = []
        for f in Path(f"/proc/self/fd/{fd}").iterdir():
            own = CHECKPOINT_FILES.match(f.name) or (partial and SAFETENSORS_TMP.match(f.name))
            if own and f.is_file() and not f.is_symlink():
                f.unlink(missing_ok=True)
            else:
                left.append(f.name)
        with contextlib.suppress(OSError):
            if os.path.samestat(os.lstat(folder), os.fstat(fd)):
                folder.rmdir()
    finally:
        os.close(fd)
    return sorted(left)


def _move_into(tmp: Path, final: Path, shown: Path | None = None) -> None:
    """Move a written checkpoint's files from ``tmp`` into the existing ``final`` (which holds
    only files of the user's), ``state.json`` last: a kill midway leaves a checkpoint without
    it, which ``--resume`` names as damaged. ``final`` is opened once, never through a link
    (campaign 41: a link put there after its check had the files moved into the folder it
    led to, a user's adapter replaced)."""
    with _own_folder(final, shown=shown or final) as (into, _):
        names = sorted(f.name for f in tmp.iterdir())
        for name in [n for n in names if n != "state.json"] + ["state.json"]:
            os.replace(tmp / name, into / name)
        tmp.rmdir()
        kept = ", ".join(p.name for p in into.iterdir() if not CHECKPOINT_FILES.match(p.name))
    print(f"warning: kept {kept} in {shown or final}: not ba-lora's", file=sys.stderr)


def load_checkpoint(path: Path, rank: int = 0) -> dict[str, Any]:
    """Read a checkpoint: ``adapter``, ``optimizer`` (a state dict), ``trainer``, ``rng``."""
    try:
        meta = json.loads((path / "state.json").read_text(encoding="utf-8"))
        for name, want in (meta.get("sha256") or {}).items():
            if sha256_file(path / name) != want:
                raise DataError(
                    path / name,
                    None,
                    "checksum mismatch: the file changed after the checkpoint was "
                    "written; delete this checkpoint to resume from an older one, "
                    "or train again with --overwrite",
                )
        adapter = load_file(str(path / "adapter_model.safetensors"))
        opt_t = load_file(str(path / "optimizer.safetensors"))
        rng_file = path / f"rng-rank{rank}.safetensors"
        rng = None
        if rng_file.is_file():
            rng = (load_file(str(rng_file)), json.loads((path / f"rng-rank{rank}.json").read_text(encoding="utf-8")))
    except DataError:
        raise
    except (OSError, ValueError, KeyError, SafetensorError) as exc:
        raise DataError(
            path,
            None,
            f"unreadable checkpoint ({' '.join(str(exc).split())[:200]}); delete it to "
            "resume from an older one, or train again with --overwrite",
        ) from None
    return {
        "step": meta["step"],
        "adapter": adapter,
        "optimizer": optimizer_from_files(opt_t, meta["optimizer"]),
        "trainer": meta["trainer"],
        "rng": rng,
    }


def remove_partial(root: Path) -> None:
    """Delete the ``*.tmp`` checkpoint directories a killed run left, but for what the user
    put there (kept, and said on stderr)."""
    if root.is_dir():
        for p in root.iterdir():
            if p.name.endswith(".tmp") and p.is_dir() and not p.is_symlink():
                left = _remove_own_files(p, partial=True)
                if left:
                    print(f"warning: kept {', '.join(left[:3])} in {p}: not ba-lora's", file=sys.stderr)
