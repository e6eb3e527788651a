"""jaxloss: loss functions for JAX with hand-written, verified gradient rules."""

from . import _binary, _classification, _divergence, _margin, _reweighted, _sequence
from . import catalogue as catalogue
from . import reference as reference
from . import testing as testing
from ._binary import *  # noqa: F403
from ._classification import *  # noqa: F403
from ._divergence import *  # noqa: F403
from ._likelihood import gaussian_nll as gaussian_nll
from ._likelihood import poisson_nll as poisson_nll
from ._likelihood import tweedie as tweedie
from ._margin import *  # noqa: F403
from ._reduce import apply_conventions as apply_conventions
from ._regression import absolute_error as absolute_error
from ._regression import absolute_percentage_error as absolute_percentage_error
from ._regression import pinball as pinball
from ._regression import root_mean_squared_error as root_mean_squared_error
from ._regression import squared_error as squared_error
from ._regression import squared_log_error as squared_log_error
from ._reweighted import *  # noqa: F403
from ._robust import charbonnier as charbonnier
from ._robust import general_robust as general_robust
from ._robust import huber as huber
from ._robust import log_cosh as log_cosh
from ._robust import smooth_l1 as smooth_l1
from ._sequence import *  # noqa: F403

__version__ = "0.1.0"

__all__ = [
    "absolute_error",
    "absolute_percentage_error",
    "apply_conventions",
    "catalogue",
    "charbonnier",
    "gaussian_nll",
    "general_robust",
    "huber",
    "log_cosh",
    "pinball",
    "poisson_nll",
    "reference",
    "root_mean_squared_error",
    "smooth_l1",
    "squared_error",
    "squared_log_error",
    "testing",
    "tweedie",
    *_classification.__all__,
    *_reweighted.__all__,
    *_binary.__all__,
    *_margin.__all__,
    *_divergence.__all__,
    *_sequence.__all__,
]
