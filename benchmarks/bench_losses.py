"""course_lib's losses vs PyTorch's built-ins: forward + backward time at B = 4096, L =
1000, as ratios.

The two sides are timed alternately in one run (this machine is shared and noisy) and
each ratio is the median of the paired ratios.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F

from course_lib import losses

B, L, REPEATS = 4096, 1000, 40


def _cases():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(B, L, generator=g).requires_grad_(True)
    teacher_logits = torch.randn(B, L, generator=g)
    teacher_probs = torch.softmax(teacher_logits, -1)
    labels = torch.randint(0, L, (B,), generator=g)
    log_q = torch.log_softmax(torch.randn(B, L, generator=g), -1)
    q = log_q.exp()
    q_param = q.clone().requires_grad_(True)
    T = 4.0

    def builtin_distillation():
        soft = F.kl_div(
            F.log_softmax(logits / T, -1),
            F.log_softmax(teacher_logits / T, -1),
            reduction="batchmean",
            log_target=True,
        )
        return 0.5 * F.cross_entropy(logits, labels) + 0.5 * T * T * soft

    return {
        "softmax_cross_entropy": (
            logits,
            lambda: losses.softmax_cross_entropy(logits, labels),
            lambda: F.cross_entropy(logits, labels),
        ),
        "teacher_weighted_cross_entropy": (
            logits,
            lambda: losses.teacher_weighted_cross_entropy(logits, teacher_probs),
            lambda: F.cross_entropy(logits, teacher_probs),
        ),
        "kl_divergence": (
            q_param,
            lambda: losses.kl_divergence(teacher_probs, q_param),
            lambda: F.kl_div(q_param.log(), teacher_probs, reduction="batchmean"),
        ),
        "distillation_loss": (
            logits,
            lambda: losses.distillation_loss(logits, labels, teacher_logits, 0.5, T),
            builtin_distillation,
        ),
    }


def _time(fn) -> float:
    start = time.perf_counter()
    fn().backward()
    return time.perf_counter() - start


def run() -> list[dict]:
    rows = []
    for name, (_, ours, builtin) in _cases().items():
        for _ in range(10):  # warm-up
            _time(ours), _time(builtin)
        ratios, ours_t, builtin_t = [], [], []
        for _ in range(REPEATS):
            a, b = _time(ours), _time(builtin)
            ours_t.append(a), builtin_t.append(b), ratios.append(a / b)
        rows.append(
            {
                "loss": name,
                "course_lib ms": 1e3 * statistics.median(ours_t),
                "built-in ms": 1e3 * statistics.median(builtin_t),
                "ratio": statistics.median(ratios),
            }
        )
    return rows
