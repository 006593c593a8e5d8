"""Ulysses sequence parallelism in fim/longseq.py: 2 gloo processes give the single-process loss
and gradients."""

import os
import socket
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from test_longseq import ROWS, packed_batch, reference, tiny

from sqlcomplete.fim.longseq import (
    LongSeqConfig,
    batch_loss,
    kv_repeats,
    packed_loss,
    shard_batch,
    shard_model,
)

ALL = dict(
    tiled_loss=True,
    loss_chunk=7,
    tiled_mlp=True,
    mlp_chunk=5,
    checkpoint_activations=True,
    offload_activations=True,
)


def check_sequence_parallel(rank: int, world: int):
    group = dist.group.WORLD
    # kv heads split over the ranks (4 q, 2 kv), replicated (4 q, 1 kv), repeated to one per q head
    # (6 q, 3 kv)
    for heads, kv in ((4, 2), (4, 1), (6, 3)):
        for rows in (ROWS, [[9, 1, 13, 18]]):  # 40 tokens, and 41 (padded to 42 by shard_batch)
            for cfg in (
                LongSeqConfig(),
                LongSeqConfig(**ALL),
                LongSeqConfig(**ALL, attention="flex", flex_block=8),
            ):
                model, batch = tiny(n_heads=heads, n_kv_heads=kv), packed_batch(rows)
                ref_loss, ref_grads = reference(model, batch)
                loss_sum, count = packed_loss(
                    model, *shard_batch(*batch, rank, world), cfg, sp_group=group
                )
                total = torch.stack([loss_sum.detach(), count.float()])
                dist.all_reduce(total)
                torch.testing.assert_close(total[0] / total[1], ref_loss, atol=1e-5, rtol=0)
                grads = torch.autograd.grad(loss_sum / total[1], list(model.parameters()))
                for g, r in zip(grads, ref_grads):
                    dist.all_reduce(g)  # the slices' gradients add up to the rows'
                    torch.testing.assert_close(g, r, atol=1e-5, rtol=0)
    # slices of different lengths: a clear error on every rank, not a hang
    model, (ids, labels, pos, sid) = tiny(), packed_batch(ROWS)
    cut = 20 + rank
    with pytest.raises(ValueError, match="different shapes"):
        packed_loss(
            model, ids[:, :cut], labels[:, :cut], pos[:, :cut], sid[:, :cut], sp_group=group
        )


def check_fsdp2(rank: int, world: int):
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy

    mesh = init_device_mesh("cpu", (1, world), mesh_dim_names=("dp", "sp"))
    sft = SimpleNamespace(sequence_parallel=world, **ALL)
    for how in ("shard_model", "sft.py"):
        model, batch = tiny(), packed_batch(ROWS)
        ref_loss, ref_grads = reference(model, batch)
        if how == "shard_model":  # a 2-D data x sequence mesh
            shard_model(model, mesh)
            loss_sum, count = packed_loss(
                model,
                *shard_batch(*batch, mesh["sp"].get_local_rank(), world),
                LongSeqConfig(**ALL),
                sp_group=mesh["sp"].get_group(),
            )
        else:
            # fim/sft.py's sharding (a 1-D mesh of all ranks, its mixed-precision policy) and its
            # batch_loss call
            shard_model(
                model,
                init_device_mesh("cpu", (world,)),
                mp_policy=MixedPrecisionPolicy(
                    param_dtype=torch.float32, reduce_dtype=torch.float32
                ),
            )
            keys = ("input_ids", "labels", "position_ids", "sample_ids")
            loss_sum, count = batch_loss(model, dict(zip(keys, batch)), sft)
        total = torch.stack([loss_sum.detach(), count.float()])
        dist.all_reduce(total)
        # FSDP2 averages gradients over the data x sequence ranks
        (loss_sum * world / total[1]).backward()
        torch.testing.assert_close(total[0] / total[1], ref_loss, atol=1e-5, rtol=0)
        for (name, p), r in zip(model.named_parameters(), ref_grads):
            torch.testing.assert_close(
                p.grad.full_tensor(),
                r,
                atol=1e-5,
                rtol=0,
                msg=lambda m, how=how, name=name: f"{how} {name}: {m}",
            )


def _worker(rank: int, world: int, port: int, check):
    import torch.nn.attention.flex_attention as fa

    fa._validate_device = lambda *a: (
        None
    )  # flex's eager backward, guarded off on CPU (see test_longseq.py)
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        check(rank, world)
    finally:
        dist.destroy_process_group()


def spawn(check, world: int = 2, attempts: int = 3):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    for attempt in range(attempts):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            mp.spawn(_worker, args=(world, port, check), nprocs=world)
            return
        except (
            mp.ProcessExitedException
        ) as e:  # gloo sometimes aborts while connecting; a wrong result raises otherwise
            if "SIGABRT" not in str(e) or attempt == attempts - 1:
                raise


def test_sequence_parallel_matches_single_process():
    spawn(check_sequence_parallel)


def test_sequence_parallel_with_fsdp2():
    spawn(check_fsdp2)


def test_kv_head_rule():
    assert kv_repeats(32, 8, 8) == 1  # Qwen3-4B on 8 ranks: one kv head each
    assert kv_repeats(32, 8, 16) == 2
    assert kv_repeats(12, 4, 6) == 3  # neither divides the other: one kv head per query head
    with pytest.raises(ValueError, match="must divide the number of attention heads"):
        kv_repeats(32, 8, 3)
