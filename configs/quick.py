# `make train`: the training demo, a ~1M-parameter model trained for 9 minutes on 2 CPU cores.
# Enough to watch the loss fall and the model learn SQL's shape (`make sample` prints its own
# suggestions beside the hybrid's); not enough to complete well alone: the shipped
# sqlcomplete/models/default saw 32.6M tokens.
out_dir = "out/quick"
model = dict(dim=128, n_layers=4, n_heads=4, n_kv_heads=2, hidden_dim=512)
block_size = 1536
batch_size = 8
max_iters = 100000
max_minutes = 9
learning_rate = 3e-3
min_lr = 3e-4
warmup_iters = 50
eval_interval = 200
eval_iters = 5
threads = 2
