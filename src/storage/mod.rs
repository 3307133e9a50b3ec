//! The registry of collections and aliases.
