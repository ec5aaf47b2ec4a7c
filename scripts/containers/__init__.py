"""The container checks behind ``scripts/check_containers.py``, split by job.

``podman`` holds what every step shares (paths, the images, the ``podman`` runner, ``CheckError``);
``images`` builds the base image, the wheelhouse and the images (step ``build``); ``manifests``
reads the rendered local overlay (workloads, ConfigMaps, ``$(VAR)`` expansion, quantities) and
runs the manifests' probes the way the kubelet does; ``stack`` runs Redis, the worker and the app
with ``podman run`` from their pod templates (step ``stack``); ``kube`` plays the adapted overlay
with ``podman kube play`` (step ``kube``). ``scripts/check_containers.py`` is the command line and
re-exports the public names.
"""
