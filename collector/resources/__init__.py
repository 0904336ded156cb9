"""Local resources (地域資源): catalogue, Japanese open-data import and export, search in
Japanese, and the place where needs (活用ニーズ) and ideas (活用アイデア) meet.

model.py (tables and vocabularies), textnorm.py (normalisation for search and matching),
layouts.py (one declarative table per open-data layout), opendata.py (import and export),
search.py, matching.py, photos.py, pages.py and api.py (the blueprint), cli.py.
"""
