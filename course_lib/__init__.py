"""course_lib: the library behind the course "From ML theory to practice".

Modules are named after what they teach: ``losses`` (softmax CE, margin, KL,
distillation losses), ``distillation`` (teachers, students, matching more structure),
``compression`` (a model's size and prediction time, int8 weights), ``sampling``
(negatives for extreme classification), ``churn`` (model disagreement),
``floating_point`` (one-ulp twins), ``calibration`` (ECE, reliability diagrams,
temperature scaling), ``inference`` (cascades, deferral, calibrated early exit),
``representations`` (Matryoshka embeddings, PCA baselines, shortlist retrieval),
``routing`` (mixture-of-experts routers: token choice, expert choice),
``data`` and ``training`` (the digits, the MLP and the course's one training loop) and
``device`` (devices, seeds, determinism); the course's tools ``claims``, ``checker``
(instant feedback), ``exercises`` (one check per exercise), ``experiments``, ``plots``
and ``widgets``; and ``_validate``, the one home of every input check.
"""

__version__ = "0.2.0"
