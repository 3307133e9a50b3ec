//! Payload index operations: create and delete (both WAL operations, so
//! they are ordered with point updates), and the `payload_schema` object of
//! collection info.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::points::UpdateResultResponse;
use super::{ApiError, Service};
use crate::collection::operations::UpdateOperation;
use crate::collection::Collection;
use crate::segment::payload_index::{FieldSchema, SchemaType};

/// `PUT /collections/{name}/index`: Qdrant's `CreateFieldIndex`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateFieldIndexRequest {
    pub field_name: String,
    #[serde(default)]
    pub field_schema: Option<Value>,
}

/// One entry of collection info's `payload_schema`: Qdrant's
/// `PayloadIndexInfo`.
#[derive(Debug, Serialize)]
pub struct PayloadIndexInfoResponse {
    pub data_type: SchemaType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
    pub points: usize,
}

impl Service {
    pub fn create_field_index(
        &self,
        collection: &str,
        req: CreateFieldIndexRequest,
        wait: bool,
    ) -> Result<UpdateResultResponse, ApiError> {
        let collection = self.storage.collection(collection)?;
        // Qdrant would infer a type from the stored values; an explicit
        // schema is clearer and the official clients always send one.
        let value = req.field_schema.filter(|v| !v.is_null()).ok_or_else(|| {
            ApiError::BadInput(
                "field_schema: required; one of keyword, integer, float, bool, datetime, uuid, \
                 text, or a params object"
                    .into(),
            )
        })?;
        let field_schema = FieldSchema::parse(&value).map_err(ApiError::BadInput)?;
        if req.field_name.is_empty() {
            return Err(ApiError::validation("field_name", "must not be empty"));
        }
        let op = UpdateOperation::CreateFieldIndex {
            field_name: req.field_name,
            field_schema,
        };
        Ok(collection.update(op, wait)?.into())
    }

    pub fn delete_field_index(
        &self,
        collection: &str,
        field_name: &str,
        wait: bool,
    ) -> Result<UpdateResultResponse, ApiError> {
        let collection = self.storage.collection(collection)?;
        let op = UpdateOperation::DeleteFieldIndex {
            field_name: field_name.to_string(),
        };
        Ok(collection.update(op, wait)?.into())
    }
}

/// Collection info's `payload_schema`, by field name.
pub fn payload_schema(collection: &Collection) -> Map<String, Value> {
    collection
        .payload_indexes()
        .into_iter()
        .map(|info| {
            let entry = PayloadIndexInfoResponse {
                data_type: info.schema.data_type,
                params: info.schema.params,
                points: info.points,
            };
            // Serialising plain strings, maps and numbers cannot fail.
            let value = serde_json::to_value(entry).unwrap_or(Value::Null);
            (info.field_name, value)
        })
        .collect()
}
