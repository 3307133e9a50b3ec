//! The schema of one payload index: Qdrant's `field_schema`, either a bare
//! type name (`"keyword"`) or a params object (`{"type": "integer", ...}`).
//!
//! The schema is persisted twice, in the collection's `config.json` and in
//! the WAL record that created the index, so it keeps the params object the
//! user gave (validated, `null` members dropped): collection info echoes it
//! back as `params`, and [`FieldSchema::integer_modes`] and
//! [`FieldSchema::tokenizer`] read the options the engine acts on from it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::text::Tokenizer;

/// Qdrant's `PayloadSchemaType`, less `geo`, which we do not index yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaType {
    Keyword,
    Integer,
    Float,
    Bool,
    Datetime,
    Uuid,
    Text,
}

impl SchemaType {
    fn parse(name: &str) -> Option<SchemaType> {
        Some(match name {
            "keyword" => SchemaType::Keyword,
            "integer" => SchemaType::Integer,
            "float" => SchemaType::Float,
            "bool" => SchemaType::Bool,
            "datetime" => SchemaType::Datetime,
            "uuid" => SchemaType::Uuid,
            "text" => SchemaType::Text,
            _ => return None,
        })
    }

    /// Params members Qdrant documents for this type that we accept and
    /// ignore: storage placement and HNSW hints change nothing for an
    /// in-memory index.
    fn ignored_params(self) -> &'static [&'static str] {
        match self {
            SchemaType::Keyword => &["is_tenant", "on_disk", "memory", "enable_hnsw", "prefix"],
            SchemaType::Integer => &["is_principal", "on_disk", "memory", "enable_hnsw"],
            SchemaType::Float | SchemaType::Datetime => {
                &["is_principal", "on_disk", "memory", "enable_hnsw"]
            }
            SchemaType::Bool => &["on_disk", "memory", "enable_hnsw"],
            SchemaType::Uuid => &["is_tenant", "on_disk", "memory", "enable_hnsw"],
            SchemaType::Text => &["on_disk", "memory", "enable_hnsw"],
        }
    }
}

/// One index's schema as requested, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSchema {
    pub data_type: SchemaType,
    /// The params object, `type` included, when the request gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
}

/// Which lookups an integer index serves (Qdrant's `lookup` and `range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegerModes {
    pub lookup: bool,
    pub range: bool,
}

impl FieldSchema {
    /// Parses `field_schema`; the error names the offending member under
    /// `field_schema`.
    pub fn parse(value: &Value) -> Result<FieldSchema, String> {
        match value {
            Value::String(name) => SchemaType::parse(name)
                .map(|data_type| FieldSchema {
                    data_type,
                    params: None,
                })
                .ok_or_else(|| unknown_type(name)),
            Value::Object(map) => {
                let Some(Value::String(name)) = map.get("type") else {
                    return Err("field_schema.type: expected a payload type name".into());
                };
                let data_type = SchemaType::parse(name).ok_or_else(|| unknown_type(name))?;
                let params: Map<String, Value> = map
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (key, v) in &params {
                    check_param(data_type, key, v)
                        .map_err(|reason| format!("field_schema.{key}: {reason}"))?;
                }
                let schema = FieldSchema {
                    data_type,
                    params: Some(params),
                };
                let modes = schema.integer_modes();
                if data_type == SchemaType::Integer && !modes.lookup && !modes.range {
                    return Err(
                        "field_schema: an integer index needs `lookup` or `range` enabled".into(),
                    );
                }
                if let Some(t) = schema.tokenizer() {
                    if t.min_len > t.max_len {
                        return Err(
                            "field_schema.min_token_len: must not exceed max_token_len".into()
                        );
                    }
                }
                Ok(schema)
            }
            _ => Err("field_schema: expected a payload type name or a params object".into()),
        }
    }

