"""The yearly renewal report and the deadline calendar: pure statistics, set-based loading, rendering."""
