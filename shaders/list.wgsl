// A workgroup's sorted candidate list, and the neighbour heuristic over it.
//
// The list holds up to `cap` (key, node) pairs ordered as the CPU orders
// `Candidate`s: key by `f32::total_cmp`, then node. Bit 31 of a node word
// marks an entry already expanded by a beam search, bit 30 a point of the
// same insert batch (nodes are below 2^30).
// It lives in one half of a double buffer; a merge writes the other half
// and flips `list_base`.
//
// A beam search keeps its results here, closest first, and expands the
// first unexpanded entry: the CPU's two heaps give the same walk, since a
// candidate the results no longer hold could never be expanded there
// either. Functions that contain barriers must be called by the whole
// workgroup with the same arguments.
//
// Loop counts matter on llvmpipe: it ends every loop of an invocation once
// the invocation has run 65,535 loop iterations in all (gallivm's loop
// limiter), silently. The merge therefore ranks list entries by binary
// search over the sorted fresh entries rather than by scanning them, and
// the graph kernels end with `budget_spent`, which reports a cut-short
// invocation so that the host can refuse the result.

const WG: u32 = 32u;
const LIST_CAP: u32 = 512u;
const KEPT_CAP: u32 = 128u;
const NONE: u32 = 0xffffffffu;
const EXPANDED: u32 = 0x80000000u;
const MATE: u32 = 0x40000000u;
const NODE: u32 = 0x3fffffffu;

var<workgroup> list_key: array<f32, 1024>;
var<workgroup> list_node: array<u32, 1024>;
var<workgroup> list_base: u32;
var<workgroup> list_len: u32;
// One slot per invocation: what it offers the next merge (NONE: nothing).
var<workgroup> fresh_key: array<f32, WG>;
var<workgroup> fresh_node: array<u32, WG>;
var<workgroup> fresh_first: atomic<u32>;
// The valid fresh entries, sorted.
var<workgroup> sorted_key: array<f32, WG>;
var<workgroup> sorted_node: array<u32, WG>;
var<workgroup> merged_first: u32;
// The neighbours the heuristic keeps.
var<workgroup> kept_key: array<f32, KEPT_CAP>;
var<workgroup> kept_node: array<u32, KEPT_CAP>;
var<workgroup> kept_len: u32;
var<workgroup> hidden: atomic<u32>;
var<workgroup> hidden_copy: u32;

// `f32::total_cmp` as an unsigned order.
fn order(k: f32) -> u32 {
    let b = bitcast<u32>(k);
    if (b & 0x80000000u) != 0u {
        return ~b;
    }
    return b | 0x80000000u;
}

// Whether (ka, na) sorts before (kb, nb); the flags are ignored.
fn before(ka: f32, na: u32, kb: f32, nb: u32) -> bool {
    let oa = order(ka);
    let ob = order(kb);
    return oa < ob || (oa == ob && (na & NODE) < (nb & NODE));
}

// Whether (k, n) would enter a list of at most `cap` entries.
fn admits(k: f32, n: u32, cap: u32) -> bool {
    let len = list_len;
    if len < cap {
        return true;
    }
    let last = list_base + len - 1u;
    return before(k, n, list_key[last], list_node[last]);
}

// Merges the fresh slots into the list, keeping the best `cap`, and
// returns the lowest position a fresh entry took (NONE if none did).
// Fresh nodes must not be in the list already.
fn merge_fresh(t: u32, cap: u32) -> u32 {
    if t == 0u {
        atomicStore(&fresh_first, NONE);
    }
    workgroupBarrier();
    let base = list_base;
    let len = list_len;
    let out = LIST_CAP - base;
    var valid = 0u;
    var below_me = 0u;
    let k = fresh_key[t];
    let n = fresh_node[t];
    for (var j = 0u; j < WG; j++) {
        let nj = fresh_node[j];
        if nj != NONE {
            valid++;
            if n != NONE && before(fresh_key[j], nj, k, n) {
                below_me++;
            }
        }
    }
    if n != NONE {
        sorted_key[below_me] = k;
        sorted_node[below_me] = n;
        var lo = 0u;
        var hi = len;
        while lo < hi {
            let mid = (lo + hi) / 2u;
            if before(list_key[base + mid], list_node[base + mid], k, n) {
                lo = mid + 1u;
            } else {
                hi = mid;
            }
        }
        let rank = below_me + lo;
        if rank < cap {
            list_key[out + rank] = k;
            list_node[out + rank] = n;
            atomicMin(&fresh_first, rank);
        }
    }
    workgroupBarrier();
    for (var i = t; i < len; i += WG) {
        let ki = list_key[base + i];
        let ni = list_node[base + i];
        // Fresh entries before this one: binary search of the sorted ones.
        var lo = 0u;
        var hi = valid;
        while lo < hi {
            let mid = (lo + hi) / 2u;
            if before(sorted_key[mid], sorted_node[mid], ki, ni) {
                lo = mid + 1u;
            } else {
                hi = mid;
            }
        }
        let rank = i + lo;
        if rank < cap {
            list_key[out + rank] = ki;
            list_node[out + rank] = ni;
        }
    }
    workgroupBarrier();
    if t == 0u {
        list_base = out;
        list_len = min(cap, len + valid);
        merged_first = atomicLoad(&fresh_first);
    }
    return workgroupUniformLoad(&merged_first);
}

// The HNSW neighbour heuristic (src/index/hnsw/select.rs) over the list,
// whose keys are measured from the base node: walks it closest first and
// keeps an entry only if it is farther from every entry kept so far than
// from the base. Keeps at most `cap` in `kept_*`.
fn select_neighbours(t: u32, cap: u32) {
    if t == 0u {
        kept_len = 0u;
    }
    let len = workgroupUniformLoad(&list_len);
    for (var i = 0u; i < len; i++) {
        let count = workgroupUniformLoad(&kept_len);
        if count >= cap {
            break;
        }
        if t == 0u {
            atomicStore(&hidden, 0u);
        }
        workgroupBarrier();
        let candidate = list_node[list_base + i] & NODE;
        let candidate_key = list_key[list_base + i];
        for (var j = t; j < count; j += WG) {
            if !(key(candidate, kept_node[j]) > candidate_key) {
                atomicStore(&hidden, 1u);
            }
        }
        workgroupBarrier();
        if t == 0u && atomicLoad(&hidden) == 0u {
            kept_key[count] = candidate_key;
            kept_node[count] = candidate;
            kept_len = count + 1u;
        }
    }
    workgroupBarrier();
}

// Runs a loop of `expected` (>= 2, from the params) iterations; true if it
// ran fewer: the device's loop budget was spent and some loop of this
// invocation was cut short (llvmpipe; see above).
fn budget_spent(expected: u32) -> bool {
    var ran = 0u;
    for (var i = 0u; i < expected; i++) {
        ran++;
    }
    return ran != expected;
}
