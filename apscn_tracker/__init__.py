"""apscn-tracker: the yearly APSCN eSchoolPLUS API requests of Arkansas districts, tracked."""

__version__ = "0.1.0"
