// uses: rows list graph
// Inserts a batch of points into the graph, one workgroup per point: the
// GPU half of `GraphUnderConstruction::insert` (src/index/hnsw/building.rs).
//
// A point walks greedily down from the entry point to one layer above its
// own level, then on each layer from min(level, entry level) down to 0 runs
// a beam search of `ef` candidates, picks its neighbours with the heuristic
// and writes its own links. The links back (neighbour -> point) cannot be
// written here, since several points of a batch may reach the same
// neighbour: each group records them as patches, which `link.wgsl` applies
// per neighbour in batch order. Nothing in the graph that a search reads
// changes during the dispatch, so reads need no synchronisation.
//
// Points of one batch cannot find each other through the graph, so after
// each layer's beam search a point also scores its batch-mates on that
// layer and offers them to the neighbour selection (`offer_mates`). They
// enter the list marked expanded and MATE: never expanded (their links
// are being written by their own groups), kept as candidates on the
// layers below. With a batch of one point there are no mates, and the
// build is the CPU's sequential insertion step for step.
//
// Each group owns `visited_words` words of the visited bit set and
// `touched_cap` slots listing the bits it set, so that it clears only
// those after each layer (the whole range if it set more).
struct Params {
    rows_per_chunk: u32,
    stride: u32,
    n: u32,
    m: u32,
    m0: u32,
    ef: u32,
    entry: u32,
    entry_level: u32,
    visited_words: u32,
    touched_cap: u32,
    patch_cap: u32,
}

@group(0) @binding(8) var<storage, read> params: Params;
@group(0) @binding(13) var<storage, read> batch: array<u32>;
@group(0) @binding(14) var<storage, read_write> visited: array<atomic<u32>>;
@group(0) @binding(15) var<storage, read_write> touched: array<u32>;
// `patch_cap` per group: (neighbour, level, key bits, 0).
@group(0) @binding(16) var<storage, read_write> patches: array<vec4<u32>>;
@group(0) @binding(17) var<storage, read_write> patch_counts: array<u32>;
// [0]: keys computed by the whole dispatch; [1]: nonzero if some
// invocation ran out of loop budget (see list.wgsl).
@group(0) @binding(18) var<storage, read_write> stats: array<atomic<u32>>;

var<workgroup> touched_count: atomic<u32>;
var<workgroup> touched_copy: u32;
var<workgroup> best_key: f32;
var<workgroup> best_node: u32;
var<workgroup> moved: u32;
var<workgroup> cursor: u32;
var<workgroup> current: u32;
var<workgroup> scalar: u32;
var<workgroup> patch_count: u32;

// Marks `node` visited by group `g`; true if it was not yet.
fn visit(g: u32, node: u32) -> bool {
    let word = g * params.visited_words + node / 32u;
    let bit = 1u << (node % 32u);
    let old = atomicOr(&visited[word], bit);
    if (old & bit) != 0u {
        return false;
    }
    let slot = atomicAdd(&touched_count, 1u);
    if slot < params.touched_cap {
        touched[g * params.touched_cap + slot] = node;
    }
    return true;
}

// Clears every bit group `g` set.
fn clear_visited(t: u32, g: u32) {
    storageBarrier();
    workgroupBarrier();
    if t == 0u {
        touched_copy = atomicLoad(&touched_count);
    }
    let count = workgroupUniformLoad(&touched_copy);
    if count <= params.touched_cap {
        for (var i = t; i < count; i += WG) {
            let node = touched[g * params.touched_cap + i];
            atomicAnd(&visited[g * params.visited_words + node / 32u], ~(1u << (node % 32u)));
        }
    } else {
        for (var w = t; w < params.visited_words; w += WG) {
            atomicStore(&visited[g * params.visited_words + w], 0u);
        }
    }
    storageBarrier();
    workgroupBarrier();
    if t == 0u {
        atomicStore(&touched_count, 0u);
    }
    workgroupBarrier();
}

// Greedy walk on `level` from `best_*`: moves to the closest neighbour
// while that is closer (`Walker::greedy`).
fn greedy(t: u32, node: u32, level: u32) {
    loop {
        if t == 0u {
            moved = 0u;
            scalar = link_count(best_node, level);
        }
        let origin = workgroupUniformLoad(&best_node);
        let count = workgroupUniformLoad(&scalar);
        for (var start = 0u; start < count; start += WG) {
            let i = start + t;
            fresh_node[t] = NONE;
            if i < count {
                let neighbour = link_at(origin, level, i);
                fresh_key[t] = key(node, neighbour);
                fresh_node[t] = neighbour;
            }
            workgroupBarrier();
            if t == 0u {
                for (var j = 0u; j < WG; j++) {
                    let nj = fresh_node[j];
                    if nj != NONE && before(fresh_key[j], nj, best_key, best_node) {
                        best_key = fresh_key[j];
                        best_node = nj;
                        moved = 1u;
                    }
                }
            }
            workgroupBarrier();
        }
        if workgroupUniformLoad(&moved) == 0u {
            break;
        }
    }
}

