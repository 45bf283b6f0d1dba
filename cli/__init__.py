"""`brq`, the command line client of the REST API, with PGO v4's verbs and flags.

It talks to the service only over HTTP (`client.py`); it imports neither `app` nor `tasks`.
"""
