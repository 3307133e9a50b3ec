//! Qdrant filters: parsing and evaluation against payloads and point ids.
