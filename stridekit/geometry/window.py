"""`Window`: one sliding window (conv, pooling, transposed conv) along one spatial axis.

Conventions, all exact integer arithmetic (PyTorch's semantics):

- extent ``e = d·(k−1) + 1`` (the span of a dilated kernel);
- forward output ``floor((n + lo + hi − e) / s) + 1``; with ``ceil_mode`` the division
  rounds up, but the last window is kept only if it starts inside the input or the left
  padding, i.e. dropped when ``(out − 1)·s ≥ n + lo`` (``pooling_output_shape`` in ATen);
- transposed output ``(n − 1)·s − lo − hi + e + output_padding`` with
  ``output_padding < max(s, d)``.

Input coordinates: real pixels are ``0 … n−1``; padding before them is ``−lo … −1`` and
after them ``n … n+hi−1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stridekit.errors import InvalidWindowError, OutputSizeError


def _floor_div(a: int, b: int) -> int:
    return a // b


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


@dataclass(frozen=True)
class Unread:
    """Input pixels that no output reads: ``real`` pixels and ``padding`` pixels.

    Indices are input coordinates: padding before the input is negative, padding after
    it is ``>= n``. Unread padding is harmless; unread real pixels are information lost.
    """

    real: tuple[int, ...]
    padding: tuple[int, ...]


@dataclass(frozen=True)
class Window:
    """A sliding window along one axis.

    >>> w = Window(kernel=7, stride=2, padding=(3, 3))
    >>> w.output_size(224)
    112
    >>> w.span(0)
    (-3, 3)
    >>> Window(kernel=3, stride=2).unread(224).real
    (223,)
    >>> Window(kernel=4, stride=2, padding=(1, 1), transposed=True).output_size(56)
    112
    """

    kernel: int
    stride: int = 1
    dilation: int = 1
    padding: tuple[int, int] = (0, 0)
    ceil_mode: bool = False
    transposed: bool = False
    output_padding: int = 0

    def __post_init__(self) -> None:
        for name in ("kernel", "stride", "dilation"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidWindowError(f"{name} must be an integer >= 1, got {value!r}")
        padding = self.padding
        if isinstance(padding, int):
            object.__setattr__(self, "padding", (padding, padding))
        elif not (isinstance(padding, tuple) and len(padding) == 2):
            raise InvalidWindowError(f"padding must be an int or a pair (lo, hi), got {padding!r}")
        lo, hi = self.padding
        if not all(isinstance(p, int) and not isinstance(p, bool) for p in (lo, hi)):
            raise InvalidWindowError(f"padding must hold integers, got {self.padding!r}")
        if lo < 0 or hi < 0:
            raise InvalidWindowError(
                f"negative padding ({lo}, {hi}) is not supported; crop the input instead"
            )
        if self.output_padding < 0:
            raise InvalidWindowError(f"output_padding must be >= 0, got {self.output_padding}")
        if self.output_padding and not self.transposed:
            raise InvalidWindowError(
                "output_padding only applies to transposed windows (conv_transpose)"
            )
        limit = max(self.stride, self.dilation)
        if self.transposed and self.output_padding >= limit:
            raise InvalidWindowError(
                f"output_padding {self.output_padding} must be smaller than "
                f"max(stride, dilation) = max({self.stride}, {self.dilation}) = {limit}"
            )
        if self.transposed and self.ceil_mode:
            raise InvalidWindowError("ceil_mode does not apply to transposed windows")

    # --- basic quantities -------------------------------------------------------------

    @property
    def extent(self) -> int:
        """Span of the dilated kernel: ``d·(k−1) + 1``."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def pad_lo(self) -> int:
        return self.padding[0]

    @property
    def pad_hi(self) -> int:
        return self.padding[1]

    @property
    def has_gaps(self) -> bool:
        """True when some interior pixels are never read, whatever the input size.

        An interior pixel ``x`` is read iff ``x + lo ≡ t·d (mod s)`` for some tap ``t``,
        so there are gaps exactly when the taps ``t·d mod s`` miss a residue.

        >>> Window(kernel=1, stride=2).has_gaps, Window(kernel=2, stride=2).has_gaps
        (True, False)
        >>> Window(kernel=2, stride=2, dilation=2).has_gaps
        True
        """
        if self.transposed:
            return False
        residues = {(t * self.dilation) % self.stride for t in range(self.kernel)}
        return len(residues) < self.stride

    def describe(self) -> str:
        """A short constructor-like description, e.g. ``k=3 s=2 p=(1,1)``."""
        parts = [f"k={self.kernel}", f"s={self.stride}"]
        if self.dilation != 1:
            parts.append(f"d={self.dilation}")
        parts.append(f"p=({self.pad_lo},{self.pad_hi})")
        if self.ceil_mode:
            parts.append("ceil")
        if self.transposed:
            parts.append("transposed")
            if self.output_padding:
                parts.append(f"op={self.output_padding}")
        return " ".join(parts)

    # --- output size --------------------------------------------------------------------

    def _raw_output_size(self, n: int) -> int:
        s, e, lo, hi = self.stride, self.extent, self.pad_lo, self.pad_hi
        if self.transposed:
            return (n - 1) * s - lo - hi + e + self.output_padding
        if not self.ceil_mode:
            return _floor_div(n + lo + hi - e, s) + 1
        out = _ceil_div(n + lo + hi - e, s) + 1
        if (out - 1) * s >= n + lo:  # the last window would start in the right padding
            out -= 1
        return out

    def formula(self, n: int) -> str:
        """The output-size formula with the numbers filled in.

        >>> Window(kernel=7, stride=2, padding=(3, 3)).formula(224)
        'floor((224 + 3 + 3 - 7)/2) + 1 = 112'
        """
        s, e, lo, hi = self.stride, self.extent, self.pad_lo, self.pad_hi
        out = self._raw_output_size(n)
        if self.transposed:
            return f"({n} - 1)*{s} - {lo} - {hi} + {e} + {self.output_padding} = {out}"
        if not self.ceil_mode:
            return f"floor(({n} + {lo} + {hi} - {e})/{s}) + 1 = {out}"
        text = f"ceil(({n} + {lo} + {hi} - {e})/{s}) + 1"
        if _ceil_div(n + lo + hi - e, s) + 1 != out:
            text += " - 1 (the last window would start in the right padding)"
        return f"{text} = {out}"

    def output_size(self, n: int) -> int:
        """Output length for an input of ``n`` pixels; raises `OutputSizeError` if none."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise OutputSizeError(f"input size must be an integer >= 1, got {n!r}")
        out = self._raw_output_size(n)
        if out < 1:
            if self.transposed:
                raise OutputSizeError(
                    f"conv_transpose: input {n} with {self.describe()} gives output "
                    f"{self.formula(n)}; reduce the padding"
                )
            raise OutputSizeError(
                f"input {n} with kernel {self.kernel}, dilation {self.dilation}, padding "
                f"({self.pad_lo}, {self.pad_hi}) gives output {self.formula(n)}: the "
                f"window (extent {self.extent}) is larger than the padded input "
                f"{n + self.pad_lo + self.pad_hi}; use an input of at least "
                f"{self.min_input_size()} or more padding"
            )
        return out

    def min_input_size(self) -> int:
        """The smallest input size with a valid output."""
        n = 1
        while self._raw_output_size(n) < 1:  # at most e steps: n = e always fits
            n += 1
        return n

    # --- which input pixels an output reads -------------------------------------------

    def span(self, i: int) -> tuple[int, int]:
        """Inclusive interval of input coordinates that output ``i`` may read.

        For a forward window the interval includes padding coordinates. For a transposed
        window it is the range of input indices that contribute to output ``i``.

        >>> Window(kernel=3, stride=2, padding=(1, 1)).span(1)
        (1, 3)
        >>> Window(kernel=4, stride=2, padding=(1, 1), transposed=True).span(3)
        (1, 2)
        """
        s, e, lo = self.stride, self.extent, self.pad_lo
        if self.transposed:
            return _ceil_div(i + lo - (e - 1), s), _floor_div(i + lo, s)
        start = i * s - lo
        return start, start + e - 1

    def taps(self, i: int) -> tuple[int, ...]:
        """Input coordinates that output ``i`` actually reads (dilation leaves holes).

        >>> Window(kernel=3, dilation=2).taps(0)
        (0, 2, 4)
        >>> Window(kernel=4, stride=2, padding=(1, 1), transposed=True).taps(3)
        (1, 2)
        """
        s, d, lo = self.stride, self.dilation, self.pad_lo
        if self.transposed:
            # output i = j·s − lo + t·d  ⇒  j = (i + lo − t·d) / s when that divides exactly
            hits = [(i + lo - t * d) // s for t in range(self.kernel) if (i + lo - t * d) % s == 0]
            return tuple(sorted(hits))
        start = i * s - lo
        return tuple(start + t * d for t in range(self.kernel))

    def reads(self, i: int, n: int) -> tuple[int, ...]:
        """What output ``i`` reads of an input of ``n`` pixels, as a picture draws it: a
        forward window's taps, padding included (a coordinate outside ``0..n-1`` is
        padding); a transposed window's taps that are real inputs (its "padding" is
        cropped output, not input).

        >>> Window(kernel=3, stride=2, padding=(1, 1)).reads(0, 5)
        (-1, 0, 1)
        >>> Window(kernel=3, stride=2, transposed=True).reads(4, 2)
        (1,)
        """
        taps = self.taps(i)
        return tuple(j for j in taps if 0 <= j < n) if self.transposed else taps

    def _tap_positions(self, n: int) -> np.ndarray:
        """All (output, tap) input coordinates of a forward window, flattened."""
        starts = np.arange(self.output_size(n)) * self.stride - self.pad_lo
        offsets = np.arange(self.kernel) * self.dilation
        return (starts[:, None] + offsets[None, :]).ravel()

    def coverage(self, n: int) -> np.ndarray:
        """How many outputs read each real input pixel (length ``n``).

        >>> Window(kernel=3, stride=2, padding=(1, 1)).coverage(6).tolist()
        [1, 2, 1, 2, 1, 1]
        >>> Window(kernel=3, stride=2, transposed=True).coverage(3).tolist()
        [3, 3, 3]
        """
        counts = np.zeros(n, dtype=np.int64)
        if self.transposed:
            out = self.output_size(n)
            # input j writes to outputs j·s − lo + t·d for each tap t that lands in range
            positions = (
                np.arange(n)[:, None] * self.stride
                - self.pad_lo
                + np.arange(self.kernel)[None, :] * self.dilation
            )
            return ((positions >= 0) & (positions < out)).sum(axis=1).astype(np.int64)
        positions = self._tap_positions(n)
        real = positions[(positions >= 0) & (positions < n)]
        np.add.at(counts, real, 1)
        return counts

    def unread(self, n: int) -> Unread:
        """Input pixels no output reads, split into real pixels and padding.

        >>> Window(kernel=3, stride=2, padding=(0, 1)).unread(6)
        Unread(real=(), padding=())
        >>> Window(kernel=1, stride=2, padding=(1, 1)).unread(4)
        Unread(real=(0, 2), padding=(4,))
        """
        coverage = self.coverage(n)
        real = tuple(int(i) for i in np.flatnonzero(coverage == 0))
        if self.transposed:
            return Unread(real=real, padding=())
        positions = self._tap_positions(n)
        read = set(positions[(positions < 0) | (positions >= n)].tolist())  # padding taps only
        pads = [*range(-self.pad_lo, 0), *range(n, n + self.pad_hi)]
        return Unread(real=real, padding=tuple(p for p in pads if p not in read))

    def remainder(self, n: int) -> int:
        """``(n + lo + hi − e) mod s``: padded pixels past the last full window."""
        if self.transposed:
            return 0
        return (n + self.pad_lo + self.pad_hi - self.extent) % self.stride

    def dropped_end(self, n: int) -> int:
        """Real pixels after the end of the last window (0 for transposed windows).

        >>> Window(kernel=3, stride=2).dropped_end(224)
        1
        """
        if self.transposed:
            return 0
        out = self.output_size(n)
        last = (out - 1) * self.stride - self.pad_lo + self.extent - 1
        return max(0, n - 1 - last)
