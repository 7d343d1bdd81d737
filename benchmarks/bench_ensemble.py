"""K = 8 models of one MLP on the digits: a Python loop over seeds vs one batched
EnsembleMLP (target >= 3x).
"""

from __future__ import annotations

import time

import torch

from course_lib import data, losses
from course_lib.training import MLP, EnsembleMLP, train

K, SIZES, EPOCHS = 8, [64, 64, 10], 10


def run() -> list[dict]:
    torch.set_num_threads(1)  # the course's setting for tiny models
    split = data.digits(0)
    fit = dict(epochs=EPOCHS, batch_size=64)
    start = time.perf_counter()
    for k in range(K):
        train(
            MLP(SIZES, dropout=0.1, init_seed=k),
            split.x_train,
            split.y_train,
            losses.softmax_cross_entropy,
            data_seed=100 + k,
            dropout_seed=200 + k,
            **fit,
        )
    loop = time.perf_counter() - start
    start = time.perf_counter()
    train(
        EnsembleMLP(SIZES, init_seeds=list(range(K)), dropout=0.1),
        split.x_train,
        split.y_train,
        losses.softmax_cross_entropy,
        data_seed=[100 + k for k in range(K)],
        dropout_seed=[200 + k for k in range(K)],
        **fit,
    )
    batched = time.perf_counter() - start
    return [{"K": K, "loop s": loop, "batched s": batched, "speed-up": loop / batched}]
