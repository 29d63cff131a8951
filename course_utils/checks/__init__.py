"""Automatic checks for the exercise sheets, one module per sheet (``unit00`` ... ``unit09``).

Each task of an exercise sheet ends with a call such as ``checks.unit01.check_perplexity(perplexity)``.
A check calls the learner's function on inputs of its own and compares the result with a reference
computed here, or with a property the answer must have. It prints a short pass message, or raises
:class:`CheckError` that says what is wrong (a shape, a value, a failing example) without giving the
solution away.

A wrong answer is a learner's everyday mistake, so it shows as one line: the check's message, without a
traceback (:class:`CheckError` tells IPython so). Answers of the wrong kind (a tensor where a function is
asked for, ``None``, a list, a tensor of the wrong dtype) get such a message too, never an error from deep
inside the check. An exception raised by the learner's own code is left as it is: its traceback points at
the learner's line.

A check never changes the learner's random state: its inputs come from its own ``torch.Generator``, and
where a module must be built or the learner's function draws random numbers, that happens inside
:func:`isolated_rng`, which restores the global generator afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch


class CheckError(AssertionError):
    """Raised by a check when an answer is wrong; the message says what to look at."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows what this returns instead of the traceback: the message is the whole story
        return [str(self)]


def passed(task: str, detail: str = "") -> bool:
    """Print the pass message for ``task`` and return True."""
    print(f"✅ {task}: passed" + (f" ({detail})" if detail else ""))
    return True


