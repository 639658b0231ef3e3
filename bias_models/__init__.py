"""The ChromBPNet-compatible bias stage for any backbone with the profile_count head."""
