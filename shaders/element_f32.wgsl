// Rows of f32 components, four to a vec4<u32> word.
fn row_sum(x: u32, y: u32) -> f32 {
    let a = locate(x);
    let b = locate(y);
    var acc = vec4<f32>(0.0);
    if a.x == 0u && b.x == 0u {
        for (var i = 0u; i < params.stride; i++) {
            acc = accumulate(acc, bitcast<vec4<f32>>(vectors0[a.y + i]), bitcast<vec4<f32>>(vectors0[b.y + i]));
        }
    } else {
        for (var i = 0u; i < params.stride; i++) {
            let wa = load_from(a.x, a.y + i);
            let wb = load_from(b.x, b.y + i);
            acc = accumulate(acc, bitcast<vec4<f32>>(wa), bitcast<vec4<f32>>(wb));
        }
    }
    return (acc.x + acc.y) + (acc.z + acc.w);
}
