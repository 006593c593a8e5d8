"""Train on Modal GPUs: the project's image, a Volume for data and checkpoints, train.py as is.

    modal run modal_train.py::upload --data-dir data/sql    # prepared shards -> volume:/data/sql
    modal run modal_train.py::train --config configs/42M.py [--overrides "--max_iters=20000"]
    MODAL_GPU=H100:8 modal run modal_train.py::train --config configs/42M.py     # DDP over 8 GPUs
    modal run modal_train.py::ls [--path out]
    modal run modal_train.py::download --run 42M --dest out/42M      # best/ and last/ back to disk

Checkpoints land in volume:/out/<run> where <run> is the config's file name.
"""

import os
import shlex
import subprocess

import modal

APP_NAME = "sqlcomplete-train"
VOLUME_NAME = "sqlcomplete"
PROJECT = "/root/project"
VOL = "/vol"

GPU = os.environ.get(
    "MODAL_GPU", "H100"
)  # read when the app is built locally: "H100", "H100:8", "A100", ...
NPROC = int(GPU.split(":")[1]) if ":" in GPU else 1
app = modal.App(APP_NAME)
volume = modal.Volume.from_name(VOLUME_NAME, create_if_missing=True)
image = (
    modal.Image.debian_slim(python_version="3.11")
    .pip_install(
        "torch==2.13.0",
        "numpy>=1.26",
        "sentencepiece>=0.2",
        "safetensors>=0.4",
        "sqlglot>=25",
        "tqdm>=4.66",
        "pyarrow>=15",
        "regex",
    )
    .add_local_dir(
        os.path.dirname(os.path.abspath(__file__)),
        PROJECT,
        ignore=[".venv", ".git", "data", "out", "node_modules", "web/model", "**/__pycache__"],
    )
)


@app.function(image=image, gpu=GPU, volumes={VOL: volume}, timeout=12 * 3600)
def run_training(
    config: str, data: str = "sql", overrides: list[str] | None = None, nproc: int = NPROC
) -> str:
    """train.py with the config, reading volume:/data/<data>, writing volume:/out/<run>."""
    run = os.path.splitext(os.path.basename(config))[0]
    out_dir = f"{VOL}/out/{run}"
    args = [config, f"--data_dir={VOL}/data/{data}", f"--out_dir={out_dir}", *(overrides or [])]
    if os.path.isdir(os.path.join(out_dir, "last")):
        args.append("--init_from=resume")  # a preempted or repeated run continues where it stopped
    launcher = (
        ["torchrun", "--standalone", f"--nproc_per_node={nproc}"] if nproc > 1 else ["python"]
    )
    subprocess.run(launcher + ["train.py", *args], cwd=PROJECT, check=True)
    volume.commit()
    return out_dir


@app.local_entrypoint()
def upload(data_dir: str = "data/sql", name: str = "sql"):
    with volume.batch_upload(force=True) as batch:
        for fname in (
            "train.bin",
            "val.bin",
            "train.idx.npy",
            "val.idx.npy",
            "meta.json",
            "tok.model",
        ):
            batch.put_file(os.path.join(data_dir, fname), f"/data/{name}/{fname}")
    print(f"uploaded {data_dir} -> {VOLUME_NAME}:/data/{name}")


@app.local_entrypoint()
def train(config: str = "configs/15M.py", data: str = "sql", overrides: str = ""):
    print("checkpoints in", run_training.remote(config, data, shlex.split(overrides)))


@app.local_entrypoint()
def ls(path: str = "out"):
    for entry in volume.listdir(path, recursive=False):
        print(entry.path)


@app.local_entrypoint()
def download(run: str = "15M", dest: str = ""):
    dest = dest or os.path.join("out", run)
    for sub in ("best", "last"):
        for entry in volume.listdir(f"out/{run}/{sub}"):
            target = os.path.join(dest, sub, os.path.basename(entry.path))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target + ".tmp", "wb") as f:
                for chunk in volume.read_file(entry.path):
                    f.write(chunk)
            os.replace(target + ".tmp", target)
    print(f"downloaded {VOLUME_NAME}:/out/{run} -> {dest}")
