//! A collection: its update worker and search fan-out.
