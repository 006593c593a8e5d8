"""Serve the data-generation LLM with vLLM's own OpenAI-compatible server on Modal.

    modal run datagen/vllm_server.py::download     # once: the weights into the hf-cache Volume
    modal deploy datagen/vllm_server.py            # prints URL
    modal run datagen/vllm_server.py::check        # waits for /health, then one guided-JSON request
    python -m datagen.vllm_server URL/v1           # the same check, any OpenAI-compatible server

URL is the server's address, https://<workspace>--sqlcomplete-vllm-serve.modal.run.

`vllm serve` runs as a subprocess of a @modal.web_server function on 4 x H100 (tensor parallel),
reading weights from a Volume, with structured outputs (xgrammar guided decoding) so instructor's
JSON-schema requests come back as valid JSON; it scales to zero after 15 idle minutes.
vllm is installed only in the Modal image, never locally.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import modal

APP = "sqlcomplete-vllm"
MODEL = "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8"
N_GPU = 4  # ~240 GB of FP8 weights: 4 x 80 GB leaves room for the KV cache
PORT = 8000
MINUTES = 60  # seconds

image = (
    modal.Image.debian_slim(python_version="3.12")
    .uv_pip_install("vllm==0.10.1.1", "huggingface_hub[hf_transfer]==0.34.4")
    .env({"HF_HUB_ENABLE_HF_TRANSFER": "1"})  # faster weight downloads
)
hf_cache = modal.Volume.from_name("sqlcomplete-hf-cache", create_if_missing=True)
vllm_cache = modal.Volume.from_name(
    "sqlcomplete-vllm-cache", create_if_missing=True
)  # compiled graphs
app = modal.App(APP)

# optional bearer token: deploy with VLLM_API_KEY=... set, and give clients the same key
# (LLM_API_KEY)
secrets = (
    [modal.Secret.from_dict({"VLLM_API_KEY": os.environ["VLLM_API_KEY"]})]
    if "VLLM_API_KEY" in os.environ
    else []
)


@app.function(image=image, volumes={"/root/.cache/huggingface": hf_cache}, timeout=240 * MINUTES)
def download(model: str = MODEL) -> None:
    """Fetch the weights once, so a cold start reads them from the Volume instead of the Hub."""
    from huggingface_hub import snapshot_download

    snapshot_download(model, ignore_patterns=["*.pt", "*.bin", "original/*"])
    hf_cache.commit()


@app.function(
    image=image,
    gpu=f"H100:{N_GPU}",
    volumes={"/root/.cache/huggingface": hf_cache, "/root/.cache/vllm": vllm_cache},
    secrets=secrets,
    scaledown_window=15 * MINUTES,  # idle time before the (expensive) container goes away
    timeout=30 * MINUTES,  # per request; long generations stay well below
    max_containers=1,  # one 4-GPU replica; vLLM batches the concurrent requests itself
)
@modal.concurrent(max_inputs=256)  # in-flight requests per replica, matches --max-num-seqs
@modal.web_server(
    port=PORT, startup_timeout=30 * MINUTES
)  # loading 240 GB and compiling takes a while
def serve() -> None:
    cmd = [
        "vllm",
        "serve",
        MODEL,
        "--host",
        "0.0.0.0",
        "--port",
        str(PORT),
        "--tensor-parallel-size",
        str(N_GPU),
        "--max-model-len",
        "32768",  # prompts are short; a smaller window leaves more KV cache for batching
        "--max-num-seqs",
        "256",
        "--gpu-memory-utilization",
        "0.92",
        "--guided-decoding-backend",
        "xgrammar",  # response_format json_schema -> constrained decoding
        "--uvicorn-log-level",
        "warning",
    ]
    if os.environ.get("VLLM_API_KEY"):
        cmd += ["--api-key", os.environ["VLLM_API_KEY"]]
    subprocess.Popen(cmd)


def _request(url: str, api_key: str, body: dict | None = None, timeout: float = 600) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}")


def check_endpoint(
    base_url: str, model: str = MODEL, api_key: str = "EMPTY", wait: float = 40 * MINUTES
) -> str:
    """Wait until `base_url` (ending in /v1) is healthy, check it serves `model`, and that a
    request with the pipeline's Topics schema as response_format comes back as valid JSON of that
    shape."""
    from datagen import prompts  # local only: the vLLM image does not carry the project

    root = base_url.rstrip("/").removesuffix("/v1")
    deadline = time.time() + wait
    while True:  # a cold start loads the weights first; /health answers once the server is up
        try:
            _request(root + "/health", api_key, timeout=60)
            break
        except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as e:
            if time.time() > deadline:
                raise TimeoutError(f"{root}/health not ready after {wait:.0f}s: {e}") from None
            time.sleep(min(10.0, max(0.0, deadline - time.time())))
    served = [m["id"] for m in _request(base_url.rstrip("/") + "/models", api_key)["data"]]
    if model not in served:
        raise RuntimeError(f"{base_url} serves {served}, not {model}")
    answer = _request(
        base_url.rstrip("/") + "/chat/completions",
        api_key,
        {
            "model": model,
            "max_tokens": 256,
            "messages": [{"role": "user", "content": prompts.topics_prompt(3)}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "Topics", "schema": prompts.Topics.model_json_schema()},
            },
        },
    )
    topics = prompts.Topics.model_validate_json(answer["choices"][0]["message"]["content"]).topics
    return f"ok: {base_url} serves {model}; guided JSON answer: {topics}"


@app.local_entrypoint()
def check(url: str = "", api_key: str = "") -> None:
    """Check the deployed server (or `url`, ending in /v1)."""
    base = url or modal.Function.from_name(APP, "serve").get_web_url() + "/v1"
    print(check_endpoint(base, MODEL, api_key or os.environ.get("LLM_API_KEY", "EMPTY")))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: python -m datagen.vllm_server BASE_URL/v1 [MODEL]")
    print(
        check_endpoint(
            sys.argv[1],
            sys.argv[2] if len(sys.argv) > 2 else MODEL,
            os.environ.get("LLM_API_KEY", "EMPTY"),
        )
    )
