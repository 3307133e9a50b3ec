//! Payloads: the JSON object stored beside a point's vectors.

/// A point's payload: a JSON object, keys in insertion order.
pub type Payload = serde_json::Map<String, serde_json::Value>;
