"""Data: the demo generator, readers/writers at the edge, and schema validation."""
