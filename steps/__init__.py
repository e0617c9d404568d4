"""ZenML steps: thin adapters that read settings, call ``ml`` functions and name their outputs."""
