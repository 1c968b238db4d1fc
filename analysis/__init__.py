"""Automated detection of trains, wagons, ships and cargo on a scene against a baseline.

Imports nothing from ``tiles``, ``overlays`` or ``tumen``: the composition package calls
``analyze(image, baseline, transform, valid=..., references=...)`` and stores what it returns.
"""

from analysis.detect import analyze
from analysis.errors import AnalysisError
from analysis.models import AnalysisResult, Detection, References

__all__ = ["AnalysisError", "AnalysisResult", "Detection", "References", "analyze"]
