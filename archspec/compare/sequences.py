"""Matching two sequences in order, in time that grows with their length, not its square.

Structural alignment matches the op sequences of two graphs (``conv2d, batch_norm, relu,
...``). Such sequences are long and repetitive, which is the worst case for
``difflib.SequenceMatcher`` (quadratic: 20,000 layers took a minute). Here:

1. the common prefix and suffix are matched first, by comparing slices in C, so two
   graphs that differ in a few places leave only a short middle;
2. the middle is matched by Myers' O(ND) algorithm, which finds a longest common
   subsequence in time proportional to the length times the number D of insertions and
   deletions, with D bounded by :data:`MAX_EDITS`;
3. past that bound the sequences are very different, and a greedy scan with a bounded
   look-ahead pairs what it can in linear time.

Any matching in order is sound for a diff: whatever is left unmatched is reported as
added or removed, so a weaker matching can only report more, never hide a difference.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

#: edits (insertions plus deletions) up to which the middle is matched exactly
MAX_EDITS = 600
#: how far the greedy fallback looks ahead for the next match
LOOKAHEAD = 64


def matching_pairs(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` with ``a[i] == b[j]``, increasing in both, as many as found."""
    xs, ys = list(a), list(b)
    head = common_run(xs, 0, ys, 0)
    tail = _common_tail(xs, ys, head)
    middle_a, middle_b = xs[head : len(xs) - tail], ys[head : len(ys) - tail]
    middle = _myers(middle_a, middle_b, MAX_EDITS)
    if middle is None:
        middle = _greedy(middle_a, middle_b, LOOKAHEAD)
    pairs = [(k, k) for k in range(head)]
    pairs += [(i + head, j + head) for i, j in middle]
    start_a, start_b = len(xs) - tail, len(ys) - tail
    pairs += [(start_a + k, start_b + k) for k in range(tail)]
    return pairs


def common_run(a: list[Hashable], i: int, b: list[Hashable], j: int) -> int:
    """How many items ``a[i:]`` and ``b[j:]`` share from their start.

    Slices of doubling size are compared in C, halving after a mismatch, so a run of
    length L costs O(log L) Python steps.
    """
    limit = min(len(a) - i, len(b) - j)
    done, step = 0, 1
    while done < limit:
        size = min(step, limit - done)
        if a[i + done : i + done + size] == b[j + done : j + done + size]:
            done += size
            step *= 2
        elif size == 1:
            break
        else:
            step = size // 2
    return done


def _common_tail(a: list[Hashable], b: list[Hashable], head: int) -> int:
    """Length of the common suffix of what follows the first ``head`` items of each."""
    rest_a, rest_b = a[head:], b[head:]
    rest_a.reverse()
    rest_b.reverse()
    return common_run(rest_a, 0, rest_b, 0)


def _myers(a: list[Hashable], b: list[Hashable], max_edits: int) -> list[tuple[int, int]] | None:
    """A longest common subsequence as index pairs, or None if it needs more edits.

    Myers (1986): round ``d`` extends, for each diagonal ``k = x - y`` reachable with
    ``d`` edits, the furthest point ``x`` reached so far along a run of equal items.
    Each round's furthest points are kept to walk the path back from the end.
    """
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return []
    if abs(n - m) > max_edits:
        return None  # the lengths alone need more edits
    offset = max_edits + 1
    furthest = [0] * (2 * offset + 1)
    rounds: list[list[int]] = []  # furthest points before each round, diagonals -d-1 .. d+1
    for d in range(min(max_edits, n + m) + 1):
        rounds.append(furthest[offset - d - 1 : offset + d + 2])
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and furthest[offset + k - 1] < furthest[offset + k + 1]):
                x = furthest[offset + k + 1]  # an item of b inserted
            else:
                x = furthest[offset + k - 1] + 1  # an item of a deleted
            y = x - k
            if x < n and y < m:
                run = common_run(a, x, b, y)
                x, y = x + run, y + run
            furthest[offset + k] = x
            if x >= n and y >= m:
                return _path(rounds, d, x, y)
    return None


def _path(rounds: list[list[int]], edits: int, x: int, y: int) -> list[tuple[int, int]]:
    """The matched pairs along the path that ends at ``(x, y)`` after ``edits`` edits."""
    pairs: list[tuple[int, int]] = []
    for d in range(edits, 0, -1):
        before = rounds[d]  # diagonal k is at index k + d + 1
        k = x - y
        down = k == -d or (k != d and before[k - 1 + d + 1] < before[k + 1 + d + 1])
        previous_k = k + 1 if down else k - 1
        previous_x = before[previous_k + d + 1]
        start_x = previous_x if down else previous_x + 1
        while x > start_x:  # the run of equal items after this edit
            x, y = x - 1, y - 1
            pairs.append((x, y))
        x, y = previous_x, previous_x - previous_k
    while x > 0 and y > 0:
        x, y = x - 1, y - 1
        pairs.append((x, y))
    pairs.reverse()
    return pairs


def _greedy(a: list[Hashable], b: list[Hashable], lookahead: int) -> list[tuple[int, int]]:
    """Pairs found by a left-to-right scan that skips to the nearest match ahead.

    At a mismatch it looks up to ``lookahead`` items ahead on each side for the other
    side's current item and skips the shorter way; linear in the total length.
    """
    pairs: list[tuple[int, int]] = []
    i = j = 0
    n, m = len(a), len(b)
    while i < n and j < m:
        if a[i] == b[j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
            continue
        skip_a = _distance(a, b[j], i, lookahead)
        skip_b = _distance(b, a[i], j, lookahead)
        if skip_a is None and skip_b is None:
            i, j = i + 1, j + 1
        elif skip_b is None or (skip_a is not None and skip_a <= skip_b):
            i += skip_a
        else:
            j += skip_b
    return pairs


def _distance(items: list[Hashable], item: Hashable, start: int, lookahead: int) -> int | None:
    """How far after ``start`` ``item`` next occurs in ``items``, within ``lookahead``."""
    try:
        return items.index(item, start, start + lookahead) - start
    except ValueError:
        return None
