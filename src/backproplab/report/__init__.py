"""The HTML report: every experiment run and written up on one page."""

from backproplab.report.build import SECTIONS, build_report

__all__ = ["SECTIONS", "build_report"]
