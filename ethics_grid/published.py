"""The record of published grid versions: version -> fingerprint of its content.

Adding a line here is the act of publishing a version. :func:`ethics_grid.grid.load_grid`
then refuses the version if its file is ever edited (a changed fingerprint), so an
assessment made on it keeps meaning what it meant (ethics_grid.md section 4). A
changed wording ships as a new ``grid_v<N>.yaml`` with a ``mapping_from`` table.
"""

PUBLISHED_FINGERPRINTS: dict[str, str] = {
    "3": "ed24f0824b55136a2997f83dacec1037879c2a8a4233935c185ae2b12fc8fabf",
}
