"""The pure pgBackRest layer: option allowlists, restore targets, argv, pgbackrest.conf texts, exit codes, info.

Nothing here does I/O; see README.md.
"""
