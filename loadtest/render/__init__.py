"""What every report of the lab shares: how numbers read (`format`), tables as records (`table`), one jinja2 setup.

`sessionlab compare` (its matrix, capacity and cross-check), `sessionlab bench` and `sessionlab probe` all
render through these, so a millisecond, a rate or a table looks the same in every report.
"""
