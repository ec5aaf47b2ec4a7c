"""The worker's REST API v1, declared once.

- :mod:`api.rules`: the field rules (username pattern, password length, star steps, paging,
  text limits) as plain constants and checks, with no third-party import, so the app image
  (streamlit + requests only) uses the very rules the worker enforces.
- :mod:`api.fields`, :mod:`api.inputs`, :mod:`api.answers`: pydantic models of every
  request body, query and response body built on those rules. The worker validates with them
  (:mod:`worker.endpoint`) and serves the OpenAPI document generated from them
  (:mod:`worker.openapi`).
"""
