"""DMD Registry: persistence, policy and the web/API/CLI edges around the pure libraries."""
