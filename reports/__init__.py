"""Rendering of what the registry holds: the auditor's dossier as a sealed, verifiable PDF.

``reports`` never touches the database: the registry hands it a plain snapshot dict
(``registry.services.dossiers.assemble``) and a signing function, and gets PDF bytes back.
Verification (``reports.integrity.verify_pdf``) works on the file alone, offline.
"""