// Beam search on `level` from the list's entries (all unexpanded and
// visited), keeping the best `ef` in the list (`Walker::beam`).
fn beam(t: u32, g: u32, node: u32, level: u32) {
    let ef = params.ef;
    if t == 0u {
        cursor = 0u;
    }
    loop {
        if t == 0u {
            var c = cursor;
            while c < list_len && (list_node[list_base + c] & EXPANDED) != 0u {
                c++;
            }
            current = NONE;
            if c < list_len {
                current = list_node[list_base + c];
                list_node[list_base + c] = current | EXPANDED;
                c++;
                scalar = link_count(current, level);
            }
            cursor = c;
        }
        let origin = workgroupUniformLoad(&current);
        if origin == NONE {
            break;
        }
        let count = workgroupUniformLoad(&scalar);
        for (var start = 0u; start < count; start += WG) {
            let i = start + t;
            fresh_node[t] = NONE;
            if i < count {
                let neighbour = link_at(origin, level, i);
                if neighbour != node && visit(g, neighbour) {
                    let k = key(node, neighbour);
                    if admits(k, neighbour, ef) {
                        fresh_key[t] = k;
                        fresh_node[t] = neighbour;
                    }
                }
            }
            let first = merge_fresh(t, ef);
            if t == 0u && first < cursor {
                cursor = first;
            }
        }
    }
}

// Offers the other points of the batch that reach `level` to the list.
fn offer_mates(t: u32, g: u32, node: u32, level: u32, batch_len: u32) {
    for (var start = 0u; start < batch_len; start += WG) {
        let i = start + t;
        fresh_node[t] = NONE;
        if i < batch_len {
            let mate = batch[i];
            if mate != node && levels[mate] >= level && visit(g, mate) {
                let k = key(node, mate);
                if admits(k, mate, params.ef) {
                    fresh_key[t] = k;
                    fresh_node[t] = mate | MATE | EXPANDED;
                }
            }
        }
        merge_fresh(t, params.ef);
    }
}

@compute @workgroup_size(32)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups_launched: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let g = wid.x;
    let batch_len = groups_launched.x;
    let node = batch[g];
    let level = levels[node];
    let top = params.entry_level;
    if t == 0u {
        atomicStore(&evaluations, 0u);
        atomicStore(&touched_count, 0u);
        best_node = params.entry;
        best_key = key(node, params.entry);
        patch_count = 0u;
    }
    workgroupBarrier();
    for (var l = top; l > level; l--) {
        greedy(t, node, l);
    }
    if t == 0u {
        list_base = 0u;
        list_len = 1u;
        list_key[0] = best_key;
        list_node[0] = best_node;
        visit(g, best_node);
    }
    workgroupBarrier();
    var l = min(level, top);
    loop {
        beam(t, g, node, l);
        offer_mates(t, g, node, l, batch_len);
        select_neighbours(t, capacity(l));
        let kept = workgroupUniformLoad(&kept_len);
        let own = record(node, l);
        let patch_base = g * params.patch_cap + patch_count;
        for (var i = t; i < kept; i += WG) {
            write_word(l, own + 1u + i, kept_node[i]);
            patches[patch_base + i] = vec4<u32>(kept_node[i], l, bitcast<u32>(kept_key[i]), 0u);
        }
        workgroupBarrier();
        if t == 0u {
            write_word(l, own, kept);
            patch_count += kept;
        }
        clear_visited(t, g);
        if l == 0u {
            break;
        }
        // Every entry found here seeds the search one layer down; mates
        // stay marked expanded.
        for (var i = t; i < list_len; i += WG) {
            let word = list_node[list_base + i];
            if (word & MATE) == 0u {
                list_node[list_base + i] = word & NODE;
            }
            visit(g, word & NODE);
        }
        workgroupBarrier();
        l--;
    }
    if budget_spent(params.m) {
        atomicOr(&stats[1], 1u);
    }
    workgroupBarrier();
    if t == 0u {
        patch_counts[g] = patch_count;
        atomicAdd(&stats[0], atomicLoad(&evaluations));
    }
}
