"""Schemas: Issued PDF dossiers and their integrity records (issue #9)."""

from __future__ import annotations
