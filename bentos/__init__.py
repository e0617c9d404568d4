"""The BentoML service of the production model and what it needs: the native model bundle, the
API schema, the inference log and the server's runtime settings. Nothing here imports training
code or ZenML, so the Bento stays small."""
