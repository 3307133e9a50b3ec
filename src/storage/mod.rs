//! The registry of collections and aliases under the storage path.
//!
//! ```text
//! <storage_path>/.lock                 held while a server uses the directory
//! <storage_path>/aliases.json          alias → collection, replaced atomically
//! <storage_path>/collections/<name>/   one collection (see `collection`)
//! ```
//!
//! A collection is created in a hidden temporary directory and renamed into
//! place once its config is durable, and deleted by renaming it away before
//! removal, so a crash never leaves a half-made collection visible.

#![deny(unsafe_code)]

mod aliases;
mod name;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::collection::{Collection, CollectionConfig, CollectionError, ErrorClass};
use crate::index::hnsw::{CpuBuilder, SharedBuilder};
pub use aliases::AliasOperation;
use aliases::Aliases;
pub use name::validate_collection_name;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("Not found: Collection `{0}` doesn't exist!")]
    CollectionNotFound(String),
    #[error("Not found: Alias `{0}` doesn't exist!")]
    AliasNotFound(String),
    #[error("Wrong input: Collection `{0}` already exists!")]
    CollectionExists(String),
    #[error("Wrong input: Alias `{0}` already exists!")]
    AliasExists(String),
    #[error("Validation error: {field}: {message}")]
    Validation { field: String, message: String },
    #[error("Storage directory {0} is in use by another process")]
    Locked(PathBuf),
    #[error(transparent)]
    Collection(#[from] CollectionError),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl StorageError {
    pub fn class(&self) -> ErrorClass {
        match self {
            StorageError::CollectionNotFound(_) | StorageError::AliasNotFound(_) => {
                ErrorClass::NotFound
            }
            StorageError::CollectionExists(_) | StorageError::AliasExists(_) => {
                ErrorClass::Conflict
            }
            StorageError::Validation { .. } => ErrorClass::Validation,
            StorageError::Locked(_) | StorageError::Io { .. } => ErrorClass::Internal,
            StorageError::Collection(e) => e.class(),
        }
    }
}

/// `.{what}-{nanos}-{n}`: unique within this process and across restarts.
fn unique_hidden_name(what: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(".{what}-{nanos}-{n}")
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug)]
pub struct Storage {
    dir: PathBuf,
    collections: RwLock<BTreeMap<String, Arc<Collection>>>,
    aliases: RwLock<Aliases>,
    /// Serialises create / delete / alias changes.
    changes: Mutex<()>,
    /// Builds every collection's graphs.
    builder: SharedBuilder,
    _lock: File,
}

impl Storage {
    /// Opens every collection under `dir` (creating `dir` if needed);
    /// graphs are built on the CPU.
    pub fn open(dir: &Path) -> Result<Storage, StorageError> {
        Storage::open_with(dir, Arc::new(CpuBuilder))
    }

    /// [`Storage::open`] with every collection's graphs built by `builder`.
    pub fn open_with(dir: &Path, builder: SharedBuilder) -> Result<Storage, StorageError> {
        let collections_dir = dir.join("collections");
        std::fs::create_dir_all(&collections_dir).map_err(io_err(&collections_dir))?;
        let lock_path = dir.join(".lock");
        let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
        lock.try_lock()
            .map_err(|_| StorageError::Locked(dir.to_path_buf()))?;
        let mut collections = BTreeMap::new();
        for entry in std::fs::read_dir(&collections_dir).map_err(io_err(&collections_dir))? {
            let entry = entry.map_err(io_err(&collections_dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with('.') {
                // A create or delete that did not finish: never acknowledged.
                tracing::info!(path = %path.display(), "removing unfinished collection directory");
                std::fs::remove_dir_all(&path).map_err(io_err(&path))?;
                continue;
            }
            let collection = Collection::open_with(&path, &name, builder.clone())?;
            tracing::info!(
                collection = name,
                points = collection.points_count(),
                "loaded collection"
            );
            collections.insert(name, Arc::new(collection));
        }
        let aliases = Aliases::load(dir)?;
        Ok(Storage {
            dir: dir.to_path_buf(),
            collections: RwLock::new(collections),
            aliases: RwLock::new(aliases),
            changes: Mutex::new(()),
            builder,
            _lock: lock,
        })
    }

    pub fn collection_names(&self) -> Vec<String> {
        self.collections.read().keys().cloned().collect()
    }

    /// The collection called `name`, or the one the alias `name` points to.
    pub fn collection(&self, name: &str) -> Result<Arc<Collection>, StorageError> {
        let collections = self.collections.read();
        if let Some(c) = collections.get(name) {
            return Ok(c.clone());
        }
        let target = self.aliases.read().resolve(name).map(str::to_string);
        target
            .and_then(|t| collections.get(&t).cloned())
            .ok_or_else(|| StorageError::CollectionNotFound(name.to_string()))
    }

    pub fn create_collection(
        &self,
        name: &str,
        config: CollectionConfig,
    ) -> Result<(), StorageError> {
        validate_collection_name(name)?;
        let _changes = self.changes.lock();
        if self.collections.read().contains_key(name) {
            return Err(StorageError::CollectionExists(name.to_string()));
        }
        if self.aliases.read().resolve(name).is_some() {
            return Err(StorageError::AliasExists(name.to_string()));
        }
        let parent = self.dir.join("collections");
        // Hidden and short: a name may already use the whole 255-byte limit.
        let tmp = parent.join(unique_hidden_name("creating"));
        let dir = parent.join(name);
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
        }
        // Write the config in the hidden directory, then rename into place.
        std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        config.store(&tmp).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &dir).map_err(io_err(&dir))?;
        File::open(&parent)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&parent))?;
        let collection = Collection::open_with(&dir, name, self.builder.clone())?;
        self.collections
            .write()
            .insert(name.to_string(), Arc::new(collection));
        tracing::info!(collection = name, "created collection");
        Ok(())
    }

    /// Deletes a collection and the aliases pointing at it; false if absent.
    pub fn delete_collection(&self, name: &str) -> Result<bool, StorageError> {
        let _changes = self.changes.lock();
        let Some(collection) = self.collections.write().remove(name) else {
            return Ok(false);
        };
        let removed = self.aliases.write().remove_collection(&self.dir, name)?;
        collection.close();
        let parent = self.dir.join("collections");
        let doomed = parent.join(unique_hidden_name("deleting"));
        std::fs::rename(collection.dir(), &doomed).map_err(io_err(&doomed))?;
        drop(collection);
        std::fs::remove_dir_all(&doomed).map_err(io_err(&doomed))?;
        tracing::info!(collection = name, aliases = removed, "deleted collection");
        Ok(true)
    }

    /// Applies alias operations all together or not at all.
    pub fn change_aliases(&self, operations: &[AliasOperation]) -> Result<(), StorageError> {
        let _changes = self.changes.lock();
        let collections = self.collections.read();
        let mut aliases = self.aliases.write();
        aliases.apply(&self.dir, operations, |name| collections.contains_key(name))
    }

    /// `(alias, collection)` pairs, optionally only those of `collection`.
    pub fn aliases(&self, collection: Option<&str>) -> Vec<(String, String)> {
        self.aliases.read().list(collection)
    }

    /// Closes every collection, flushing their segments.
    pub fn close(&self) {
        for collection in self.collections.read().values() {
            collection.close();
        }
    }
}
