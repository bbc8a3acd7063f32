"""Use cases: one function each, one transaction each. The CLI and the scheduler call these."""
