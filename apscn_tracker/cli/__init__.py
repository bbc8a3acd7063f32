"""The ``apscn`` command: thin shells over ``apscn_tracker.services``. Heavy imports stay inside commands."""
