//! The SPIR-V that `build.rs` compiled from `shaders/`, one variant per
//! kernel, metric and element type.

mod table {
    include!(concat!(env!("OUT_DIR"), "/shaders.rs"));
}

/// How a kernel scores two rows; lower keys are closer, as on the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShaderMetric {
    /// Negated dot product; Cosine uses it on normalised rows.
    Dot,
    /// Squared Euclidean distance.
    L2,
    /// Manhattan distance.
    L1,
}

/// How rows are stored on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    F32,
    /// Half precision, widened to f32 for arithmetic.
    F16,
}

impl Element {
    /// Components per 16-byte word.
    pub fn per_word(self) -> usize {
        match self {
            Element::F32 => 4,
            Element::F16 => 8,
        }
    }
}

/// The kernels in `shaders/`, with their binding counts (storage buffers
/// `0..bindings()` of set 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelKind {
    Distances,
    TopK,
    Insert,
    Link,
}

impl KernelKind {
    fn file(self) -> &'static str {
        match self {
            KernelKind::Distances => "distances",
            KernelKind::TopK => "top_k",
            KernelKind::Insert => "insert",
            KernelKind::Link => "link",
        }
    }

    pub fn bindings(self) -> u32 {
        match self {
            KernelKind::Distances | KernelKind::TopK => 11,
            KernelKind::Insert => 19,
            KernelKind::Link => 16,
        }
    }

    /// The compiled variant and a name for logs.
    pub fn spirv(self, metric: ShaderMetric, element: Element) -> (String, &'static [u8]) {
        let metric = match metric {
            ShaderMetric::Dot => "dot",
            ShaderMetric::L2 => "l2",
            ShaderMetric::L1 => "l1",
        };
        let element = match element {
            Element::F32 => "f32",
            Element::F16 => "f16",
        };
        let bytes = table::SHADERS
            .iter()
            .find(|(k, m, e, _)| *k == self.file() && *m == metric && *e == element)
            .map(|(_, _, _, bytes)| *bytes)
            .expect("build.rs compiles every kernel, metric and element");
        (format!("{}-{metric}-{element}", self.file()), bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_is_spirv() {
        assert_eq!(table::SHADERS.len(), 4 * 3 * 2);
        for (kernel, metric, element, bytes) in table::SHADERS {
            assert_eq!(bytes.len() % 4, 0, "{kernel}-{metric}-{element}");
            assert_eq!(
                u32::from_le_bytes(bytes[..4].try_into().unwrap()),
                0x0723_0203,
                "{kernel}-{metric}-{element}: SPIR-V magic"
            );
        }
    }
}
