"""What every detector reads: the scene, the matched baseline, the change found, the cloud."""

from dataclasses import dataclass

import numpy as np
from affine import Affine


@dataclass
class Context:
    """The prepared pair of images and the change between them."""

    image: np.ndarray  # (3, H, W) uint8, the scene
    baseline: np.ndarray  # (3, H, W) uint8, shifted onto the scene
    luts: np.ndarray  # (3, 256) float32: baseline value -> scene radiometry
    transform: Affine
    gsd: float
    valid: np.ndarray  # bool (H, W)
    usable: np.ndarray  # valid and not cloud
    cloud: np.ndarray  # bool (H, W)
    magnitude: np.ndarray  # float32 (H, W), change magnitude
    changed: np.ndarray  # bool (H, W)
    low: float  # change thresholds (scene DN)
    high: float
    edge_step: tuple[float, float]  # canny low/high as step heights (scene DN)

    def scene_window(self, win: tuple[slice, slice]) -> np.ndarray:
        """The scene over ``win`` as float32 (3, h, w)."""
        return self.image[:, win[0], win[1]].astype("float32")

    def baseline_window(self, win: tuple[slice, slice]) -> np.ndarray:
        """The matched baseline over ``win`` as float32 (3, h, w)."""
        b = self.baseline[:, win[0], win[1]]
        return np.stack([self.luts[i][b[i]] for i in range(b.shape[0])])

    @property
    def fine(self) -> bool:
        """True when single wagons can be told apart (gsd ≤ 0.75 m)."""
        return self.gsd <= 0.75

    def window_transform(self, win: tuple[slice, slice]) -> Affine:
        """The transform of a window."""
        return self.transform * Affine.translation(win[1].start, win[0].start)
