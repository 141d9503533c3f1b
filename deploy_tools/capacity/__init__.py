"""The capacity test: the highest request rate an endpoint sustains within its latency
objective, and the ``target_invocations_per_instance`` that follows from it.

Only :mod:`deploy_tools.capacity.load` imports Locust (which monkey-patches the whole process
with gevent); it always runs in a process of its own. Nothing else here imports it.
"""
