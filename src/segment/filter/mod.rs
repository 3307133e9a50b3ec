//! Qdrant filters: parsing and evaluation against payloads and point ids.
//!
//! So far only key paths into payloads (`path.rs`), with the payload edits
//! behind set_payload and delete_payload with keys.

#![deny(unsafe_code)]

mod path;

pub use path::{merge, remove_at, set_at, values_at, JsonPath, PathError, PathStep};
