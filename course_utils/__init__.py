"""course_utils: the shared package of the BERT-from-first-principles course.

Submodules:
    model    a from-scratch BERT whose parameter names match ``transformers``
    utils    device, seeding, mixed precision, ``show_source``
    checks   automatic checks for the exercise sheets
"""

from course_utils.utils import (
    autocast,
    count_parameters,
    environment_report,
    get_device,
    set_seed,
    show_source,
)

__version__ = "0.1.0"

__all__ = [
    "autocast",
    "count_parameters",
    "environment_report",
    "get_device",
    "set_seed",
    "show_source",
]
