// uses: rows list
// Exact top-k: one workgroup per query row scores every row and keeps the
// `k` closest in its sorted list (the merge the graph build uses). Held
// against the CPU's exact search by the tests.
struct Params {
    rows_per_chunk: u32,
    stride: u32,
    n: u32,
    k: u32,
}

@group(0) @binding(8) var<storage, read> params: Params;
@group(0) @binding(9) var<storage, read> queries: array<u32>;
// `k` (node, key bits) per query, closest first; NONE nodes pad.
@group(0) @binding(10) var<storage, read_write> out: array<vec2<u32>>;

@compute @workgroup_size(32)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let row = queries[wid.x];
    let k = params.k;
    if t == 0u {
        list_base = 0u;
        list_len = 0u;
    }
    workgroupBarrier();
    for (var start = 0u; start < params.n; start += WG) {
        let i = start + t;
        fresh_node[t] = NONE;
        if i < params.n {
            let ki = key(row, i);
            if admits(ki, i, k) {
                fresh_key[t] = ki;
                fresh_node[t] = i;
            }
        }
        merge_fresh(t, k);
    }
    for (var i = t; i < k; i += WG) {
        var entry = vec2<u32>(NONE, 0u);
        if i < list_len {
            entry = vec2<u32>(list_node[list_base + i] & NODE, bitcast<u32>(list_key[list_base + i]));
        }
        out[wid.x * k + i] = entry;
    }
}
