# llama2.c's stories42M shape (dim 512, 8 layers, 8 heads, 8 kv heads, multiple_of 32). hidden_dim
# by llama2.c's rule: int(2 * 4 * dim / 3) rounded up to multiple_of = 1376. "42M" counts its
# 32,000-token vocabulary; with this project's 512 tokens it has 25.6M parameters. Context 1,536
# instead of 1,024 (a schema and its statement); RoPE has no parameters, so the count is the same.
out_dir = "out/42M"
model = dict(dim=512, n_layers=8, n_heads=8, n_kv_heads=8, hidden_dim=1376)
block_size = 1536
batch_size = 32
max_iters = 10000
learning_rate = 6e-4
min_lr = 6e-5
