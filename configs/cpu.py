# The shipped default: the best model 2 CPU cores train well in about 2 hours (~2.7M parameters).
out_dir = "out/cpu"
model = dict(dim=192, n_layers=5, n_heads=6, n_kv_heads=2, hidden_dim=768)
block_size = 1536
batch_size = 8
max_iters = 100000
max_minutes = 110
learning_rate = 2e-3
min_lr = 1e-4
warmup_iters = 200
eval_interval = 200
eval_iters = 10
threads = 2
