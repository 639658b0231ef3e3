"""The heads: profile_count, soft_bins, regression (the baselines add deepstarr and mprann)."""
