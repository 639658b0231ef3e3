"""``dream-keras pipeline``: reads or a bigWig to a trained, evaluated, checked model and its report.

:func:`run_pipeline` runs the stages of :mod:`dream_keras.tasks.atac.pipeline.stages` into one folder, each
stage in its own subfolder with a completion record, so ``resume`` skips finished stages and a
killed pipeline continues from the last finished one. Keras is imported only when a stage runs.
"""

from dream_keras.tasks.atac.pipeline.parameters import PipelineParameters
from dream_keras.tasks.atac.pipeline.runner import PipelineResult, run_pipeline

__all__ = ["PipelineParameters", "PipelineResult", "run_pipeline"]
