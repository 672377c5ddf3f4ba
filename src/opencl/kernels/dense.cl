/* dense.cl: the small element-wise parts of the dense layer around CLBlast's SGEMM. */

/* y[i, j] = act(y[i, j] + b[j]) (has_b 0: no bias). */
__kernel void ember_bias_act(__global float *y, __global const float *b, int has_b, int relu,
                             long batch, long out) {
    long t = get_global_id(0);
    if (t >= batch * out) return;
    long j = t % out;
    float v = y[t];
    if (has_b) v = v + b[j];
    if (relu) v = v > 0.0f ? v : 0.0f;
    y[t] = v;
}

/* dy = dy * (y > 0), in place (the pre-activation gradient of a ReLU). */
__kernel void ember_relu_backward(__global float *dy, __global const float *y, long n) {
    long t = get_global_id(0);
    if (t >= n) return;
    if (!(y[t] > 0.0f)) dy[t] = 0.0f;
}

/* db[j] = sum over rows of dy[:, j], in row order. */
__kernel void ember_col_sum(__global const float *dy, __global float *db, long batch, long out) {
    long j = get_global_id(0);
    if (j >= out) return;
    float acc = 0.0f;
    for (long i = 0; i < batch; i++) acc += dy[i * out + j];
    db[j] = acc;
}
