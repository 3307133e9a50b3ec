// Rows of f32 components, four to a vec4<u32> word. The loops take four
// words per iteration: llvmpipe stops an invocation's loops after 65,535
// iterations in all (see list.wgsl), and a 384-d row is 96 words.
fn row_sum(x: u32, y: u32) -> f32 {
    let a = locate(x);
    let b = locate(y);
    let s = params.stride;
    var acc = vec4<f32>(0.0);
    var i = 0u;
    if a.x == 0u && b.x == 0u {
        for (; i + 4u <= s; i += 4u) {
            acc = accumulate(acc, bitcast<vec4<f32>>(vectors0[a.y + i]), bitcast<vec4<f32>>(vectors0[b.y + i]));
            acc = accumulate(acc, bitcast<vec4<f32>>(vectors0[a.y + i + 1u]), bitcast<vec4<f32>>(vectors0[b.y + i + 1u]));
            acc = accumulate(acc, bitcast<vec4<f32>>(vectors0[a.y + i + 2u]), bitcast<vec4<f32>>(vectors0[b.y + i + 2u]));
            acc = accumulate(acc, bitcast<vec4<f32>>(vectors0[a.y + i + 3u]), bitcast<vec4<f32>>(vectors0[b.y + i + 3u]));
        }
        for (; i < s; i++) {
            acc = accumulate(acc, bitcast<vec4<f32>>(vectors0[a.y + i]), bitcast<vec4<f32>>(vectors0[b.y + i]));
        }
    } else {
        for (; i < s; i++) {
            let wa = load_from(a.x, a.y + i);
            let wb = load_from(b.x, b.y + i);
            acc = accumulate(acc, bitcast<vec4<f32>>(wa), bitcast<vec4<f32>>(wb));
        }
    }
    return (acc.x + acc.y) + (acc.z + acc.w);
}
