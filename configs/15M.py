# llama2.c's stories15M shape (train.py defaults: dim 288, 6 layers, 6 heads, 6 kv heads,
# multiple_of 32). hidden_dim by llama2.c's rule: int(2 * 4 * dim / 3) rounded up to multiple_of =
# 768. "15M" counts its 32,000-token vocabulary; with this project's 512 tokens it has 6.12M
# parameters. Context 1,536 instead of 256 (a schema and its statement); RoPE has no parameters, so
# the count is the same.
out_dir = "out/15M"
model = dict(dim=288, n_layers=6, n_heads=6, n_kv_heads=6, hidden_dim=768)
block_size = 1536
batch_size = 16
max_iters = 5000
learning_rate = 1e-3
min_lr = 1e-4
