//! The API layer: REST handlers over one shared service layer.