    fn flag(&self, key: &str, default: bool) -> bool {
        self.params
            .as_ref()
            .and_then(|p| p.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    fn size(&self, key: &str) -> Option<usize> {
        self.params
            .as_ref()
            .and_then(|p| p.get(key))
            .and_then(Value::as_u64)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// For integer indexes; both on by default, as in Qdrant.
    pub fn integer_modes(&self) -> IntegerModes {
        IntegerModes {
            lookup: self.flag("lookup", true),
            range: self.flag("range", true),
        }
    }

    /// The tokenizer of a text index; `None` for other types.
    pub fn tokenizer(&self) -> Option<Tokenizer> {
        (self.data_type == SchemaType::Text).then(|| Tokenizer {
            lowercase: self.flag("lowercase", true),
            min_len: self.size("min_token_len").unwrap_or(0),
            max_len: self.size("max_token_len").unwrap_or(usize::MAX),
        })
    }
}

fn unknown_type(name: &str) -> String {
    let hint = if name == "geo" {
        " (geo indexes are not supported)"
    } else {
        ""
    };
    format!(
        "field_schema: unknown payload type {name:?}{hint}; expected one of keyword, integer, \
         float, bool, datetime, uuid, text"
    )
}

/// Checks one (non-null) params member of a `data_type` schema.
fn check_param(data_type: SchemaType, key: &str, value: &Value) -> Result<(), String> {
    let want_bool = || match value {
        Value::Bool(_) => Ok(()),
        _ => Err("expected true or false".to_string()),
    };
    match (data_type, key) {
        (_, "type") => Ok(()),
        (_, "nested") => Err("nested payload indexes are not supported".into()),
        (_, "memory") => match value {
            Value::String(_) => Ok(()),
            _ => Err("expected a memory placement name".into()),
        },
        (SchemaType::Integer, "lookup" | "range") => want_bool(),
        (SchemaType::Text, "lowercase") => want_bool(),
        (SchemaType::Text, "tokenizer") => match value.as_str() {
            Some("word") => Ok(()),
            Some(other) => Err(format!(
                "tokenizer {other:?} is not supported; only \"word\" is"
            )),
            None => Err("expected a tokenizer name".into()),
        },
        (SchemaType::Text, "min_token_len" | "max_token_len") => match value.as_u64() {
            Some(_) => Ok(()),
            None => Err("expected a non-negative integer".into()),
        },
        (SchemaType::Text, "ascii_folding" | "phrase_matching") => match value {
            Value::Bool(false) => Ok(()),
            Value::Bool(true) => Err("is not supported; leave it out or set it to false".into()),
            _ => Err("expected true or false".into()),
        },
        (SchemaType::Text, "stopwords" | "stemmer") => Err("is not supported".into()),
        // Every other accepted member is a flag.
        (_, other) if data_type.ignored_params().contains(&other) => want_bool(),
        (_, other) => Err(format!(
            "unknown parameter {other:?} for a {} index",
            serde_json::to_value(data_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bare_names_and_params_objects_parse() {
        let s = FieldSchema::parse(&json!("keyword")).unwrap();
        assert_eq!(s.data_type, SchemaType::Keyword);
        assert_eq!(s.params, None);
        let s = FieldSchema::parse(&json!({"type": "integer", "lookup": false, "range": true}))
            .unwrap();
        assert_eq!(
            s.integer_modes(),
            IntegerModes {
                lookup: false,
                range: true
            }
        );
        let s = FieldSchema::parse(&json!({"type": "text", "tokenizer": "word",
            "lowercase": false, "min_token_len": 2, "max_token_len": 10, "stopwords": null}))
        .unwrap();
        let t = s.tokenizer().unwrap();
        assert!(!t.lowercase);
        assert_eq!((t.min_len, t.max_len), (2, 10));
        assert!(!s.params.unwrap().contains_key("stopwords"));
    }

    #[test]
    fn unsupported_schemas_are_rejected_with_the_field() {
        let cases = [
            (json!("geo"), "geo indexes are not supported"),
            (json!("keywords"), "unknown payload type"),
            (json!(3), "field_schema"),
            (
                json!({"type": "text", "tokenizer": "prefix"}),
                "field_schema.tokenizer",
            ),
            (
                json!({"type": "text", "stemmer": {}}),
                "field_schema.stemmer",
            ),
            (
                json!({"type": "integer", "lookup": false, "range": false}),
                "lookup",
            ),
            (
                json!({"type": "integer", "lookup": "yes"}),
                "field_schema.lookup",
            ),
            (
                json!({"type": "keyword", "lookup": true}),
                "unknown parameter",
            ),
            (json!({"type": "float", "nested": "offers"}), "nested"),
            (json!({"lookup": true}), "field_schema.type"),
        ];
        for (value, needle) in cases {
            let err = FieldSchema::parse(&value).unwrap_err();
            assert!(err.contains(needle), "{value}: {err}");
        }
    }
}
