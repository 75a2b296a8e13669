"""Figures and reports: the only subpackage that imports jinja2.

- :mod:`.html`: ``report.html`` of a fit (figures embedded) and the one jinja2
  path (:func:`render_report`) that ``refglm compare`` renders through too;
- :mod:`.methods`: the methods paragraph and parameter table, generated from the run;
- :mod:`.wording`: every sentence that states a rule (the cluster-size filter, the
  peaks of a cluster table, map titles).
"""

from refglm.report.html import render_report, write_products
from refglm.report.methods import engine_summary, methods_paragraph, parameter_rows
from refglm.report.wording import cluster_rule_text, map_title, peak_rule_text, tutorial_title_note

__all__ = [
    "write_products",
    "render_report",
    "methods_paragraph",
    "parameter_rows",
    "engine_summary",
    "cluster_rule_text",
    "peak_rule_text",
    "map_title",
    "tutorial_title_note",
]
