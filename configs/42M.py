# llama2.c's "42M" shape with a 4x MLP; with a 512-token vocabulary it has ~34M parameters
out_dir = "out/42M"
model = dict(dim=512, n_layers=8, n_heads=8, n_kv_heads=8, hidden_dim=2048)
block_size = 1536
batch_size = 32
max_iters = 10000
learning_rate = 6e-4
min_lr = 6e-5
