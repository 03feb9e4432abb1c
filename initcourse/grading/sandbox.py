"""Run a student's code in a separate Python process and call its functions from the
grader.

The grader (process B) never executes student code. It starts a fresh Python process (A,
``python -m initcourse.grading.sandbox``), sends it the code extracted from the
submission, and then calls the student's functions *by name* through a pipe: the
arguments go to A, the return value comes back. Everything the grade depends on is
computed in B from those return values, by grading code that the student's code cannot
reach, let alone rebind.

Protocol: length-prefixed pickle frames on A's original stdin/stdout (A points its file
descriptors 0 and 1 at ``/dev/null`` first, so ``print`` and ``input`` in student code
cannot touch the channel). Frames from B to A are pickled with ``cloudpickle`` (B is
trusted; a checker may pass functions it defines, e.g. an activation and its
derivative). Frames from A to B are read with :class:`SafeUnpickler`, which only
rebuilds builtins, numpy arrays and scalars and :class:`Described` objects: a crafted
pickle cannot run code in the grader.

A records the course functions the student's code calls (see :data:`WATCHED_MODULES`),
so that the grader can refuse points for an exercise solved by calling the course's own
implementation.

This is isolation of the *grade*, not a security sandbox: student code runs with the
grader's user rights. Run untrusted batches in a container (Gradescope does).
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Described",
    "RemoteError",
    "RemoteFunction",
    "Sandbox",
    "SandboxDied",
    "SandboxTimeout",
    "SafeUnpickler",
    "WATCHED_MODULES",
]

#: Course modules whose functions (and classes) the sandbox watches: a call made while a
#: student's function runs is reported back to the grader.
WATCHED_MODULES = (
    "initcourse.initializers",
    "initcourse.theory",
    "initcourse.propagation",
    "initcourse.meanfield",
    "initcourse.lsuv",
    "initcourse.keras_initializers",
    "initcourse.training",
)

MAX_FRAME = 512 * 1024 * 1024  # bytes; a bigger return value is refused


# --------------------------------------------------------------------------------------
# Values that cross the pipe
# --------------------------------------------------------------------------------------
@dataclass
class Described:
    """A value that could not be pickled, described by its class name and its
    ``get_config()``.

    Keras initializers and the like arrive in the grader this way: ``class_name`` is
    e.g. ``"HeNormal"``; ``config`` the keyword arguments of its config (``scale``,
    ``mode``, ...). Attribute access reads the config, so duck-typed code (``getattr(x,
    "scale")``) works.
    """

    class_name: str
    config: dict = field(default_factory=dict)
    text: str = ""

    def __getattr__(self, name: str) -> Any:
        config = self.__dict__.get("config", {})
        if name in config:
            return config[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items() if k != "seed")
        return f"{self.class_name}({args})"


_SAFE_BUILTINS = {
    "complex",
    "set",
    "frozenset",
    "slice",
    "range",
    "bytearray",
    "bytes",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "tuple",
    "dict",
}
_SAFE_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("collections", "OrderedDict"),
    ("initcourse.grading.sandbox", "Described"),
    ("__main__", "Described"),
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickle only builtins, numpy arrays/scalars/dtypes and :class:`Described`
    values."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _SAFE_BUILTINS:
            return getattr(builtins, name)
        if (module, name) in _SAFE_GLOBALS:
            if name == "Described":
                return Described
            mod = __import__(module, fromlist=[name])
            return getattr(mod, name)
        raise pickle.UnpicklingError(f"refused to unpickle {module}.{name}")


def _encode(value: Any, depth: int = 0) -> Any:
    """Make ``value`` picklable with only safe globals (done in the sandbox)."""
    import numpy as np

    if depth > 20:
        return Described(type(value).__name__, {}, "<too deep>")
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return Described("ndarray[object]", {}, repr(value)[:200])
        return np.array(value)  # a plain ndarray (drops subclasses)
    if isinstance(value, np.generic):
        return value.item() if value.dtype != object else repr(value)
    if isinstance(value, dict):
        return {_encode(k, depth + 1): _encode(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        out = [_encode(v, depth + 1) for v in value]
        return tuple(out) if isinstance(value, tuple) else out
    config: dict = {}
    get_config = getattr(value, "get_config", None)
    if callable(get_config):
        try:
            raw = get_config()
            if isinstance(raw, dict):
                config = {str(k): _encode(v, depth + 1) for k, v in raw.items()}
        except Exception:  # noqa: BLE001 - a broken get_config is the student's problem
            config = {}
    if not config:  # duck-typed attributes the grader may read
        for attr in (
            "scale",
            "mode",
            "distribution",
            "gain",
            "value",
            "mean",
            "stddev",
            "minval",
            "maxval",
        ):
            try:
                v = getattr(value, attr)
            except Exception:  # noqa: BLE001
                continue
            if isinstance(v, (int, float, str, bool)) or v is None:
                config[attr] = v
    try:
        text = repr(value)[:200]
    except Exception:  # noqa: BLE001
        text = f"<{type(value).__name__}>"
    return Described(type(value).__name__, config, text)


# --------------------------------------------------------------------------------------
# Framing
# --------------------------------------------------------------------------------------
def _write_frame(stream: Any, payload: bytes) -> None:
    stream.write(struct.pack("<Q", len(payload)))
    stream.write(payload)
    stream.flush()


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxTimeout("time limit")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise SandboxTimeout("time limit")
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the sandbox process ended")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float | None = None) -> bytes:
    (n,) = struct.unpack("<Q", _read_exact(fd, 8, deadline))
    if n > MAX_FRAME:
        raise RemoteError(
            "ValueError", f"the return value is too large ({n} bytes)", ""
        )
    return _read_exact(fd, n, deadline)


# --------------------------------------------------------------------------------------
# The grader's side
# --------------------------------------------------------------------------------------
def _dumps_trusted(message: dict) -> bytes:
    """Pickle a request of the grader; functions a checker passes (e.g. an activation
    defined inside the checker) go by value with cloudpickle, when it is installed."""
    try:
        import cloudpickle
    except (
        ImportError
    ):  # pragma: no cover - then only module-level functions can be sent
        return pickle.dumps(message, protocol=4)
    return cloudpickle.dumps(message, protocol=4)


class SandboxTimeout(BaseException):
    """The student's code did not answer within the time limit (the sandbox was
    stopped).

    A ``BaseException``, like ``KeyboardInterrupt``: the checkers' ``except Exception``
    (which turns a crash of the student's code into a message) must not swallow it.
    """


class SandboxDied(BaseException):
    """The sandbox process ended (the student's code exited or crashed the
    interpreter)."""


class RemoteError(Exception):
    """The student's code raised an exception that is not a builtin one."""

    def __init__(self, exc_type: str, message: str, tb: str) -> None:
        super().__init__(f"{exc_type}: {message}" if message else exc_type)
        self.exc_type = exc_type
        self.message = message
        self.remote_traceback = tb


def _rebuild_exception(exc_type: str, message: str, tb: str) -> BaseException:
    cls = getattr(builtins, exc_type, None)
    if (
        isinstance(cls, type)
        and issubclass(cls, Exception)
        and exc_type not in ("SystemExit", "KeyboardInterrupt")
    ):
        try:
            exc = cls(message)
        except Exception:  # noqa: BLE001 - exotic constructors
            exc = RemoteError(exc_type, message, tb)
    else:
        exc = RemoteError(exc_type, message, tb)
    exc.remote_traceback = tb  # type: ignore[attr-defined]
    return exc


class Sandbox:
    """One sandbox process holding one submission's code.

    Parameters
    ----------
    python : str
        The interpreter to run (default: this one).
    cwd : str or None
        Working directory of the student's code (default: a fresh temporary directory).
    env : dict or None
        Extra environment variables.
    """

    def __init__(
        self,
        python: str | None = None,
        cwd: str | None = None,
        env: dict | None = None,
    ) -> None:
        import tempfile

        self._tmp = None
        if cwd is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="initcourse-sandbox-")
            cwd = self._tmp.name
        environ = dict(os.environ)
        environ.update(
            {
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "PYTHONHASHSEED": "0",
                "MPLBACKEND": "Agg",
                "OMP_NUM_THREADS": environ.get("OMP_NUM_THREADS", "1"),
            }
        )
        environ.update(env or {})
        self.log_path = os.path.join(cwd, "sandbox-stderr.log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [python or sys.executable, "-m", "initcourse.grading.sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=cwd,
            env=environ,
            start_new_session=True,
        )
        self.used_seconds = 0.0

    # -- low level
    # ------------------------------------------------------------------------
    def request(self, message: dict, timeout: float | None) -> dict:
        """Send one request and wait at most ``timeout`` seconds for the answer."""
        if self.proc.poll() is not None:
            raise SandboxDied(
                "the process running your code ended (exit code "
                f"{self.proc.returncode})"
            )
        start = time.monotonic()
        try:
            _write_frame(self.proc.stdin, _dumps_trusted(message))
            deadline = None if timeout is None else start + timeout
            assert self.proc.stdout is not None  # opened with stdout=PIPE
            payload = _read_frame(self.proc.stdout.fileno(), deadline)
        except (BrokenPipeError, EOFError) as exc:
            self.kill()
            tail = self.stderr_tail().splitlines()[-1:] or [""]
            raise SandboxDied(
                f"the process running your code ended ({tail[0][:300]})"
            ) from exc
        except SandboxTimeout:
            self.kill()
            raise
        finally:
            self.used_seconds += time.monotonic() - start
        return SafeUnpickler(io.BytesIO(payload)).load()

    def stderr_tail(self, n: int = 600) -> str:
        try:
            self._log.flush()
            with open(self.log_path, "rb") as f:
                data = f.read()
            return data[-n:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        """Stop the process and remove its working directory."""
        if self.proc.poll() is None:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except Exception:  # noqa: BLE001
                pass
        self.kill()
        self._log.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- operations
    # -----------------------------------------------------------------------
    def load(
        self, prelude: str, cells: list[tuple[int, str]], timeout: float | None
    ) -> dict:
        """Run the prelude, then each student cell; return ``{"defined": [...],
        "errors": [...]}``."""
        answer = self.request(
            {"op": "load", "prelude": prelude, "cells": cells}, timeout
        )
        if not answer.get("ok"):
            raise RemoteError(
                answer.get("exc_type", "Error"),
                answer.get("message", ""),
                answer.get("traceback", ""),
            )
        return answer

    def call(
        self,
        name: str,
        args: tuple,
        kwargs: dict,
        timeout: float | None,
        op: str = "call",
        **extra: Any,
    ) -> tuple[Any, list[str]]:
        """Call the student's function ``name``; return ``(value, course functions it
        called)``."""
        answer = self.request(
            {"op": op, "name": name, "args": args, "kwargs": kwargs, **extra}, timeout
        )
        calls = list(answer.get("calls", []))
        if answer.get("ok"):
            return answer.get("value"), calls
        exc = _rebuild_exception(
            answer.get("exc_type", "Exception"),
            answer.get("message", ""),
            answer.get("traceback", ""),
        )
        exc.course_calls = calls  # type: ignore[attr-defined]
        raise exc


class RemoteFunction:
    """A callable that runs the student's function ``name`` in a :class:`Sandbox`.

    It records every course function the student's code called (``course_calls``) and
    the time spent. ``budget`` is the time left for this function, in seconds.
    """

    def __init__(self, sandbox: Sandbox, name: str, budget: float | None) -> None:
        self.sandbox = sandbox
        self.name = name
        self.__name__ = name
        self.__qualname__ = name
        self.budget = budget
        self.course_calls: set[str] = set()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            value, calls = self.sandbox.call(self.name, args, kwargs, self.budget)
        except Exception as exc:
            self.course_calls.update(getattr(exc, "course_calls", ()))
            raise
        finally:
            if self.budget is not None:
                self.budget = max(0.0, self.budget - (time.monotonic() - start))
        self.course_calls.update(calls)
        return value

    def __repr__(self) -> str:
        return f"<your function {self.name}>"


# --------------------------------------------------------------------------------------
# The sandbox's side (runs in the child process)
# --------------------------------------------------------------------------------------
_CALLS: set[str] = set()
# keyword arguments of every initcourse.training.train call (capstone task (c))
TRAIN_CALLS: list = []


def _watch(qualname: str, fn: Any) -> Any:
    import functools

    if getattr(fn, "__initcourse_watched__", False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _CALLS.add(qualname)
        if qualname == "initcourse.training.train":
            TRAIN_CALLS.append(dict(kwargs))
        return fn(*args, **kwargs)

    wrapper.__initcourse_watched__ = True  # type: ignore[attr-defined]
    return wrapper


def _patch_module(module: Any) -> None:
    """Wrap every public function and the ``__call__`` of every class of a course
    module."""
    import inspect

    for name in dir(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        qual = f"{module.__name__}.{name}"
        if inspect.isfunction(obj):
            setattr(module, name, _watch(qual, obj))
        elif inspect.isclass(obj):
            for method in ("__call__", "__init__"):
                if method in obj.__dict__ and inspect.isfunction(obj.__dict__[method]):
                    try:
                        setattr(obj, method, _watch(qual, obj.__dict__[method]))
                    except (TypeError, AttributeError):
                        pass


class _WatchFinder:
    """A meta-path finder that patches a watched module right after it is imported."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in WATCHED_MODULES:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            _patch_module(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _install_watchers() -> None:
    """Patch the watched modules when (and if) the student's code imports them."""
    sys.meta_path.insert(0, _WatchFinder())
    for name in WATCHED_MODULES:
        if name in sys.modules:
            _patch_module(sys.modules[name])


def _error(exc: BaseException) -> dict:
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    keep = [line for line in tb if "initcourse/grading/sandbox.py" not in line]
    return {
        "ok": False,
        "exc_type": type(exc).__name__,
        "message": str(exc)[:2000],
        "traceback": "".join(keep)[-3000:],
    }


def _serve() -> None:  # pragma: no cover - runs in the child; tested through Sandbox
    chan_in = os.fdopen(os.dup(0), "rb")
    chan_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sys.stdin = open(os.devnull)  # noqa: SIM115
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    _install_watchers()
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}

    def reply(obj: dict) -> None:
        try:
            payload = pickle.dumps(obj, protocol=4)
        except Exception as exc:  # noqa: BLE001 - an unpicklable value slipped through
            payload = pickle.dumps(_error(exc), protocol=4)
        _write_frame(chan_out, payload)

    while True:
        try:
            (n,) = struct.unpack("<Q", chan_in.read(8))
        except struct.error:
            return
        request = pickle.loads(chan_in.read(n))
        op = request.get("op")
        if op == "load":
            errors = []
            try:
                exec(
                    compile(request["prelude"], "<chapter imports>", "exec"), namespace
                )  # noqa: S102
            except BaseException as exc:  # noqa: BLE001
                errors.append({"cell": -1, **_error(exc)})
            for index, source in request["cells"]:
                try:
                    exec(compile(source, f"<cell {index}>", "exec"), namespace)  # noqa: S102
                except BaseException as exc:  # noqa: BLE001
                    errors.append({"cell": index, **_error(exc)})
            defined = sorted(
                k
                for k, v in namespace.items()
                if callable(v) and not k.startswith("__")
            )
            reply({"ok": True, "defined": defined, "errors": errors})
            continue
        _CALLS.clear()
        TRAIN_CALLS.clear()
        try:
            if op == "call":
                fn = namespace.get(request["name"])
                if not callable(fn):
                    raise NameError(f"name {request['name']!r} is not defined")
                value = fn(*request["args"], **request["kwargs"])
            elif op == "capstone":
                from initcourse.grading import capstone

                value = capstone.sandbox_op(namespace, request, TRAIN_CALLS)
            else:
                raise ValueError(f"unknown op {op!r}")
            reply({"ok": True, "value": _encode(value), "calls": sorted(_CALLS)})
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the grader
            reply({**_error(exc), "calls": sorted(_CALLS)})


if __name__ == "__main__":  # pragma: no cover
    _serve()
