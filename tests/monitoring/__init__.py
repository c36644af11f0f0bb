"""Tests of the pure monitoring library."""
