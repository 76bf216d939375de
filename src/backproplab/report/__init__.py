"""The HTML report: each section renders a finished study (see :mod:`backproplab.report.build`)."""

from backproplab.report.build import SECTIONS, ReportSection, build_report

__all__ = ["SECTIONS", "ReportSection", "build_report"]
