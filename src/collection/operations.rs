//! Update operations: what the WAL stores and the update worker applies.
//!
//! An operation is validated against the collection config and
//! preprocessed (Cosine vectors normalised) before it is written to the WAL,
//! so that replay is deterministic and never meets bad input. Applying an
//! operation checks everything that depends on current state (such as
//! whether the points exist) before changing anything, so a batch is
//! applied whole or not at all.

use serde::{Deserialize, Serialize};

use super::config::CollectionConfig;
use super::error::CollectionError;
use crate::index::distance::Distance;
use crate::segment::filter::{self, Filter, JsonPath};
use crate::segment::payload::Payload;
use crate::segment::payload_index::FieldSchema;
use crate::segment::point_id::PointId;
use crate::segment::NamedVectors;

use super::holder::{field_path, SegmentHolder};

/// Which points an operation touches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PointsSelector {
    Ids(Vec<PointId>),
    Filter(Filter),
}

/// A point as upserted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointInsert {
    pub id: PointId,
    pub vectors: NamedVectors,
    pub payload: Payload,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UpdateOperation {
    Upsert {
        points: Vec<PointInsert>,
    },
    Delete {
        selector: PointsSelector,
    },
    SetPayload {
        payload: Payload,
        selector: PointsSelector,
        key: Option<String>,
    },
    OverwritePayload {
        payload: Payload,
        selector: PointsSelector,
    },
    DeletePayload {
        keys: Vec<String>,
        selector: PointsSelector,
    },
    ClearPayload {
        selector: PointsSelector,
    },
    UpdateVectors {
        points: Vec<(PointId, NamedVectors)>,
    },
    DeleteVectors {
        selector: PointsSelector,
        names: Vec<String>,
    },
    /// Creates a payload index; in the WAL so that it is ordered with point
    /// updates and replayed after a crash like them.
    CreateFieldIndex {
        field_name: String,
        field_schema: FieldSchema,
    },
    DeleteFieldIndex {
        field_name: String,
    },
}

impl UpdateOperation {
    /// Checks the operation against `config` and normalises Cosine vectors.
    /// `field` prefixes error paths (e.g. `points`).
    pub fn prepare(&mut self, config: &CollectionConfig) -> Result<(), CollectionError> {
        match self {
            UpdateOperation::Upsert { points } => {
                for (i, p) in points.iter_mut().enumerate() {
                    if config.params.vectors.get("").is_some() && !p.vectors.contains_key("") {
                        return Err(CollectionError::validation(
                            format!("points[{i}].vector"),
                            "the collection has an unnamed vector; the point must give it",
                        ));
                    }
                    prepare_vectors(&mut p.vectors, config, &format!("points[{i}].vector"))?;
                }
            }
            UpdateOperation::UpdateVectors { points } => {
                for (i, (_, vectors)) in points.iter_mut().enumerate() {
                    if vectors.is_empty() {
                        return Err(CollectionError::validation(
                            format!("points[{i}].vector"),
                            "must not be empty",
                        ));
                    }
                    prepare_vectors(vectors, config, &format!("points[{i}].vector"))?;
                }
            }
            UpdateOperation::DeleteVectors { selector, names } => {
                for name in names.iter() {
                    if config.params.vectors.get(name).is_none() {
                        return Err(CollectionError::BadInput(format!(
                            "Not existing vector name error: {name}"
                        )));
                    }
                }
                validate_selector(selector)?;
            }
            UpdateOperation::SetPayload { selector, key, .. } => {
                if let Some(key) = key {
                    key.parse::<JsonPath>()
                        .map_err(|e| CollectionError::validation("key", e.to_string()))?;
                }
                validate_selector(selector)?;
            }
            UpdateOperation::DeletePayload { keys, selector } => {
                for key in keys.iter() {
                    key.parse::<JsonPath>()
                        .map_err(|e| CollectionError::validation("keys", e.to_string()))?;
                }
                validate_selector(selector)?;
            }
            UpdateOperation::Delete { selector }
            | UpdateOperation::OverwritePayload { selector, .. }
            | UpdateOperation::ClearPayload { selector } => validate_selector(selector)?,
            UpdateOperation::CreateFieldIndex { field_name, .. }
            | UpdateOperation::DeleteFieldIndex { field_name } => {
                field_path(field_name)?;
            }
        }
        Ok(())
    }

