"""jaxloss: loss functions for JAX with hand-written, verified gradient rules."""

from . import catalogue as catalogue
from . import reference as reference
from . import testing as testing
from ._binary import binary_cross_entropy as binary_cross_entropy
from ._binary import hinge as hinge
from ._binary import multilabel_soft_margin as multilabel_soft_margin
from ._binary import perceptron as perceptron
from ._binary import sigmoid_binary_cross_entropy as sigmoid_binary_cross_entropy
from ._binary import sigmoid_focal as sigmoid_focal
from ._binary import soft_margin as soft_margin
from ._binary import squared_hinge as squared_hinge
from ._classification import negative_log_likelihood as negative_log_likelihood
from ._classification import softmax_cross_entropy as softmax_cross_entropy
from ._classification import (
    softmax_cross_entropy_with_integer_labels as softmax_cross_entropy_with_integer_labels,
)
from ._contrastive import additive_angular_margin as additive_angular_margin
from ._contrastive import info_nce as info_nce
from ._contrastive import ntxent as ntxent
from ._contrastive import sigmoid_pairwise as sigmoid_pairwise
from ._contrastive import supervised_contrastive as supervised_contrastive
from ._detection import ciou as ciou
from ._detection import diou as diou
from ._detection import giou as giou
from ._divergence import distillation as distillation
from ._divergence import generalized_kl_divergence as generalized_kl_divergence
from ._divergence import js_divergence as js_divergence
from ._divergence import kl_divergence as kl_divergence
from ._divergence import kl_divergence_with_log_targets as kl_divergence_with_log_targets
from ._embedding import batch_all_triplet as batch_all_triplet
from ._embedding import batch_hard_triplet as batch_hard_triplet
from ._embedding import circle as circle
from ._embedding import contrastive as contrastive
from ._embedding import cosine_distance as cosine_distance
from ._embedding import cosine_embedding as cosine_embedding
from ._embedding import cosine_similarity as cosine_similarity
from ._embedding import hinge_embedding as hinge_embedding
from ._embedding import margin_ranking as margin_ranking
from ._embedding import npairs as npairs
from ._embedding import triplet_margin as triplet_margin
from ._embedding import triplet_margin_with_distance as triplet_margin_with_distance
from ._large_vocab import linear_softmax_cross_entropy as linear_softmax_cross_entropy
from ._large_vocab import (
    vocab_parallel_softmax_cross_entropy as vocab_parallel_softmax_cross_entropy,
)
from ._likelihood import gaussian_nll as gaussian_nll
from ._likelihood import poisson_nll as poisson_nll
from ._likelihood import tweedie as tweedie
from ._margin import multi_margin as multi_margin
from ._margin import multiclass_hinge as multiclass_hinge
from ._margin import multilabel_margin as multilabel_margin
from ._margin import sparsemax as sparsemax
from ._margin import zero_one as zero_one
from ._ranking import listmle as listmle
from ._ranking import pairwise_hinge as pairwise_hinge
from ._ranking import pairwise_logistic as pairwise_logistic
from ._ranking import ranking_softmax as ranking_softmax
from ._reduce import apply_conventions as apply_conventions
from ._regression import absolute_error as absolute_error
from ._regression import absolute_percentage_error as absolute_percentage_error
from ._regression import pinball as pinball
from ._regression import root_mean_squared_error as root_mean_squared_error
from ._regression import squared_error as squared_error
from ._regression import squared_log_error as squared_log_error
from ._reweighted import generalized_cross_entropy as generalized_cross_entropy
from ._reweighted import poly_cross_entropy as poly_cross_entropy
from ._reweighted import softmax_focal as softmax_focal
from ._robust import charbonnier as charbonnier
from ._robust import general_robust as general_robust
from ._robust import huber as huber
from ._robust import log_cosh as log_cosh
from ._robust import smooth_l1 as smooth_l1
from ._segmentation import dice as dice
from ._segmentation import focal_tversky as focal_tversky
from ._segmentation import generalized_dice as generalized_dice
from ._segmentation import jaccard as jaccard
from ._segmentation import lovasz_hinge as lovasz_hinge
from ._segmentation import tversky as tversky
from ._sequence import ctc as ctc

__version__ = "0.1.0"

__all__ = [
    "absolute_error",
    "absolute_percentage_error",
    "additive_angular_margin",
    "apply_conventions",
    "batch_all_triplet",
    "batch_hard_triplet",
    "binary_cross_entropy",
    "catalogue",
    "charbonnier",
    "ciou",
    "circle",
    "contrastive",
    "cosine_distance",
    "cosine_embedding",
    "cosine_similarity",
    "ctc",
    "dice",
    "diou",
    "distillation",
    "focal_tversky",
    "gaussian_nll",
    "general_robust",
    "generalized_cross_entropy",
    "generalized_dice",
    "generalized_kl_divergence",
    "giou",
    "hinge",
    "hinge_embedding",
    "huber",
    "info_nce",
    "jaccard",
    "js_divergence",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    "linear_softmax_cross_entropy",
    "listmle",
    "log_cosh",
    "lovasz_hinge",
    "margin_ranking",
    "multi_margin",
    "multiclass_hinge",
    "multilabel_margin",
    "multilabel_soft_margin",
    "negative_log_likelihood",
    "npairs",
    "ntxent",
    "pairwise_hinge",
    "pairwise_logistic",
    "perceptron",
    "pinball",
    "poisson_nll",
    "poly_cross_entropy",
    "ranking_softmax",
    "reference",
    "root_mean_squared_error",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal",
    "sigmoid_pairwise",
    "smooth_l1",
    "soft_margin",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "softmax_focal",
    "sparsemax",
    "squared_error",
    "squared_hinge",
    "squared_log_error",
    "supervised_contrastive",
    "testing",
    "triplet_margin",
    "triplet_margin_with_distance",
    "tversky",
    "tweedie",
    "vocab_parallel_softmax_cross_entropy",
    "zero_one",
]
