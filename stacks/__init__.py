"""Declarative ZenML stack specs (``stacks/*.yaml``) and the commands that apply them."""
