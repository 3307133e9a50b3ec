// uses: rows list graph
// Applies the patches of one batch (see insert.wgsl): one workgroup per
// (neighbour, layer), which adds the batch's new points to the
// neighbour's list in batch order, as `GraphUnderConstruction::link_back`
// does one at a time: skipped if already linked, appended while there is
// room, otherwise the heuristic re-picks from the list plus the newcomer.
// Groups write disjoint records and read only vectors, so they need no
// synchronisation with each other.
struct Params {
    rows_per_chunk: u32,
    stride: u32,
    n: u32,
    m: u32,
    m0: u32,
    group_count: u32,
}

@group(0) @binding(8) var<storage, read> params: Params;
// (neighbour, layer, first item, item count)
@group(0) @binding(13) var<storage, read> groups: array<vec4<u32>>;
// (new point, key bits of new point against neighbour)
@group(0) @binding(14) var<storage, read> items: array<vec2<u32>>;
// [0]: keys computed by the whole dispatch; [1]: nonzero if some
// invocation ran out of loop budget (see list.wgsl).
@group(0) @binding(15) var<storage, read_write> stats: array<atomic<u32>>;

var<workgroup> prune_key: array<f32, 129>;
var<workgroup> prune_node: array<u32, 129>;
var<workgroup> scalar: u32;
var<workgroup> duplicate: atomic<u32>;
var<workgroup> duplicate_copy: u32;

@compute @workgroup_size(32)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups_launched: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let j = wid.x + wid.y * groups_launched.x;
    if j >= params.group_count {
        return;
    }
    if t == 0u {
        atomicStore(&evaluations, 0u);
    }
    workgroupBarrier();
    let group = groups[j];
    let target_node = group.x;
    let level = group.y;
    let cap = capacity(level);
    let own = record(target_node, level);
    for (var p = 0u; p < group.w; p++) {
        let item = items[group.z + p];
        let new_node = item.x;
        if t == 0u {
            scalar = read_word(level, own);
            atomicStore(&duplicate, 0u);
        }
        let count = workgroupUniformLoad(&scalar);
        for (var i = t; i < count; i += WG) {
            if read_word(level, own + 1u + i) == new_node {
                atomicStore(&duplicate, 1u);
            }
        }
        workgroupBarrier();
        if t == 0u {
            duplicate_copy = atomicLoad(&duplicate);
        }
        if workgroupUniformLoad(&duplicate_copy) != 0u {
            continue;
        }
        if count < cap {
            if t == 0u {
                write_word(level, own + 1u + count, new_node);
                write_word(level, own, count + 1u);
            }
            storageBarrier();
            workgroupBarrier();
            continue;
        }
        for (var i = t; i < count; i += WG) {
            let neighbour = read_word(level, own + 1u + i);
            prune_key[i] = key(target_node, neighbour);
            prune_node[i] = neighbour;
        }
        if t == 0u {
            prune_key[count] = bitcast<f32>(item.y);
            prune_node[count] = new_node;
            list_base = 0u;
            list_len = count + 1u;
        }
        workgroupBarrier();
        // Sort by rank: every entry counts those before it.
        for (var i = t; i <= count; i += WG) {
            var rank = 0u;
            for (var k = 0u; k <= count; k++) {
                if before(prune_key[k], prune_node[k], prune_key[i], prune_node[i]) {
                    rank++;
                }
            }
            list_key[rank] = prune_key[i];
            list_node[rank] = prune_node[i];
        }
        workgroupBarrier();
        select_neighbours(t, cap);
        let kept = workgroupUniformLoad(&kept_len);
        for (var i = t; i < kept; i += WG) {
            write_word(level, own + 1u + i, kept_node[i]);
        }
        if t == 0u {
            write_word(level, own, kept);
        }
        storageBarrier();
        workgroupBarrier();
    }
    if budget_spent(params.m) {
        atomicOr(&stats[1], 1u);
    }
    if t == 0u {
        atomicAdd(&stats[0], atomicLoad(&evaluations));
    }
}
