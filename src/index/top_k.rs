//! Top-k selection of scored points.
