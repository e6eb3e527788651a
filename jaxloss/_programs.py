"""Compiled programs kept between runs of ``jaxloss verify`` (its ``--cache`` folder).

Most of a second run with JAX's persistent compilation cache was spent tracing and
lowering each program again, only to compute the key under which JAX finds it. A
catalogue entry's check programs are determined by things that can be named without
tracing: the library's source, the versions of Python, NumPy, ml_dtypes, jax and
jaxlib, JAX's configuration, the backend, its devices and the host CPU, ``XLA_FLAGS``
(together, the fingerprint: one folder each), and the entry, its checks and seed, the
part, its precision, compile mode and argument shapes (the key: one file each). A kept
program is loaded only when all of these are the same, and it runs on this run's
arguments: what a kept program skips is tracing, lowering and compiling, never a check.
The entry's seeded sample, drawn op by op, is kept beside its programs.

An executable that JAX loaded from its own persistent cache does not serialise whole on
XLA:CPU (jaxlib 0.10.2: the reloaded copy fails with ``Function ... not found``), so a
program is kept only when this process compiled it: the programs kept here never go
into JAX's cache (which ``jaxloss verify`` turns on for the op-by-op runs), and a
compilation that JAX answered from a cache the user set up is not kept. A kept program
that fails to load or to run is compiled again.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import pickle
import platform
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

_FOLDER: Path | None = None
_KEEP_FINGERPRINTS = 4  # the folders of older fingerprints beyond these are removed
_SUFFIX = ".program"


def keep_in(directory: str | os.PathLike[str] | None) -> None:
    """Keeps the compiled programs of ``check_entry`` in ``directory`` (``None``: keeps
    nothing, the default)."""
    global _FOLDER
    _FOLDER = None if directory is None else Path(directory)
    if _FOLDER is not None:
        _listen_for_cache_hits()


_hits = 0


def _count_hits(event: str, **kwargs: Any) -> None:
    global _hits
    if event == "/jax/compilation_cache/cache_hits":
        _hits += 1


@functools.cache
def _listen_for_cache_hits() -> None:
    jax.monitoring.register_event_listener(_count_hits)


@functools.cache
def fingerprint() -> str:
    """What every kept program depends on besides its own key (a hex digest)."""
    import jaxlib
    import ml_dtypes

    h = hashlib.sha256()
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    devices = jax.devices()
    settings = sorted((k, repr(v)) for k, v in jax.config.values.items() if "cache" not in k)
    facts = (sys.version, np.__version__, ml_dtypes.__version__, jax.__version__,
             jaxlib.__version__, devices[0].client.platform,
             devices[0].client.platform_version, [d.device_kind for d in devices],
             os.environ.get("XLA_FLAGS", ""), settings, _host_cpu())  # fmt: skip
    h.update(repr(facts).encode())
    return h.hexdigest()[:32]


def _host_cpu() -> str:
    # An XLA:CPU program is compiled for this CPU's instruction set: a cache folder shared
    # between machines (a home directory on a cluster) must not hand it to another CPU.
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    wanted = ("model name", "flags", "Features", "CPU part")
    return "\n".join(sorted({ln for ln in lines if ln.split(":")[0].strip() in wanted}))


def key(what: tuple[Any, ...], inputs: Any) -> str | None:
    """The file name of a program (``what`` names it: entry, checks, seed, part, mode,
    precision) for arguments shaped like ``inputs``; ``None`` when nothing is kept."""
    if _FOLDER is None:
        return None
    shapes = jax.tree.map(lambda a: (np.shape(a), np.result_type(a).str), inputs)
    return _digest((what, str(jax.tree.structure(inputs)), shapes))


def _digest(described: Any) -> str:
    return hashlib.sha256(repr(described).encode()).hexdigest()[:40]


def _path(name: str, suffix: str = _SUFFIX) -> Path:
    """Where the kept file ``name`` lives: the folder of this fingerprint."""
    assert _FOLDER is not None
    return _FOLDER / fingerprint() / f"{name}{suffix}"


def _write(path: Path, write: Callable[[Any], None]) -> None:
    """``write(file)`` into ``path``, atomically: another process never reads half a file.
    The first file of a new fingerprint removes the folders of older ones."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            _forget_old_fingerprints(path.parent)
        except OSError:  # another process is removing them too
            pass
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        write(f)
    tmp.replace(path)


def load(program: str | None) -> Any:
    """The kept program (a ``jax.stages.Compiled``), or ``None``."""
    if program is None:
        return None
    from jax.experimental import serialize_executable

    try:
        blob = _path(program).read_bytes()
    except OSError:
        return None
    try:
        serialized, in_tree, out_tree, ids = pickle.loads(zlib.decompress(blob))
        devices = {d.id: d for d in jax.devices()}
        return serialize_executable.deserialize_and_load(
            serialized, in_tree, out_tree, execution_devices=[devices[i] for i in ids]
        )
    except Exception:  # partly written or unreadable: compiled again
        return None


def compile_and_keep(lowered: Any, options: dict[str, Any] | None, program: str | None) -> Any:
    """``lowered.compile(options)``, kept under ``program`` when this process compiled it."""
    if program is None:
        return lowered.compile(options)
    hits = _hits
    # JAX's persistent cache (which `jaxloss verify` turns on for the op-by-op runs) stores
    # only what took at least this long to compile: so never a program kept here, which
    # a later run would otherwise get from it, unkeepable.
    setting = "jax_persistent_cache_min_compile_time_secs"
    before = getattr(jax.config, setting)
    jax.config.update(setting, math.inf)
    try:
        compiled = lowered.compile(options)
    finally:
        jax.config.update(setting, before)
    if _hits == hits:
        _save(program, compiled)
    return compiled


def _save(program: str, compiled: Any) -> None:
    from jax.experimental import serialize_executable

    try:
        ids = [d.id for d in compiled.runtime_executable().local_devices()]
        blob = zlib.compress(pickle.dumps((*serialize_executable.serialize(compiled), ids)), 1)
        _write(_path(program), lambda f: f.write(blob))
    except Exception:  # a program that cannot be kept is compiled again next time
        pass


def kept_arrays(what: tuple[Any, ...], make: Callable[[], tuple[np.ndarray, ...]]
                ) -> tuple[np.ndarray, ...]:  # fmt: skip
    """``make()``, NumPy arrays determined by ``what`` and the fingerprint (a catalogue
    entry's seeded sample), kept beside the programs: drawing it runs JAX op by op, and
    each operation compiles once per process."""
    if _FOLDER is None:
        return make()
    path = _path(_digest(what), ".npz")
    try:
        with np.load(path) as f:
            return tuple(f[f"a{i}"] for i in range(len(f.files)))
    except Exception:  # absent or unreadable: drawn again
        pass
    arrays = tuple(np.asarray(a) for a in make())
    try:
        _write(path, lambda f: np.savez(f, **{f"a{i}": a for i, a in enumerate(arrays)}))
    except Exception:  # kept next time
        pass
    return arrays


def _forget_old_fingerprints(current: Path) -> None:
    folders = sorted((d for d in current.parent.iterdir() if d.is_dir() and d != current),
                     key=lambda d: d.stat().st_mtime, reverse=True)  # fmt: skip
    for old in folders[_KEEP_FINGERPRINTS - 1 :]:
        for f in old.iterdir():
            f.unlink(missing_ok=True)
        old.rmdir()
