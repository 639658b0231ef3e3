"""Task-agnostic training.

Run folders, resumable fitting, seeding, distribution, precision and XLA, optimisers and the sequence-table recipes.
Each task's pipeline lives in :mod:`dream_keras.tasks`.
"""
