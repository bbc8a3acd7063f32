"""The pure core: dates in, decisions out. No clock, database, network or files."""
