r"""Natural-image patches: the photographs scikit-learn ships, cut into rows or squares.

:func:`natural_patches` cuts ``count`` patches — 1D strips of ``size`` consecutive pixels of
an image row (``dim=1``) or ``size × size`` squares (``dim=2``) — at random positions from
the two colour photographs bundled inside scikit-learn's wheel
(:func:`sklearn.datasets.load_sample_images`: ``china.jpg`` and ``flower.jpg``, 427 × 640;
no network needed), converted to 8-bit grey levels (ITU-R 601 luma
:math:`0.299R + 0.587G + 0.114B`, rounded to an integer, as ``PIL.Image.convert("L")``).
:func:`phase_scramble` keeps each patch's Fourier
amplitudes and draws new phases, which keeps the power spectrum (hence the
translation-averaged covariance) and destroys the higher-order structure.

:class:`NaturalPatches` is the data model (``params["model"] = "natural-patches"``): an
:class:`~rfloc.numerics.data.empirical.Empirical` model of such patches, standardised per
pixel; its Gaussian clone is ``{"model": "gaussian-clone", "of": {...}}``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from rfloc.errors import ParameterError, check_int
from rfloc.numerics.data._base import check_dim
from rfloc.numerics.data._registry import register
from rfloc.numerics.data.empirical import Empirical

__all__ = ["NaturalPatches", "grey_images", "natural_patches", "phase_scramble"]

_LUMA = np.array([0.299, 0.587, 0.114])


@lru_cache(maxsize=1)
def grey_images() -> tuple[np.ndarray, ...]:
    """scikit-learn's sample photographs as 8-bit grey levels in float64 arrays (427, 640),
    read-only."""
    try:
        from sklearn.datasets import load_sample_images
    except ImportError:
        raise ParameterError("natural images need scikit-learn (and Pillow): pip install "
                             "scikit-learn pillow") from None
    out = []
    for img in load_sample_images().images:
        grey = np.rint(np.asarray(img, dtype=np.float64) @ _LUMA)
        grey.flags.writeable = False
        out.append(grey)
    return tuple(out)


def natural_patches(size: int = 40, dim: int = 1, count: int = 20_000,
                    seed: int = 0) -> np.ndarray:
    """``count`` grey-level patches, shape (count, size**dim), from random positions
    (read-only; cached, so a task's two classes share one array).

    Patch i comes from image ``i % 2``; positions are uniform over the image and drawn from
    ``numpy.random.default_rng(seed)``, so the same arguments give the same patches.
    """
    size = check_int("size", size, minimum=2)
    dim = check_dim(dim)
    count = check_int("count", count, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    return _patches(size, dim, count, seed)


@lru_cache(maxsize=8)
def _patches(size: int, dim: int, count: int, seed: int) -> np.ndarray:
    images = np.stack(grey_images())
    h, w = images.shape[1:]
    if size > min(h, w):
        raise ParameterError(f"size must be at most {min(h, w)} pixels, got {size}")
    rng = np.random.default_rng(seed)
    which = np.arange(count) % images.shape[0]
    r = rng.integers(0, h - (size if dim == 2 else 1) + 1, size=count)
    c = rng.integers(0, w - size + 1, size=count)
    offs = np.arange(size)
    if dim == 1:
        out = images[which[:, None], r[:, None], c[:, None] + offs[None, :]]
    else:
        out = images[which[:, None, None], r[:, None, None] + offs[None, :, None],
                     c[:, None, None] + offs[None, None, :]].reshape(count, size * size)
    out = np.ascontiguousarray(out, dtype=np.float64)
    out.flags.writeable = False
    return out


def phase_scramble(patches: np.ndarray, dim: int, seed: int = 0) -> np.ndarray:
    r"""Each patch with its Fourier amplitudes kept and its phases replaced by those of
    white noise (Hermitian, so the result is real): same power spectrum, no phase
    structure. ``patches`` (M, size**dim) → same shape."""
    x = np.asarray(patches, dtype=np.float64)
    side = round(x.shape[1] ** (1.0 / dim))
    shape = (x.shape[0], side) if dim == 1 else (x.shape[0], side, side)
    axes = (1,) if dim == 1 else (1, 2)
    field = x.reshape(shape)
    amplitude = np.abs(np.fft.fftn(field, axes=axes))
    noise = np.fft.fftn(np.random.default_rng(seed).standard_normal(shape), axes=axes)
    phases = noise / np.maximum(np.abs(noise), 1e-300)
    return np.fft.ifftn(amplitude * phases, axes=axes).real.reshape(x.shape)


@register("natural-patches")
class NaturalPatches(Empirical):
    """Natural-image patches (:func:`natural_patches`), optionally phase-scrambled.

    Parameters
    ----------
    size, dim, count, seed : int
        As in :func:`natural_patches`.
    scramble : bool
        Phase-scramble the patches (:func:`phase_scramble`, seed ``seed + 1``).
    center : bool
        Subtract each patch's own mean grey level first (removes the local brightness,
        leaving contrast: edges and texture).
    circulant : bool
        Translation-average the covariance (see :class:`Empirical`).
    """

    def __init__(self, size: int = 40, dim: int = 1, count: int = 20_000, seed: int = 0,
                 scramble: bool = False, center: bool = False, circulant: bool = False) -> None:
        rows = natural_patches(size, dim, count, seed)
        if center:
            rows = rows - rows.mean(axis=1, keepdims=True)
        if scramble:
            rows = phase_scramble(rows, dim, seed + 1)
        super().__init__(samples=rows, dim=dim, circulant=circulant)
        self._spec = {"size": int(size), "dim": int(dim), "count": int(count),
                      "seed": int(seed), "scramble": bool(scramble), "center": bool(center),
                      "circulant": bool(circulant)}

    @property
    def params(self) -> dict[str, Any]:
        return {"model": "natural-patches", **self._spec}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> NaturalPatches:
        return cls(**{k: v for k, v in params.items() if k != "model"})

    def describe(self) -> str:
        kind = "phase-scrambled natural patches" if self._spec["scramble"] else \
            "natural patches"
        return (f"{kind} (size {self._spec['size']}, dim {self.dim}, "
                f"{self._spec['count']} patches, seed {self._spec['seed']})")
