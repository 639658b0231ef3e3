"""Self-contained HTML reports of training runs and pipelines (``evaluation/report.html``).

:func:`write_run_report` reads a run folder written by ``dream-keras bias train`` or ``train``;
:func:`write_pipeline_report` reads a ``dream-keras pipeline`` folder. Figures are embedded as
base64 PNG and every user string is escaped, so one file holds the whole report and opens offline.
"""

from dream_keras.tasks.atac.reporting.pipeline_report import write_pipeline_report
from dream_keras.tasks.atac.reporting.run_report import REPORT_NAME, write_run_report

__all__ = ["REPORT_NAME", "write_pipeline_report", "write_run_report"]
