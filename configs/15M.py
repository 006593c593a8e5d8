# llama2.c's "15M" shape; with a 512-token vocabulary it has ~8.1M parameters
out_dir = "out/15M"
model = dict(dim=288, n_layers=6, n_heads=6, n_kv_heads=6, hidden_dim=1152)
block_size = 1536
batch_size = 16
max_iters = 5000
learning_rate = 1e-3
min_lr = 1e-4
