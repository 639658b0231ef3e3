"""The heads: profile_count, soft_bins, regression (the baselines add deepstarr and mprann).

Importing this package registers them with :mod:`dream_keras.registry`.
"""

from dream_keras.heads import profile_count, regression, soft_bins  # noqa: F401  (registration on import)
