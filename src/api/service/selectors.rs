//! `with_payload` / `with_vector` selectors and the point shapes they shape.

use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::collection::{config::VectorsConfig, StoredPoint};
use crate::segment::filter::{remove_at, JsonPath, PathStep};
use crate::segment::payload::Payload;
use crate::segment::point_id::PointId;
use crate::segment::NamedVectors;

/// `with_payload`: a bool, a list of keys, or `{include}` / `{exclude}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WithPayload {
    Enable(bool),
    Fields(Vec<String>),
    Selector(PayloadSelector),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadSelector {
    Include(Vec<String>),
    Exclude(Vec<String>),
}

/// `with_vector` (also spelled `with_vectors`): a bool or a list of names.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WithVector {
    Enable(bool),
    Names(Vec<String>),
}

impl WithPayload {
    pub fn validate(&self) -> Result<(), ApiError> {
        let keys = match self {
            WithPayload::Enable(_) => return Ok(()),
            WithPayload::Fields(k) => k,
            WithPayload::Selector(PayloadSelector::Include(k) | PayloadSelector::Exclude(k)) => k,
        };
        for key in keys {
            key.parse::<JsonPath>()
                .map_err(|e| ApiError::validation("with_payload", e.to_string()))?;
        }
        Ok(())
    }

    /// The payload to return, or `None` when payloads are not wanted.
    pub fn select(&self, payload: &Payload) -> Option<Payload> {
        match self {
            WithPayload::Enable(false) => None,
            WithPayload::Enable(true) => Some(payload.clone()),
            WithPayload::Fields(keys) | WithPayload::Selector(PayloadSelector::Include(keys)) => {
                let mut out = Payload::new();
                for key in keys {
                    if let Ok(path) = key.parse::<JsonPath>() {
                        copy_path(payload, &path, &mut out);
                    }
                }
                Some(out)
            }
            WithPayload::Selector(PayloadSelector::Exclude(keys)) => {
                let mut out = payload.clone();
                for key in keys {
                    if let Ok(path) = key.parse::<JsonPath>() {
                        remove_at(&mut out, &path);
                    }
                }
                Some(out)
            }
        }
    }
}

/// Copies the value at `path` from `source` into `out` at the same place.
/// Key-only paths (`a.b.c`) copy exactly that sub-value; a path through an
/// array copies its whole top-level key.
fn copy_path(source: &Payload, path: &JsonPath, out: &mut Payload) {
    let Some(top) = source.get(path.head()) else {
        return;
    };
    let keys: Option<Vec<&str>> = path
        .steps()
        .iter()
        .map(|s| match s {
            PathStep::Key(k) => Some(k.as_str()),
            PathStep::Index(_) | PathStep::EachElement => None,
        })
        .collect();
    let Some(keys) = keys else {
        out.insert(path.head().to_string(), top.clone());
        return;
    };
    let mut value = top;
    for key in &keys {
        match value.get(*key) {
            Some(v) => value = v,
            None => return,
        }
    }
    // Rebuild the chain of objects down to the copied value.
    let mut slot = out
        .entry(path.head().to_string())
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    for key in &keys {
        if !slot.is_object() {
            *slot = serde_json::Value::Object(Default::default());
        }
        let Some(map) = slot.as_object_mut() else {
            return;
        };
        slot = map
            .entry(key.to_string())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
    }
    *slot = value.clone();
}

impl WithVector {
    pub fn validate(&self, vectors: &VectorsConfig) -> Result<(), ApiError> {
        if let WithVector::Names(names) = self {
            for name in names {
                if vectors.get(name).is_none() {
                    return Err(ApiError::BadInput(format!(
                        "with_vector: Not existing vector name error: {name}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Vectors to return in Qdrant's output shape: a bare list for the
    /// unnamed vector, otherwise a map by name.
    pub fn select(&self, vectors: &NamedVectors, config: &VectorsConfig) -> Option<VectorOutput> {
        let wanted: NamedVectors = match self {
            WithVector::Enable(false) => return None,
            WithVector::Enable(true) => vectors.clone(),
            WithVector::Names(names) => vectors
                .iter()
                .filter(|(n, _)| names.contains(n))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        };
        match config {
            VectorsConfig::Single(_) => Some(VectorOutput::Single(
                wanted.get("").cloned().unwrap_or_default(),
            )),
            VectorsConfig::Multi(_) => Some(VectorOutput::Named(wanted)),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum VectorOutput {
    Single(Vec<f32>),
    Named(NamedVectors),
}

/// A point as returned by retrieve and scroll.
#[derive(Debug, Serialize)]
pub struct RecordResponse {
    pub id: PointId,
    pub payload: Option<Payload>,
    pub vector: Option<VectorOutput>,
}

impl RecordResponse {
    pub fn new(
        p: &StoredPoint,
        with_payload: &WithPayload,
        with_vector: &WithVector,
        config: &VectorsConfig,
    ) -> Self {
        RecordResponse {
            id: p.id,
            payload: with_payload.select(&p.payload),
            vector: with_vector.select(&p.vectors, config),
        }
    }
}
