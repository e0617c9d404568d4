"""The edges: everything that touches the outside world (files, databases, HTTP, the Evidently
workspace, environment variables naming where state lives). ``ml/`` computes; steps call ``ml/`` for
the computation and ``adapters/`` for the reads and writes. Nothing here imports steps or pipelines.

Kept import-free: ``adapters/state.py`` ships in the Bento (bentofile.yaml), so importing the
package must not pull in anything else."""
