"""Many samples through ``dream-keras pipeline``.

A sample sheet, one pipeline folder per sample, a shared bias model, and the study's summary table and report.

- :mod:`~dream_keras.tasks.atac.study.sample_sheet`: read and check the sheet;
- :mod:`~dream_keras.tasks.atac.study.runner`: run the samples (all, or one for a job array);
- :mod:`~dream_keras.tasks.atac.study.summary`: ``summary.tsv`` from the sample folders;
- :mod:`~dream_keras.tasks.atac.study.report`: ``report.html``.
"""

from dream_keras.tasks.atac.study.runner import StudyRun, run_study
from dream_keras.tasks.atac.study.sample_sheet import SampleRow, SampleSheet, read_sample_sheet
from dream_keras.tasks.atac.study.summary import StudySummary, summarize_study

__all__ = ["SampleRow", "SampleSheet", "StudyRun", "StudySummary", "read_sample_sheet", "run_study",
           "summarize_study"]
