// The graph under construction, in the layout of src/index/hnsw/building.rs:
// `layer0` holds 1 + m0 words per node (the count, then the links), `upper`
// 1 + m words per upper layer of each node, starting at
// `upper_offsets[node]` (layers 1..=level). Kernels that use it have
// `m`, `m0` in their params.
@group(0) @binding(9) var<storage, read_write> layer0: array<u32>;
@group(0) @binding(10) var<storage, read_write> upper: array<u32>;
@group(0) @binding(11) var<storage, read> upper_offsets: array<u32>;
@group(0) @binding(12) var<storage, read> levels: array<u32>;

// Index of the count word of `node`'s record on `level`.
fn record(node: u32, level: u32) -> u32 {
    if level == 0u {
        return node * (1u + params.m0);
    }
    return upper_offsets[node] + (level - 1u) * (1u + params.m);
}

fn capacity(level: u32) -> u32 {
    return select(params.m, params.m0, level == 0u);
}

fn read_word(level: u32, index: u32) -> u32 {
    if level == 0u {
        return layer0[index];
    }
    return upper[index];
}

fn write_word(level: u32, index: u32, value: u32) {
    if level == 0u {
        layer0[index] = value;
    } else {
        upper[index] = value;
    }
}

// Link count of `node` on `level`: 0 above the node's level.
fn link_count(node: u32, level: u32) -> u32 {
    if level > levels[node] {
        return 0u;
    }
    return read_word(level, record(node, level));
}

fn link_at(node: u32, level: u32, i: u32) -> u32 {
    return read_word(level, record(node, level) + 1u + i);
}