def fail(task: str, message: str) -> None:
    """Stop with a clear message for ``task``."""
    raise CheckError(f"❌ {task}: {message}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def expect_type(task: str, value: Any, kind: type | tuple[type, ...], name: str = "your answer") -> None:
    """Fail unless ``value`` is an instance of ``kind``."""
    if not isinstance(value, kind):
        hint = ""
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            hint = " (.item() turns a one-element tensor into a number)"
        elif value is None:
            hint = " (did you forget the return statement?)"
        fail(task, f"{name} should be a {_kind_name(kind)}, got {type(value).__name__}{hint}")


def expect_callable(task: str, value: Any, name: str) -> None:
    """Fail unless ``value`` is a function (the learner may have passed its result instead)."""
    if not callable(value):
        fail(
            task,
            f"pass the function {name} itself (without calling it), got a {type(value).__name__}",
        )


def expect_number(task: str, value: Any, name: str = "your answer") -> float:
    """``value`` as a float if it is one number (an int, a float, a one-element tensor or NumPy scalar)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if hasattr(value, "item") and not isinstance(value, torch.Tensor) and getattr(value, "size", 0) == 1:
        value = value.item()  # a NumPy scalar
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = " (did you forget the return statement?)" if value is None else ""
        fail(task, f"{name} should be one number, got {type(value).__name__}{hint}")
    return float(value)


def is_close(actual: torch.Tensor, expected: Any, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """``torch.allclose`` in float64 and on the CPU, False when the shapes differ (never an error)."""
    a = torch.as_tensor(actual).detach().cpu().double()
    e = torch.as_tensor(expected).detach().cpu().double()
    return a.shape == e.shape and torch.allclose(a, e, atol=atol, rtol=rtol)


def expect_shape(task: str, tensor: Any, shape: tuple[int, ...], name: str = "your tensor") -> None:
    """Fail unless ``tensor`` is a tensor of exactly ``shape``."""
    expect_type(task, tensor, torch.Tensor, name)
    if tuple(tensor.shape) != tuple(shape):
        fail(task, f"{name} has shape {tuple(tensor.shape)}, expected {tuple(shape)}")


def expect_close(
    task: str, actual: Any, expected: Any, name: str = "your result", atol: float = 1e-5, rtol: float = 1e-4
) -> None:
    """Compare tensors (or numbers) and report the largest difference when they disagree."""
    if isinstance(actual, torch.Tensor):
        actual = actual.detach().cpu()
    try:
        a = torch.as_tensor(actual, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        fail(task, f"{name} should be numbers (a tensor), got {type(actual).__name__}")
    e = torch.as_tensor(expected, dtype=torch.float64)
    if a.shape != e.shape:
        fail(task, f"{name} has shape {tuple(a.shape)}, expected {tuple(e.shape)}")
    broken = ~torch.isfinite(a) & torch.isfinite(e)
    if broken.any():  # NaN or inf where a number belongs: say where, as for any other difference
        where = tuple(int(i) for i in torch.nonzero(broken)[0]) if a.dim() else ()
        value = a[where].item() if where else a.item()
        fail(
            task,
            f"{name} is {value}" + (f" at index {where}" if where else "") + " where a finite number belongs",
        )
    if not torch.allclose(a, e, atol=atol, rtol=rtol):
        diff = (a - e).abs()
        where = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0]) if diff.dim() else ()
        fail(
            task,
            f"{name} differs from the expected values: largest difference {diff.max().item():.3g}"
            + (f" at index {where}" if where else ""),
        )


@contextlib.contextmanager
def isolated_rng(seed: int | None = None) -> Iterator[None]:
    """Run the block with torch's global CPU generator seeded with ``seed``, then restore its state.

    For what draws from the global generator and takes no ``generator=`` argument: the initialisation of
    an ``nn.Module``, or the learner's own code. The learner's random state is the same after the block
    as before it, so re-running a check cell does not change the rest of the notebook.
    """
    with torch.random.fork_rng(devices=[]):  # CPU only: checks build their modules on the CPU
        if seed is not None:
            # The CPU generator only: torch.manual_seed would also queue a reseed of CUDA, outside the fork
            torch.random.default_generator.manual_seed(seed)
        yield


def expect_causal_mask(task: str, causal_mask: Callable, name: str = "causal_mask") -> None:
    """Fail unless ``causal_mask(T)`` is the (T, T) bool mask, True where query i may look at key j <= i.

    Args:
        task: the task's name, for the messages.
        causal_mask: the learner's function, called with several T.
        name: the function's name on the learner's sheet, for the messages.
    """
    for T in (1, 3, 7):
        mask = causal_mask(T)
        expect_shape(task, mask, (T, T), f"{name}({T})")
        if mask.dtype != torch.bool:
            fail(task, f"{name}({T}) should hold booleans (True = may attend), got dtype {mask.dtype}")
        mask = mask.cpu()
        expected = torch.ones(T, T, dtype=torch.bool).tril()  # (T, T): row i is query i
        if torch.equal(mask, expected):
            continue
        if torch.equal(mask, ~expected):
            fail(task, f"{name}({T}) is inverted: True should mark the keys a query MAY look at")
        if torch.equal(mask, expected.T):
            fail(
                task, f"{name}({T}) is transposed: row i is query i, and it may look at key j only if j <= i"
            )
        i, j = (int(v) for v in torch.nonzero(mask != expected)[0])
        fail(
            task,
            f"{name}({T})[{i}, {j}] is {bool(mask[i, j])}; query {i} may look at key {j} only if {j} <= {i}",
        )


class _ForbidTorchCalls(torch.overrides.TorchFunctionMode):
    """Raise :class:`CheckError` when one of ``functions`` (torch functions or ``Tensor`` methods) is called.

    A torch function mode sees the call however the learner reached the function: ``torch.softmax``,
    ``x.softmax``, ``F.softmax``, a name imported with ``from ... import``, or a library function that calls it.
    """

    def __init__(self, task: str, functions: dict[Any, str], hint: str):
        super().__init__()
        self.task, self.functions, self.hint = task, functions, hint

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.functions:
            fail(self.task, f"your answer calls {self.functions[func]}, which this task forbids{self.hint}")
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def forbidden(task: str, functions: dict[Any, str], hint: str = "") -> Iterator[None]:
    """Run the block with ``functions`` made to fail: calling one raises :class:`CheckError` naming it.

    Args:
        task: the task's name, for the message.
        functions: what to forbid, each with the name the message shows. Torch functions and ``Tensor``
            methods (``torch.softmax``, ``torch.Tensor.softmax``, ``F.scaled_dot_product_attention``) are caught
            by a torch function mode; plain Python functions and methods (``course_utils.model.attention``,
            ``count_parameters``, ``BertLayer.forward``) get their code swapped for the time of the block, so a
            name the learner imported earlier fails too.
        hint: appended to the message (start it with "; ").
    """
    swapped = []
    torch_functions = {}
    for function, name in functions.items():
        code = getattr(function, "__code__", None)
        if code is None or code.co_freevars:  # a builtin or C function: the torch function mode catches it
            torch_functions[function] = name
            continue
        message = f"❌ {task}: your answer calls {name}, which this task forbids{hint}"
        raiser = (
            "def _forbidden(*args, **kwargs):\n"
            f"    raise __import__('course_utils.checks', fromlist=['CheckError']).CheckError({message!r})\n"
        )
        namespace: dict = {}
        exec(raiser, namespace)  # noqa: S102 - the code is built here from a fixed template
        swapped.append((function, code))
        function.__code__ = namespace["_forbidden"].__code__
    try:
        if torch_functions:
            with _ForbidTorchCalls(task, torch_functions, hint):
                yield
        else:
            yield
    finally:
        for function, code in swapped:
            function.__code__ = code