    /// Applies the operation to the collection's segments, all or nothing.
    pub fn apply(&self, segment: &mut SegmentHolder) -> Result<(), CollectionError> {
        match self {
            UpdateOperation::Upsert { points } => {
                for p in points {
                    segment.upsert(p.id, &p.vectors, p.payload.clone())?;
                }
            }
            UpdateOperation::Delete { selector } => {
                for id in resolve(segment, selector) {
                    segment.delete(id)?;
                }
            }
            UpdateOperation::SetPayload {
                payload,
                selector,
                key,
            } => {
                let ids = resolve_existing(segment, selector)?;
                let path = match key {
                    Some(k) => Some(
                        k.parse::<JsonPath>()
                            .map_err(|e| CollectionError::validation("key", e.to_string()))?,
                    ),
                    None => None,
                };
                for id in ids {
                    segment.modify_payload(id, |current| match &path {
                        Some(path) => filter::set_at(current, path, payload),
                        None => filter::merge(current, payload),
                    })?;
                }
            }
            UpdateOperation::OverwritePayload { payload, selector } => {
                for id in resolve_existing(segment, selector)? {
                    segment.modify_payload(id, |current| *current = payload.clone())?;
                }
            }
            UpdateOperation::DeletePayload { keys, selector } => {
                let paths = keys
                    .iter()
                    .map(|k| {
                        k.parse::<JsonPath>()
                            .map_err(|e| CollectionError::validation("keys", e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                for id in resolve_existing(segment, selector)? {
                    segment.modify_payload(id, |current| {
                        for path in &paths {
                            filter::remove_at(current, path);
                        }
                    })?;
                }
            }
            UpdateOperation::ClearPayload { selector } => {
                for id in resolve_existing(segment, selector)? {
                    segment.modify_payload(id, |current| current.clear())?;
                }
            }
            UpdateOperation::UpdateVectors { points } => {
                if let Some((id, _)) = points.iter().find(|(id, _)| !segment.contains(*id)) {
                    return Err(CollectionError::NotFound(format!(
                        "No point with id {id} found"
                    )));
                }
                for (id, vectors) in points {
                    segment.update_vectors(*id, vectors)?;
                }
            }
            UpdateOperation::DeleteVectors { selector, names } => {
                for id in resolve_existing(segment, selector)? {
                    segment.delete_vectors(id, names)?;
                }
            }
            UpdateOperation::CreateFieldIndex {
                field_name,
                field_schema,
            } => segment.create_index(field_name, field_path(field_name)?, field_schema.clone())?,
            UpdateOperation::DeleteFieldIndex { field_name } => {
                // Deleting an absent index succeeds, as in Qdrant.
                segment.delete_index(field_name);
            }
        }
        Ok(())
    }
}

fn prepare_vectors(
    vectors: &mut NamedVectors,
    config: &CollectionConfig,
    field: &str,
) -> Result<(), CollectionError> {
    for (name, v) in vectors.iter_mut() {
        let Some(params) = config.params.vectors.get(name) else {
            let shown = if name.is_empty() {
                "(unnamed)"
            } else {
                name.as_str()
            };
            return Err(CollectionError::BadInput(format!(
                "{field}: Not existing vector name error: {shown}"
            )));
        };
        if v.len() as u64 != params.size {
            return Err(CollectionError::BadInput(format!(
                "{field}: Vector dimension error: expected dim: {}, got {}",
                params.size,
                v.len()
            )));
        }
        if let Some(pos) = v.iter().position(|x| !x.is_finite()) {
            return Err(CollectionError::BadInput(format!(
                "{field}: value at position {pos} is not a finite number"
            )));
        }
        params.distance.preprocess(v);
        debug_assert!(params.distance != Distance::Cosine || v.iter().all(|x| x.is_finite()));
    }
    Ok(())
}

fn validate_selector(selector: &PointsSelector) -> Result<(), CollectionError> {
    match selector {
        PointsSelector::Ids(_) => Ok(()),
        PointsSelector::Filter(f) => f
            .validate()
            .map_err(|e| CollectionError::validation("filter", e)),
    }
}

/// Ids the selector names that exist, in ascending order for filters.
fn resolve(segment: &SegmentHolder, selector: &PointsSelector) -> Vec<PointId> {
    match selector {
        PointsSelector::Ids(ids) => ids.clone(),
        PointsSelector::Filter(f) => segment.scroll(None, Some(f), usize::MAX),
    }
}

/// Like [`resolve`], but explicitly named ids must all exist.
fn resolve_existing(
    segment: &SegmentHolder,
    selector: &PointsSelector,
) -> Result<Vec<PointId>, CollectionError> {
    let ids = resolve(segment, selector);
    if let PointsSelector::Ids(_) = selector {
        if let Some(missing) = ids.iter().find(|id| !segment.contains(**id)) {
            return Err(CollectionError::NotFound(format!(
                "No point with id {missing} found"
            )));
        }
    }
    Ok(ids)
}
