"""The minibatch order: a pure function of (seed, epoch, n), the same on every path."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from progfusion.models.protocol import (
    _epoch_permutation_numpy,
    _epoch_permutation_torch,
    batch_indices,
    epoch_permutation,
)

MASK = 0xFFFFFFFF


def mix32(x: int) -> int:
    """The 32-bit hash, written out on Python integers."""
    for _ in range(2):
        x = (((x >> 16) ^ x) * 0x45D9F3B) & MASK
    return (x >> 16) ^ x


def reference_permutation(order_seed: int, epoch: int, n: int) -> list[int]:
    base = mix32(order_seed ^ mix32(epoch & MASK))
    keys = [mix32((base + i) & MASK) for i in range(n)]
    return sorted(range(n), key=keys.__getitem__)


seeds = st.lists(st.integers(0, MASK), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(seeds, st.integers(0, 2**40), st.integers(1, 300))
def test_both_paths_equal_the_written_out_definition(order_seeds, epoch, n) -> None:
    order = torch.tensor(order_seeds, dtype=torch.int64)
    expected = torch.tensor([reference_permutation(s, epoch, n) for s in order_seeds])
    assert torch.equal(_epoch_permutation_numpy(order, epoch, n), expected)
    assert torch.equal(_epoch_permutation_torch(order, epoch, n), expected)
    assert torch.equal(epoch_permutation(order, epoch, n), expected)


def test_rows_are_permutations_and_independent_of_their_neighbours() -> None:
    order = torch.tensor([0, 1, 2**32 - 1, 12345], dtype=torch.int64)
    perm = epoch_permutation(order, 3, 2048)
    assert perm.dtype == torch.int64 and perm.shape == (4, 2048)
    assert torch.equal(perm.sort(1).values, torch.arange(2048).expand(4, -1))
    for j in range(4):
        assert torch.equal(epoch_permutation(order[j : j + 1], 3, 2048)[0], perm[j])
    assert not torch.equal(perm, epoch_permutation(order, 4, 2048))  # a new order each epoch


def test_batches_are_consecutive_slices_of_the_permutation() -> None:
    perm = epoch_permutation(torch.tensor([7]), 0, 10)
    assert torch.equal(batch_indices(perm, 1, 4), perm[:, 4:8])
