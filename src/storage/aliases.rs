//! Aliases: alternative names that resolve to a collection.
//!
//! Persisted as `aliases.json` (a JSON object alias → collection), replaced
//! atomically after every change.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{io_err, validate_collection_name, StorageError};

const FILE: &str = "aliases.json";

/// One change of an alias request, in Qdrant's JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum AliasOperation {
    #[serde(rename = "create_alias")]
    Create {
        collection_name: String,
        alias_name: String,
    },
    #[serde(rename = "delete_alias")]
    Delete { alias_name: String },
    #[serde(rename = "rename_alias")]
    Rename {
        old_alias_name: String,
        new_alias_name: String,
    },
}

#[derive(Debug, Default)]
pub struct Aliases {
    map: BTreeMap<String, String>,
}

impl Aliases {
    pub fn load(dir: &Path) -> Result<Aliases, StorageError> {
        let path = dir.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let map = serde_json::from_slice(&bytes).map_err(|e| StorageError::Io {
                    path: path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                })?;
                Ok(Aliases { map })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Aliases::default()),
            Err(source) => Err(StorageError::Io { path, source }),
        }
    }

    fn store(map: &BTreeMap<String, String>, dir: &Path) -> Result<(), StorageError> {
        crate::durable::replace_json(dir, FILE, map).map_err(io_err(dir))
    }

    pub fn resolve(&self, alias: &str) -> Option<&str> {
        self.map.get(alias).map(String::as_str)
    }

    pub fn list(&self, collection: Option<&str>) -> Vec<(String, String)> {
        self.map
            .iter()
            .filter(|(_, c)| collection.is_none_or(|want| want == c.as_str()))
            .map(|(a, c)| (a.clone(), c.clone()))
            .collect()
    }

    /// Applies `operations` to a copy and stores it; on any error nothing
    /// changes. `exists` tells whether a collection name exists.
    pub fn apply(
        &mut self,
        dir: &Path,
        operations: &[AliasOperation],
        exists: impl Fn(&str) -> bool,
    ) -> Result<(), StorageError> {
        let mut map = self.map.clone();
        for op in operations {
            match op {
                AliasOperation::Create {
                    collection_name,
                    alias_name,
                } => {
                    validate_collection_name(alias_name)?;
                    if !exists(collection_name) {
                        return Err(StorageError::CollectionNotFound(collection_name.clone()));
                    }
                    if exists(alias_name) {
                        return Err(StorageError::CollectionExists(alias_name.clone()));
                    }
                    // Qdrant lets create_alias repoint an existing alias.
                    map.insert(alias_name.clone(), collection_name.clone());
                }
                AliasOperation::Delete { alias_name } => {
                    if map.remove(alias_name).is_none() {
                        return Err(StorageError::AliasNotFound(alias_name.clone()));
                    }
                }
                AliasOperation::Rename {
                    old_alias_name,
                    new_alias_name,
                } => {
                    validate_collection_name(new_alias_name)?;
                    let Some(target) = map.remove(old_alias_name) else {
                        return Err(StorageError::AliasNotFound(old_alias_name.clone()));
                    };
                    if exists(new_alias_name) {
                        return Err(StorageError::CollectionExists(new_alias_name.clone()));
                    }
                    map.insert(new_alias_name.clone(), target);
                }
            }
        }
        Aliases::store(&map, dir)?;
        self.map = map;
        Ok(())
    }

    /// Drops every alias of `collection`; returns how many.
    pub fn remove_collection(
        &mut self,
        dir: &Path,
        collection: &str,
    ) -> Result<usize, StorageError> {
        let before = self.map.len();
        let map: BTreeMap<_, _> = self
            .map
            .iter()
            .filter(|(_, c)| *c != collection)
            .map(|(a, c)| (a.clone(), c.clone()))
            .collect();
        let removed = before - map.len();
        if removed > 0 {
            Aliases::store(&map, dir)?;
            self.map = map;
        }
        Ok(removed)
    }
}
