"""Code all three Duban services import. Imports nothing from `services`."""
