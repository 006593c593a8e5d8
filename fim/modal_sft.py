"""Run fim/sft.py on Modal H100s: torchrun with FSDP2 over the GPUs of one container.

    modal run fim/modal_sft.py::download    # once: Qwen3-4B-Instruct-2507 into the Volume
    modal volume put sqlcomplete-sft data/fim/train_hf_fim_dataset data/fim/train_hf_fim_dataset
    SFT_GPUS=8 modal run fim/modal_sft.py --config configs/fim_qwen3_4b.py --flags "--epochs=1"
    modal volume get sqlcomplete-sft out/fim_qwen3_4b/final ./fim_qwen3_4b
    vllm serve ./fim_qwen3_4b

The command runs with the Volume as its working directory, so the config's relative paths
(models/..., data/..., out/...) are Volume paths. A preempted or failed container is retried and
resumes from OUT_DIR/last (init_from=auto); save_interval bounds the work lost. Modal's SIGTERM on
preemption is passed on to torchrun, whose workers save OUT_DIR/last at their next step.
"""

import os
import shlex
import signal
import subprocess

import modal

APP = "sqlcomplete-sft"
VOL = "/vol"  # where the Volume is mounted: models/, data/, out/
MODEL = "Qwen/Qwen3-4B-Instruct-2507"
N_GPUS = int(os.environ.get("SFT_GPUS", "8"))  # read when the app is defined: 1 to 8 H100s
HOURS = 60 * 60  # seconds

image = (
    modal.Image.debian_slim(python_version="3.11")
    .uv_pip_install(
        "torch==2.13.0",
        "numpy>=1.26",
        "safetensors>=0.4",
        "pyarrow>=15",
        "regex>=2023.0",
        "tqdm>=4.66",
        "huggingface_hub>=0.34",
        "pyyaml>=6",
    )
    .add_local_python_source("fim", "model", "train")
    .add_local_dir("configs", "/root/configs")
)
volume = modal.Volume.from_name("sqlcomplete-sft", create_if_missing=True)
app = modal.App(APP)


@app.function(image=image, volumes={VOL: volume}, timeout=2 * HOURS)
def download(model: str = MODEL) -> str:
    """The model's safetensors, config and tokenizer files into VOL/models/<name>."""
    from huggingface_hub import snapshot_download

    path = f"{VOL}/models/{model.split('/')[-1]}"
    snapshot_download(
        model, local_dir=path, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.jinja"]
    )
    volume.commit()
    return path


@app.function(
    image=image,
    gpu=f"H100:{N_GPUS}",
    volumes={VOL: volume},
    timeout=24 * HOURS,
    retries=modal.Retries(max_retries=2, initial_delay=30.0),
)
def sft(config: str = "configs/fim_qwen3_4b.py", flags: str = "") -> int:
    """torchrun fim/sft.py CONFIG FLAGS on this container's GPUs; resumes a run that has a
    checkpoint."""
    cmd = [
        "torchrun",
        "--standalone",
        f"--nproc_per_node={N_GPUS}",
        "/root/fim/sft.py",
        f"/root/{config}",
        "--init_from=auto",
        *shlex.split(flags),
    ]
    print(" ".join(cmd), flush=True)
    env = {
        **os.environ,
        "PYTHONPATH": "/root",
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
    }
    try:
        proc = subprocess.Popen(cmd, cwd=VOL, env=env)
        # preemption: torchrun passes SIGTERM to the workers, which save OUT_DIR/last and exit 130
        signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signal.SIGTERM))
        rc = proc.wait()
    finally:
        volume.commit()  # checkpoints written so far survive whatever happened
    if rc != 0:
        raise RuntimeError(f"fim/sft.py exited with {rc}")
    return rc


@app.local_entrypoint()
def main(config: str = "configs/fim_qwen3_4b.py", flags: str = "") -> None:
    """SFT with CONFIG (a path under configs/) and extra --key=value FLAGS."""
    sft.remote(config, flags)
