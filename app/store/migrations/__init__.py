"""Schema migrations of the study store: ordered ``NNN_name.sql`` files, applied once each.

Numbering: 001-099 the core store (patients, studies, series, instances, derived objects);
100-149 findings and reports; 200 and up later work (node jobs, ...). See ``app.store.migrate``.
"""
