# Fill-in-the-middle SQL completion: SFT of Qwen3-4B-Instruct-2507
# (python fim/sft.py configs/fim_qwen3_4b.py).
# The seed's YAML runs as it is too (python fim/sft.py config.yml); docs/sft.md has the memory plan
# for 1 and 8 H100s.
# Names shared with train.py are spelled as there (out_dir, grad_accum, learning_rate, block_size,
# ...).
type = "sft"
# a local directory, or the hub id Qwen/Qwen3-4B-Instruct-2507
pretrained = "models/Qwen3-4B-Instruct-2507"
# fim/csv_to_fim.py output; jsonl/parquet and hub datasets work too
sources = ["data/fim/train_hf_fim_dataset"]
# tokens per packed row, the model's context; trainable with the long-sequence options
block_size = 262144
pack_samples = True
too_long = "drop"  # a sample over block_size would lose its <|im_end|> if cut
end_token = "<|im_end|>"
pad_to_multiple_of = 128
num_proc = 8
optimizer = "adamw"
learning_rate = 1e-5
weight_decay = 0.0
beta1, beta2 = 0.9, 0.95
grad_clip = 1.0
lr_schedule = "cosine"
warmup_ratio = 0.03
min_lr = 1e-6  # 0.1 x learning_rate
epochs = 2
batch_size = 1  # rows per GPU per micro-batch: one 262144-token row
grad_accum = 1  # with 8 GPUs a step is 8 rows, ~2M tokens
out_dir = "out/fim_qwen3_4b"
checkpoint_activations = True
# 262144-token rows need the long-sequence pieces (fim/longseq.py): see docs/sft.md
attention = "flex"
tiled_loss = True
tiled_mlp = True
save_interval = 200
log_interval = 10
