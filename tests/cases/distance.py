"""Parity cases for the distances: PairwiseDistance, CosineSimilarity, pdist and their kernels."""
import math

import jax.numpy as jnp
import numpy as np

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase

F64 = dict(rtol=1e-9, atol=1e-11)


def _n(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _two(s1, s2, dtype=np.float32, **kw):
    return lambda rng: ((_n(rng, s1, dtype), _n(rng, s2, dtype)), kw)


MODULE_CASES = [
    ModuleCase("PairwiseDistance", input_shapes=[(4, 5), (4, 5)]),
    ModuleCase("PairwiseDistance", (1.0, 1e-3, True), input_shapes=[(4, 5), (4, 5)],
               desc="p1_keepdim"),
    ModuleCase("PairwiseDistance", (math.inf,), input_shapes=[(3, 5), (5,)],
               desc="inf_broadcast"),
    ModuleCase("PairwiseDistance", (3.0,), input_shapes=[(4, 5), (4, 5)], dtype="float64",
               desc="p3_float64", **F64),
    ModuleCase("CosineSimilarity", input_shapes=[(4, 5), (4, 5)]),
    ModuleCase("CosineSimilarity", (0, 1e-6), input_shapes=[(5,), (5,)], desc="dim0_1d"),
    ModuleCase("CosineSimilarity", (-1,), input_shapes=[(2, 3, 4), (3, 4)],
               desc="last_broadcast"),
    ModuleCase("CosineSimilarity", (2,), input_shapes=[(2, 3, 4, 2), (2, 3, 4, 2)],
               dtype="float64", desc="float64", **F64),
]

FUNCTION_CASES = [
    FunctionCase("pairwise_distance", _two((4, 5), (4, 5))),
    FunctionCase("pairwise_distance", _two((4, 5), (4, 5), p=1.0, keepdim=True), desc="p1"),
    FunctionCase("pairwise_distance", _two((4, 5), (4, 5), p=0.5), desc="p0.5"),
    FunctionCase("pairwise_distance", _two((4, 5), (4, 5), p=0), desc="p0"),
    FunctionCase("pairwise_distance", _two((4, 5), (4, 5), p=math.inf), desc="inf"),
    FunctionCase("pairwise_distance", _two((4, 5), (4, 5), p=-1.5), desc="negative_p"),
    FunctionCase("pairwise_distance", _two((4, 5), (4, 5), p=-math.inf), desc="minus_inf"),
    FunctionCase("pairwise_distance", _two((5,), (5,), p=3.0), desc="1d"),
    FunctionCase("pairwise_distance", _two((2, 3, 5), (5,)), desc="broadcast_3d"),
    FunctionCase("pairwise_distance", _two((), ()), desc="scalar"),
    FunctionCase("pairwise_distance", lambda rng: ((np.ones((2, 3), np.float32),
                                                    np.ones((2, 3), np.float32)),
                                                   dict(eps=0.0)), desc="zero_distance"),
    FunctionCase("pairwise_distance", _two((4, 5), (4, 5), np.float64, p=1.5), desc="float64",
                 **F64),
    FunctionCase("cosine_similarity", _two((4, 5), (4, 5))),
    FunctionCase("cosine_similarity", _two((4, 5, 3), (1, 5, 3), dim=1), desc="broadcast"),
    FunctionCase("cosine_similarity", _two((5,), (5,), dim=0), desc="1d"),
    FunctionCase("cosine_similarity", _two((3, 4), (3, 4), dim=-1, eps=0.5), desc="eps_clamps"),
    FunctionCase("cosine_similarity", lambda rng: ((np.zeros((2, 3), np.float32),
                                                    _n(rng, (2, 3))), {}), desc="zero_vector"),
    FunctionCase("cosine_similarity", _two((4, 5), (4, 5), np.float64), desc="float64", **F64),
    FunctionCase("pdist", lambda rng: ((_n(rng, (5, 3)),), {})),
    FunctionCase("pdist", lambda rng: ((_n(rng, (5, 3)),), dict(p=1)), desc="p1"),
    FunctionCase("pdist", lambda rng: ((_n(rng, (4, 3)),), dict(p=math.inf)), desc="inf"),
    FunctionCase("pdist", lambda rng: ((_n(rng, (4, 3)),), dict(p=3.5)), desc="p3.5"),
    FunctionCase("pdist", lambda rng: ((_n(rng, (1, 3)),), {}), desc="one_row"),
    FunctionCase("pdist", lambda rng: ((np.array([[1., 2.], [1., 2.], [0., 1.]], np.float32),),
                                       {}), desc="duplicate_rows"),
    FunctionCase("pdist", lambda rng: ((_n(rng, (5, 3), np.float64),), {}), desc="float64",
                 **F64),
]

ERROR_CASES = [
    ErrorCase("pairwise_distance", lambda: F.pairwise_distance(jnp.ones((3, 4)), jnp.ones((2, 4))),
              ValueError, r"x1 shape \(3, 4\) and x2 shape \(2, 4\) cannot be broadcast"),
    ErrorCase("pairwise_distance", lambda: F.pairwise_distance(jnp.ones(3), jnp.ones(3), p="2"),
              TypeError, r"expected p to be a number, got str"),
    # torch: "pdist only supports non-negative p values" (pairwise_distance takes any p)
    ErrorCase("pdist", lambda: F.pdist(jnp.ones((3, 2)), p=-1), ValueError, r"non-negative"),
    ErrorCase("cosine_similarity", lambda: F.cosine_similarity(jnp.ones(5), jnp.ones(5)),
              ValueError, r"dim 1 is out of range"),
    ErrorCase("CosineSimilarity", lambda: nn.CosineSimilarity()(jnp.ones((2, 3)), jnp.ones((4, 3))),
              ValueError, r"cannot be broadcast"),
    ErrorCase("pdist", lambda: F.pdist(jnp.ones((2, 3, 4))), ValueError,
              r"expected input with 2 dimensions"),
]
