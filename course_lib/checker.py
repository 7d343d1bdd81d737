"""Checking a learner's answer with instant, friendly feedback that never gives the
answer away.

``check_function`` runs a learner's function on named test cases against a reference;
``check_number`` and ``check_choice`` compare a number or a pick with the expected one.
Each returns a ``Feedback`` that Jupyter shows as a coloured box (green: well done;
amber: not yet, with a hint; grey: your turn) and that is truthy when the answer is
right. The messages say *which* case failed and *how* (wrong shape, NaN, too large),
never the expected value.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

_COLORS = {"correct": "#e6f4ea", "wrong": "#fef7e0", "todo": "#f1f3f4"}
_ICONS = {"correct": "✓", "wrong": "✗", "todo": "✎"}


@dataclass(frozen=True)
class Feedback:
    status: str  # "correct" | "wrong" | "todo"
    message: str

    def __bool__(self) -> bool:
        return self.status == "correct"

    def __repr__(self) -> str:
        return f"{_ICONS[self.status]} {self.message}"

    def _repr_html_(self) -> str:
        return (
            f"<div style='background:{_COLORS[self.status]};padding:8px "
            "12px;border-radius:6px'>"
            f"<b>{_ICONS[self.status]}</b> {html.escape(self.message)}</div>"
        )


@dataclass(frozen=True)
class Case:
    """One named input to a learner's function: ``args`` are passed positionally."""

    name: str
    args: tuple


def check_function(
    fn: Callable,
    reference: Callable,
    cases: Sequence[Case],
    *,
    name: str,
    hint: str,
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> Feedback:
    """Run ``fn`` and ``reference`` on every case; feedback names the first case where
    they differ.
    """
    if not callable(fn):
        raise ValueError(
            f"fn must be your function (callable), got {type(fn).__name__}"
        )
    for case in cases:
        try:
            got = fn(*[_copy(a) for a in case.args])
        except NotImplementedError:
            return Feedback(
                "todo", f"Your turn: fill in {name} and run this cell again."
            )
        except (
            Exception
        ) as error:  # the learner's code raised: say what, not how to fix it
            return Feedback(
                "wrong",
                f"Not yet: on the case '{case.name}', {name} raised "
                f"{type(error).__name__}: {error}. Hint: {hint}",
            )
        expected = reference(*[_copy(a) for a in case.args])
        problem = _compare(got, expected, atol, rtol)
        if problem:
            return Feedback(
                "wrong", f"Not yet: on the case '{case.name}', {problem}. Hint: {hint}"
            )
    return Feedback(
        "correct", f"Well done: {name} is right on all {len(cases)} test cases."
    )


def check_number(
    answer, expected: float, *, name: str, hint: str, atol: float = 1e-4
) -> Feedback:
    """Compare a learner's number with ``expected`` to ``atol``; ``None`` or ``...``
    means not attempted yet.
    """
    if answer is None or answer is Ellipsis:
        return Feedback("todo", f"Your turn: set {name} and run this cell again.")
    try:
        value = float(answer.item() if hasattr(answer, "item") else answer)
    except (TypeError, ValueError):
        return Feedback(
            "wrong",
            f"Not yet: {name} should be a single number, got {type(answer).__name__}. "
            f"Hint: {hint}",
        )
    if not math.isfinite(value):
        return Feedback(
            "wrong", f"Not yet: {name} is {value}, not a finite number. Hint: {hint}"
        )
    if abs(value - expected) <= atol:
        return Feedback("correct", f"Well done: {name} is right.")
    direction = "too large" if value > expected else "too small"
    return Feedback(
        "wrong", f"Not yet: {name} = {value:.4g} is {direction}. Hint: {hint}"
    )


def check_choice(
    answer, expected: str, *, name: str, hint: str, choices: Sequence[str]
) -> Feedback:
    """Check a learner's pick among ``choices`` (case-insensitive)."""
    if answer is None or answer is Ellipsis:
        return Feedback(
            "todo",
            f"Your turn: set {name} to one of {list(choices)} and run this cell again.",
        )
    picked = str(answer).strip().lower()
    if picked not in [c.lower() for c in choices]:
        return Feedback(
            "wrong", f"Not yet: {name} must be one of {list(choices)}, got {answer!r}."
        )
    if picked == expected.lower():
        return Feedback("correct", f"Well done: {name} is right.")
    return Feedback("wrong", f"Not yet: {answer!r} is not it. Hint: {hint}")


def _copy(x):
    return x.clone() if isinstance(x, torch.Tensor) else x


def _compare(got, expected, atol: float, rtol: float) -> str | None:
    """A description of how ``got`` differs from ``expected`` that does not reveal
    ``expected``; None if equal.
    """
    expected = torch.as_tensor(expected, dtype=torch.float64)
    try:
        got = torch.as_tensor(
            got.detach() if isinstance(got, torch.Tensor) else got, dtype=torch.float64
        )
    except (TypeError, ValueError, RuntimeError):
        return f"your function returned a {type(got).__name__}, not a number or tensor"
    if got.shape != expected.shape:
        return (
            f"your result has shape {tuple(got.shape)}, which is not the expected shape"
        )
    finite = torch.isfinite(expected)  # an expected ±inf must be met exactly
    if not torch.isfinite(got[finite]).all():
        return "your result contains NaN or inf (an overflow?)"
    if not (got[~finite] == expected[~finite]).all():
        return (
            "your result is off by an infinite amount (was an inf replaced or clipped?)"
        )
    got, expected = got[finite], expected[finite]
    if not torch.allclose(got, expected, atol=atol, rtol=rtol):
        worst = (got - expected).abs().max().item()
        return f"your result is off by up to {worst:.3g}"
    return None
