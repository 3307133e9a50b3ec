// Rows of f32 components, four to a vec4<u32> word.
fn row_sum(x: u32, y: u32) -> f32 {
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < params.stride; i++) {
        acc = accumulate(acc, bitcast<vec4<f32>>(load(x, i)), bitcast<vec4<f32>>(load(y, i)));
    }
    return (acc.x + acc.y) + (acc.z + acc.w);
}
