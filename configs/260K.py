# llama2.c's stories260K shape (doc/stories260K.md: dim 64, 5 layers, 8 heads, 4 kv heads,
# multiple_of 4): 260,032 parameters with its 512-token vocabulary, as here. hidden_dim by
# llama2.c's rule: int(2 * 4 * dim / 3) rounded up to multiple_of = 172. Only the context differs
# (1,536 instead of 512: a schema and its statement); RoPE has no parameters, so the count is the
# same.
out_dir = "out/260K"
model = dict(dim=64, n_layers=5, n_heads=8, n_kv_heads=4, hidden_dim=172)
block_size = 1536
batch_size = 16
max_iters = 3000
learning_rate = 3e-3
min_lr = 3e-4
warmup_iters = 100
