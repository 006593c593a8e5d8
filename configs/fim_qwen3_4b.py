# Fill-in-the-middle SQL completion: SFT of Qwen3-4B-Instruct-2507 (python fim/sft.py configs/fim_qwen3_4b.py).
# Sections mirror the seed's YAML; docs/sft.md has the memory plan for 1 and 8 H100s.
type = "sft"
model = dict(name_or_path="models/Qwen3-4B-Instruct-2507")  # a local directory, or the hub id Qwen/Qwen3-4B-Instruct-2507
data = dict(
    sources=[dict(name_or_path="data/fim/train_hf_fim_dataset")],  # fim/csv_to_fim.py output; jsonl/parquet work too
    max_length=262144,  # tokens per packed row, the model's context; trainable with the long-sequence options
    pack_samples=True,
    too_long="drop",  # a sample over max_length would lose its <|im_end|> if cut
    end_token="<|im_end|>",
    pad_to_multiple_of=128,
    num_proc=8,
)
optimizer = dict(type="adamw", lr=1e-5, weight_decay=0.0, betas=(0.9, 0.95), eps=1e-8, grad_clip=1.0)
scheduler = dict(type="cosine", warmup_ratio=0.03, min_lr_ratio=0.1)
epochs = 2
batch_size = 1  # rows per GPU per micro-batch: one 262144-token row
gradient_accumulation_steps = 1  # with 8 GPUs a step is 8 rows, ~2M tokens
output_dir = "out/fim_qwen3_4b"
checkpoint_activations = True
# 262144-token rows need the long-sequence pieces (fim/longseq.py): see docs/sft.md
attention = "flex"
tiled_loss = True
tiled_mlp = True
save_every = 200
log_every = 10
