"""``psops k8s decrypt|encrypt|krm|ksops|install-plugin``: Kubernetes manifests for GitOps and CD pipelines.

The work is done by :mod:`psops.k8s`, imported inside the commands so other commands never load it. Output
goes to stdout only after every input succeeded, so ``psops k8s decrypt DIR | kubectl apply -f -`` never
applies half a tree.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from psops.cli import options as o
from psops.cli.output import about, warn

if TYPE_CHECKING:
    from psops.k8s.ksops import GenerateOptions

k8s_app = typer.Typer(
    name="k8s",
    help="Kubernetes manifests: decrypt trees, encrypt Secrets, KSOPS generator.\n\n"
         "Decrypt a manifest tree for kubectl, encrypt Secrets the Kubernetes way (only data/stringData), and "
         "run as a KSOPS-compatible kustomize generator (KRM function or exec plugin).",
    epilog="Example: psops k8s decrypt overlays/prod | kubectl apply -f -",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Paths = Annotated[
    list[str] | None,
    typer.Argument(help="Manifest files or folders (walked for *.yaml, *.yml, *.json); - or nothing reads stdin.",
                   metavar="[PATH...|-]", show_default=False),
]
OutputDir = Annotated[
    Path | None,
    typer.Option("--output-dir", help="Write each input's output under this folder, mirroring the tree "
                                      "(folders 0700, files 0600) instead of one stream on stdout."),
]
OnlyKind = Annotated[
    list[str] | None,
    typer.Option("--only-kind", help="Output only documents of this kind (repeat or comma-separate: Secret,ConfigMap).",
                 metavar="KIND"),
]
SkipKind = Annotated[
    list[str] | None,
    typer.Option("--skip-kind", help="Leave out documents of this kind (repeat or comma-separate).", metavar="KIND"),
]
MaxFileSize = Annotated[
    str,
    typer.Option("--max-file-size", envvar="PSOPS_K8S_MAX_FILE_SIZE",
                 help="Refuse input files larger than this (bytes, or with K/M/G)."),
]
AllowOutsideSymlinks = Annotated[
    bool,
    typer.Option("--allow-outside-symlinks",
                 help="Follow symbolic links that lead outside the given paths (refused by default)."),
]
Jobs = Annotated[
    int,
    typer.Option("--jobs", "-j", min=1, max=256, envvar="PSOPS_K8S_JOBS",
                 help="Files decrypted at the same time (key-service round trips overlap)."),
]
Indent = Annotated[
    int, typer.Option("--indent", min=1, max=16, help="Indentation of re-emitted (decrypted) YAML documents.")
]
ManifestType = Annotated[
    str | None,
    typer.Option("--input-type", help="yaml or json, for stdin and unknown extensions (default: guessed)."),
]


def _kinds(values: list[str] | None) -> frozenset[str]:
    return frozenset(k.strip() for v in values or [] for k in v.split(",") if k.strip())



def _size(text: str) -> int:
    from psops.k8s.walk import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--max-file-size") from None


@k8s_app.command("decrypt")
def decrypt(
    paths: Paths = None,
    output_dir: OutputDir = None,
    ignore_mac: o.IgnoreMac = False,
    only_kind: OnlyKind = None,
    skip_kind: SkipKind = None,
    max_file_size: MaxFileSize = "8M",
    allow_outside_symlinks: AllowOutsideSymlinks = False,
    jobs: Jobs = 32,
    decryption_order: o.DecryptionOrder = None,
    input_type: ManifestType = None,
    indent: Indent = 2,
) -> None:
    """Decrypt the SOPS documents of a manifest tree; pass the rest through.

    Every SOPS-encrypted document is decrypted; everything else passes through unchanged.
    Folders are walked recursively (sorted; .psopsignore honoured; symbolic links leaving the given paths
    refused). Documents with SOPS metadata are decrypted whatever their kind, MAC checked, the sops block
    dropped; others keep their bytes. SOPS files inside Secret data values are decrypted (Flux); documents
    annotated kustomize.toolkit.fluxcd.io/decrypt: disabled stay encrypted. Decrypted Secrets are checked
    (data is base64, stringData holds strings) and duplicate Secrets are refused.

    Example: psops k8s decrypt overlays/prod | kubectl apply -f -;
    psops k8s decrypt --only-kind Secret --output-dir /run/manifests manifests/
    """
    from psops.k8s.decrypt import DecryptOptions, check_output_dir, decrypt_paths, render_stream, write_tree
    from psops.k8s.walk import WalkOptions

    if not paths and sys.stdin.isatty():
        from psops.errors import CannotReadInput

        raise CannotReadInput("no manifests given and standard input is a terminal",
                              hint="pass files or folders, or pipe a stream: kustomize build . | psops k8s decrypt -")
    given = paths or ["-"]
    from psops.engine import parse_decryption_order

    options = DecryptOptions(
        ignore_mac=ignore_mac, decryption_order=parse_decryption_order(decryption_order), only_kinds=_kinds(only_kind),
        skip_kinds=_kinds(skip_kind), indent=indent, jobs=jobs, input_type=input_type,
        walk=WalkOptions(max_file_size=_size(max_file_size), allow_outside_symlinks=allow_outside_symlinks))
    if output_dir is not None:
        with about(str(output_dir)):
            check_output_dir(output_dir, given)
    results = decrypt_paths(given, options)
    for result in results:
        for message in result.warnings:
            warn(message)
    if output_dir is not None:
        with about(str(output_dir)):
            write_tree(results, output_dir, given)
        return
    sys.stdout.buffer.write(render_stream(results))
    sys.stdout.buffer.flush()


@k8s_app.command("encrypt")
def encrypt(
    files: Annotated[list[str], typer.Argument(help="Manifest files (YAML streams or JSON) to encrypt.",
                                               metavar="FILE...")],
    in_place: Annotated[bool, typer.Option("--in-place", "-i",
                                           help="Rewrite each FILE (atomically) instead of printing.")] = False,
    age: o.Age = None,
    pgp: o.Pgp = None,
    kms: o.Kms = None,
    aws_profile: o.AwsProfile = None,
    encryption_context: o.EncryptionContext = None,
    gcp_kms: o.GcpKms = None,
    azure_kv: o.AzureKv = None,
    hc_vault_transit: o.HcVaultTransit = None,
    hckms: o.Hckms = None,
    unencrypted_suffix: o.UnencryptedSuffix = None,
    encrypted_suffix: o.EncryptedSuffix = None,
    unencrypted_regex: o.UnencryptedRegex = None,
    encrypted_regex: o.EncryptedRegex = None,
    shamir_secret_sharing_threshold: o.ShamirThreshold = 0,
    mac_only_encrypted: Annotated[
        bool,
        typer.Option("--mac-only-encrypted",
                     help="Let the MAC cover only encrypted values (as the creation-rule setting), so tools that "
                          "edit metadata before decryption, such as kustomize, do not break it."),
    ] = False,
    config: o.ConfigOpt = None,
) -> None:
    """Encrypt manifests the Kubernetes way: only data and stringData.

    The convention applies when no flag or rule picks a selection rule.
    Keys come from the key flags or the matching creation rule, as for 'psops encrypt'. A Kubernetes object
    whose apiVersion, kind or metadata the rule would encrypt is refused. Each file is encrypted as a whole,
    as sops does; without --in-place the results are printed one after another. Files that kustomize will
    transform before decryption (namespace, labels, name suffixes) need --mac-only-encrypted.

    Example: psops k8s encrypt -i --age age1... secrets/db.yaml secrets/api.yaml
    """
    from psops.cli.keysel import KeyFlags, encrypt_plan
    from psops.files import atomic_write, read_input
    from psops.k8s.decrypt import detect_format
    from psops.k8s.encrypt import encrypt_manifest
    from psops.k8s.stream import join_documents
    from psops.selection import EncryptionRules

    keys = KeyFlags(age=age, pgp=pgp, kms=kms, gcp_kms=gcp_kms, azure_kv=azure_kv,
                    hc_vault_transit=hc_vault_transit, hckms=hckms, aws_profile=aws_profile,
                    encryption_context=encryption_context)
    outputs: list[bytes] = []
    for file in files:
        with about(file):
            if in_place and file == "-":
                from psops.errors import ConflictingParameters

                raise ConflictingParameters("--in-place needs a file, not standard input")
            flag_rules = EncryptionRules(unencrypted_suffix=unencrypted_suffix or "",
                                         encrypted_suffix=encrypted_suffix or "",
                                         unencrypted_regex=unencrypted_regex or "",
                                         encrypted_regex=encrypted_regex or "")
            plan = encrypt_plan(file, config=config, keys=keys, flag_rules=flag_rules,
                                shamir_threshold=shamir_secret_sharing_threshold)
            if mac_only_encrypted:
                plan = plan.replace(rules=plan.rules.replace(mac_only_encrypted=True))
            data = read_input(file)
            out = encrypt_manifest(data, plan, fmt=detect_format(file, data), where=file)
            if in_place:
                atomic_write(file, out)
            else:
                outputs.append(out)
    if outputs:
        sys.stdout.buffer.write(join_documents(outputs))
        sys.stdout.buffer.flush()


def _generate_options(ignore_mac: bool, decryption_order: str | None, max_file_size: str,
                      jobs: int) -> GenerateOptions:
    from psops.k8s.decrypt import DecryptOptions
    from psops.k8s.ksops import GenerateOptions, default_roots
    from psops.k8s.walk import WalkOptions

    base = Path.cwd()
    from psops.engine import parse_decryption_order

    order = parse_decryption_order(decryption_order)
    return GenerateOptions(
        base=base, roots=default_roots(base),
        decrypt=DecryptOptions(ignore_mac=ignore_mac, decryption_order=order, jobs=jobs,
                               walk=WalkOptions(max_file_size=_size(max_file_size))))


@k8s_app.command("krm")
def krm(
    ignore_mac: o.IgnoreMac = False,
    decryption_order: o.DecryptionOrder = None,
    max_file_size: MaxFileSize = "8M",
    jobs: Jobs = 32,
) -> None:
    """Run as a kustomize KRM function (ResourceList on stdin and stdout).

    The KSOPS generator is the functionConfig.
    Prints the ResourceList with the generated resources appended. Paths in the generator are relative to
    the working directory and must stay inside $PSOPS_K8S_ROOT (else the enclosing git work tree).
    Wire it with the annotation config.kubernetes.io/function: {exec: {path: psops, args: [k8s, krm]}} and
    run 'kustomize build --enable-alpha-plugins --enable-exec'.

    Example: psops k8s krm < resource-list.yaml
    """
    from psops.k8s.ksops import run_krm

    options = _generate_options(ignore_mac, decryption_order, max_file_size, jobs)
    data = sys.stdin.buffer.read(options.decrypt.walk.max_file_size + 1)
    out = run_krm(data, options, "ResourceList (stdin)")
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()


@k8s_app.command("ksops")
def ksops(
    config: Annotated[str, typer.Argument(help="The generator manifest (kustomize passes a copy's path).",
                                          metavar="CONFIG")],
    decryption_order: o.DecryptionOrder = None,
    max_file_size: MaxFileSize = "8M",
    jobs: Jobs = 32,
) -> None:
    """Run as KSOPS' legacy kustomize exec plugin.

    Decrypts what the generator manifest names and prints a stream.
    kustomize runs the plugin as PLUGIN_HOME/viaduct.ai/v1/ksops/ksops CONFIG from the kustomization's folder;
    'psops k8s install-plugin' puts a wrapper there. Use with 'kubectl kustomize --enable-alpha-plugins'.

    Example: psops k8s ksops secret-generator.yaml
    """
    from psops.files import read_input
    from psops.k8s.ksops import run_exec_plugin

    with about(config):
        options = _generate_options(False, decryption_order, max_file_size, jobs)
        out = run_exec_plugin(read_input(config), options, config)
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()


@k8s_app.command("install-plugin")
def install_plugin(
    plugin_home: Annotated[
        Path | None,
        typer.Option("--plugin-home", help="kustomize's plugin folder (default: $KUSTOMIZE_PLUGIN_HOME, else "
                                           "$XDG_CONFIG_HOME/kustomize/plugin)."),
    ] = None,
) -> None:
    """Install the KSOPS exec plugin wrapper for kustomize.

    The wrapper PLUGIN_HOME/viaduct.ai/v1/ksops/ksops runs 'psops k8s ksops'.

    Example: psops k8s install-plugin && kubectl kustomize --enable-alpha-plugins overlays/prod
    """
    from psops.files import atomic_write
    from psops.k8s.ksops import default_plugin_home, plugin_path, plugin_wrapper

    target = plugin_path(plugin_home or default_plugin_home())
    with about(str(target)):
        exe = shutil.which("psops")
        command = [os.path.realpath(exe)] if exe else [sys.executable, "-m", "psops"]
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        if target.exists() and not target.is_symlink():
            target.chmod(0o755)
        atomic_write(target, plugin_wrapper(command), default_mode=0o755)
    typer.echo(str(target))
