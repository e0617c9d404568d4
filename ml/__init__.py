"""Plain functions of the project: no ZenML imports here, everything unit tested directly."""
