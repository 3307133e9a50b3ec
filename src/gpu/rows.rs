//! Vectors on the device, in the layout `shaders/rows.wgsl` reads: each
//! row padded with zeros to `stride` 16-byte words, rows split over up to
//! [`MAX_CHUNKS`] buffers so that none exceeds the device's
//! `maxStorageBufferRange` (llvmpipe: 128 MiB).

use gpu_allocator::MemoryLocation;
use half::f16;

use super::device::{Buffer, Device, Stream};
use super::error::{GpuError, GpuResult};
use super::shaders::Element;

/// Vector buffers a kernel can bind (bindings 0..8).
pub const MAX_CHUNKS: usize = 8;

#[derive(Debug)]
pub struct Rows {
    pub(crate) chunks: Vec<Buffer>,
    /// Rows per buffer.
    pub rows_per_chunk: u32,
    /// 16-byte words per row.
    pub stride: u32,
    pub len: usize,
}

impl Rows {
    /// Words per row for `dim` components of `element`.
    pub fn stride(dim: usize, element: Element) -> usize {
        dim.div_ceil(element.per_word()).max(1)
    }

    /// Device bytes `len` rows of `dim` need, or why they cannot fit.
    pub fn plan(
        device: &Device,
        len: usize,
        dim: usize,
        element: Element,
    ) -> GpuResult<(usize, usize)> {
        let stride = Self::stride(dim, element);
        let row_bytes = stride as u64 * 16;
        let info = device.info();
        let per_buffer = info.max_storage_buffer_range.min(info.max_allocation);
        let rows_per_chunk = (per_buffer / row_bytes).min(u64::from(u32::MAX)) as usize;
        if rows_per_chunk == 0 {
            return Err(GpuError::Unsupported(format!(
                "a {dim}-component row exceeds maxStorageBufferRange"
            )));
        }
        let chunks = len.div_ceil(rows_per_chunk).max(1);
        if chunks > MAX_CHUNKS {
            return Err(GpuError::Unsupported(format!(
                "{len} rows of {row_bytes} bytes need {chunks} buffers of at most {per_buffer} bytes, more than {MAX_CHUNKS}"
            )));
        }
        Ok((rows_per_chunk, stride))
    }

    /// Uploads `len` rows; `row(i, out)` fills `out` (`dim` long) with
    /// row `i` as f32.
    pub fn upload(
        device: &Device,
        stream: &mut Stream,
        len: usize,
        dim: usize,
        element: Element,
        row: &dyn Fn(usize, &mut [f32]),
    ) -> GpuResult<Rows> {
        let (rows_per_chunk, stride) = Self::plan(device, len, dim, element)?;
        let row_bytes = stride * 16;
        let mut chunks = Vec::new();
        let mut values = vec![0.0f32; dim];
        let mut start = 0;
        while start < len || chunks.is_empty() {
            let end = (start + rows_per_chunk).min(len);
            let buffer = device.buffer(
                "vectors",
                ((end - start) * row_bytes) as u64,
                MemoryLocation::GpuOnly,
            )?;
            // Staged a slice of rows at a time to bound host memory.
            let rows_per_part = ((32usize << 20) / row_bytes).max(1);
            let mut part_start = start;
            while part_start < end {
                let part_end = (part_start + rows_per_part).min(end);
                let mut bytes = vec![0u8; (part_end - part_start) * row_bytes];
                for (i, out) in (part_start..part_end).zip(bytes.chunks_exact_mut(row_bytes)) {
                    row(i, &mut values);
                    encode(&values, element, out);
                }
                stream.upload(&buffer, ((part_start - start) * row_bytes) as u64, &bytes)?;
                part_start = part_end;
            }
            chunks.push(buffer);
            start = end;
        }
        Ok(Rows {
            chunks,
            rows_per_chunk: rows_per_chunk as u32,
            stride: stride as u32,
            len,
        })
    }

    /// The eight vector bindings: the chunks, then the first repeated.
    pub fn bindings(&self) -> [&Buffer; MAX_CHUNKS] {
        std::array::from_fn(|i| self.chunks.get(i).unwrap_or(&self.chunks[0]))
    }
}

/// Writes `values` into `out` as `element`, zero-padded.
fn encode(values: &[f32], element: Element, out: &mut [u8]) {
    match element {
        Element::F32 => {
            for (value, bytes) in values.iter().zip(out.chunks_exact_mut(4)) {
                bytes.copy_from_slice(&value.to_le_bytes());
            }
        }
        Element::F16 => {
            for (value, bytes) in values.iter().zip(out.chunks_exact_mut(2)) {
                bytes.copy_from_slice(&f16::from_f32(*value).to_le_bytes());
            }
        }
    }
}
