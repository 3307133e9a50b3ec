//! What the benches share: the `pydocs-minilm` data set read from
//! `../shared/data/` (`.npy` files), and the Python that runs the peers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use vecforge::api::service::CollectionDefaults;
use vecforge::collection::config::{CollectionConfig, VectorParams, VectorsConfig};
use vecforge::index::distance::Distance;
use vecforge::settings::Settings;

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/pydocs-minilm")
}

/// The header dictionary, shape and payload of a `.npy` file.
fn read_npy(path: &Path) -> (String, Vec<usize>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_eq!(
        &bytes[..6],
        b"\x93NUMPY",
        "{} is not a .npy file",
        path.display()
    );
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len])
        .expect("npy header is ASCII")
        .to_owned();
    let shape = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("npy shape");
    let dims = shape
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    (header, dims, bytes[10 + header_len..].to_vec())
}

/// A little-endian float16 matrix as f32 rows, each normalised for cosine
/// (the file's rows are unit-norm in float16; the store renormalises in
/// f32). Returns rows, columns and the values.
pub fn read_f16_rows(path: &Path) -> (usize, usize, Vec<f32>) {
    let (header, dims, data) = read_npy(path);
    assert!(
        header.contains("'descr': '<f2'"),
        "{} is not float16",
        path.display()
    );
    let mut values: Vec<f32> = data
        .chunks_exact(2)
        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect();
    for row in values.chunks_exact_mut(dims[1]) {
        Distance::Cosine.preprocess(row);
    }
    (dims[0], dims[1], values)
}

/// A little-endian int32 matrix: columns and the values.
pub fn read_i32_rows(path: &Path) -> (usize, Vec<i32>) {
    let (header, dims, data) = read_npy(path);
    assert!(
        header.contains("'descr': '<i4'"),
        "{} is not int32",
        path.display()
    );
    let values = data
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (dims[1], values)
}

/// A collection of one unnamed Cosine vector of `dim`, with the built-in
/// defaults.
pub fn cosine_config(dim: usize) -> CollectionConfig {
    let vectors = VectorsConfig::Single(Box::new(VectorParams {
        size: dim as u64,
        distance: Distance::Cosine,
        hnsw_config: None,
        quantization_config: None,
        on_disk: None,
        datatype: None,
        multivector_config: None,
    }));
    CollectionDefaults::from_settings(&Settings::default()).collection_config(vectors)
}

/// The project's `.venv` Python when there is one (it has the peers'
/// packages), else `python3`.
pub fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// `key=value` fields of one line of a peer's output.
pub fn fields(line: &str) -> Vec<(&str, &str)> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect()
}

/// `cargo bench` passes `--bench`; `cargo test --benches` does not, and
/// then a bench only smoke-tests itself (no peers, small data).
pub fn is_real_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// `values` copied into a page-aligned anonymous mapping, so rows start on
/// cache-line boundaries the way a segment's memory-mapped vector file
/// lays them out (a `Vec<f32>` from the allocator starts 16 bytes past a
/// page, so every 384-d row would straddle one more cache line than in
/// the server). View it with [`aligned_f32`].
pub fn page_aligned(values: &[f32]) -> memmap2::MmapMut {
    let bytes: &[u8] = bytemuck::cast_slice(values);
    let mut map = memmap2::MmapMut::map_anon(bytes.len().max(1)).expect("anonymous mapping");
    map[..bytes.len()].copy_from_slice(bytes);
    map
}

/// The `f32` values of a mapping made by [`page_aligned`] from `len` values.
pub fn aligned_f32(map: &memmap2::MmapMut, len: usize) -> &[f32] {
    &bytemuck::cast_slice(&map[..len * 4])[..len]
}
