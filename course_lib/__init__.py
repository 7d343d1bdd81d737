"""course_lib: the library behind the course "From ML theory to practice".

Modules are named after what they teach: ``losses`` (softmax CE, margin, KL, distillation),
``churn`` (model disagreement), ``device`` (devices, seeds, determinism), and the course's
tools ``claims``, ``exercises``, ``plots`` and ``widgets``.
"""
__version__ = "0.1.0"
