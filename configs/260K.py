# llama2.c's 260K shape: ~0.3M parameters with a 512-token vocabulary
out_dir = "out/260K"
model = dict(dim=64, n_layers=5, n_heads=8, n_kv_heads=4, hidden_dim=256)
block_size = 1536
batch_size = 16
max_iters = 3000
learning_rate = 3e-3
min_lr = 3e-4
warmup_iters = 100
