"""``psops rotate``, ``psops updatekeys`` and ``psops status``: key lifecycle over files, folders or the repo.

The ``--add-*``/``--rm-*`` key options of ``rotate`` are declared here once (typer ``Annotated`` aliases) and
parsed with :func:`psops.policy.parse_key_list`, the code that reads ``.sops.yaml``. Every file of a run is
handled on a bounded worker pool; each write is atomic; one file's failure is reported and the others go on.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from psops.cli import options as o
from psops.cli.output import about, warn
from psops.errors import BulkFailed, LifecycleCheckFailed, PolicyError, PsopsError
from psops.files import atomic_write, read_input
from psops.keys.base import KeyStanza
from psops.lifecycle.bulk import DEFAULT_JOBS, FileOutcome, ProgressBar, discover, run_bulk, summary

if TYPE_CHECKING:
    from psops.lifecycle.status import FileStatus
    from psops.lifecycle.updatekeys import KeyPlan
    from psops.policy import CreationRule

# --- options ------------------------------------------------------------------------------------------------

Paths = Annotated[
    list[str] | None,
    typer.Argument(help="Files or folders; none means every encrypted file of the repository that matches a "
                        "creation rule (git-tracked files inside git, else all files below the current folder).",
                   metavar="[PATH]..."),
]
Jobs = Annotated[int, typer.Option("--jobs", "-j", min=1, max=64, help="Files worked on at the same time.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")]
NoRotate = Annotated[
    bool,
    typer.Option("--no-rotate", help="Keep the data key even when a key is removed (not recommended: the removed "
                                     "key's holder can still read later versions)."),
]
Due = Annotated[bool, typer.Option("--due", help="Only files whose data key is older than their rule's "
                                                 "rotate_after (see psops status).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="List the files that would be changed; write nothing.")]
InPlaceCompat = Annotated[
    bool, typer.Option("--in-place", "-i", help="Accepted for sops compatibility: psops always writes in place.")
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print one JSON document for machines.")]
Check = Annotated[bool, typer.Option("--check", help="Exit 81 when any file is due for rotation or stale (for CI).")]


def _key_option(flag: str, what: str, example: str) -> object:
    return typer.Option(flag, help=f"{what} (comma-separated), e.g. {example}.")


AddAge = Annotated[str | None, _key_option("--add-age", "Add age recipients to the first key group", "age1...")]
RmAge = Annotated[str | None, _key_option("--rm-age", "Remove age recipients from every key group", "age1...")]
AddPgp = Annotated[str | None, _key_option("--add-pgp", "Add PGP fingerprints to the first key group", "85D7...")]
RmPgp = Annotated[str | None, _key_option("--rm-pgp", "Remove PGP fingerprints from every key group", "85D7...")]
AddKms = Annotated[str | None, _key_option("--add-kms", "Add AWS KMS key ARNs (+ROLE_ARN) to the first group",
                                           "arn:aws:kms:REGION:ACCOUNT:key/ID")]
RmKms = Annotated[str | None, _key_option("--rm-kms", "Remove AWS KMS key ARNs from every key group",
                                          "arn:aws:kms:REGION:ACCOUNT:key/ID")]
AddGcpKms = Annotated[str | None, _key_option("--add-gcp-kms", "Add GCP KMS resource IDs to the first group",
                                              "projects/P/locations/L/keyRings/R/cryptoKeys/K")]
RmGcpKms = Annotated[str | None, _key_option("--rm-gcp-kms", "Remove GCP KMS resource IDs from every group",
                                             "projects/P/locations/L/keyRings/R/cryptoKeys/K")]
AddAzureKv = Annotated[str | None, _key_option("--add-azure-kv", "Add Azure Key Vault key URLs to the first group",
                                               "https://VAULT/keys/NAME/VERSION")]
RmAzureKv = Annotated[str | None, _key_option("--rm-azure-kv", "Remove Azure Key Vault key URLs from every group",
                                              "https://VAULT/keys/NAME/VERSION")]
AddVault = Annotated[str | None, _key_option("--add-hc-vault-transit", "Add Vault Transit key URIs to the first "
                                             "group", "https://HOST:8200/v1/transit/keys/NAME")]
RmVault = Annotated[str | None, _key_option("--rm-hc-vault-transit", "Remove Vault Transit key URIs from every "
                                            "group", "https://HOST:8200/v1/transit/keys/NAME")]
AddHckms = Annotated[str | None, _key_option("--add-hckms", "Add HuaweiCloud KMS key IDs to the first group",
                                             "REGION:KEY-UUID")]
RmHckms = Annotated[str | None, _key_option("--rm-hckms", "Remove HuaweiCloud KMS key IDs from every group",
                                            "REGION:KEY-UUID")]


def _parse_keys(specs: list[tuple[str, str | None]], *, aws_profile: str | None,
                encryption_context: str | None) -> list[KeyStanza]:
    from psops.cli.keysel import parse_encryption_context
    from psops.policy import parse_key_list

    context = parse_encryption_context(encryption_context) or None
    out: list[KeyStanza] = []
    for kind, spec in specs:
        if spec:
            out += parse_key_list(kind, spec, aws_profile=aws_profile or "", context=context)
    return out



def _now() -> datetime:
    from psops.lifecycle.policy_age import current_time

    return current_time()


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _report(outcome: FileOutcome) -> None:
    if outcome.ok:
        _say(outcome.message)
    else:
        sys.stderr.write(f"psops: error: {outcome.message}\n")
        if outcome.error is not None and outcome.error.hint:
            sys.stderr.write(f"hint: {outcome.error.hint}\n")
        sys.stderr.flush()


def _run(files: list[str], work: Callable[[str], str], *, jobs: int, verb: str, single: bool) -> None:
    """Run ``work`` over ``files``; a single explicit file fails with its own error and exit code."""
    if single:
        with about(files[0]):
            _say(work(files[0]))
        return
    outcomes = run_bulk(files, work, jobs=jobs, progress=ProgressBar(len(files)), on_done=_report)
    failed = [o for o in outcomes if not o.ok]
    text = summary(outcomes, verb)
    if failed:
        raise BulkFailed(text, hint="the files listed above were left as they were; fix them and run again")
    sys.stderr.write(f"psops: {text}\n")


def _explicit_single(paths: list[str] | None, files: list[str]) -> bool:
    return bool(paths) and len(paths or []) == 1 and len(files) == 1 and not Path((paths or [""])[0]).is_dir()


# --- rotate -------------------------------------------------------------------------------------------------


def rotate(
    paths: Paths = None,
    due: Due = False,
    dry_run: DryRun = False,
    add_age: AddAge = None,
    rm_age: RmAge = None,
    add_pgp: AddPgp = None,
    rm_pgp: RmPgp = None,
    add_kms: AddKms = None,
    rm_kms: RmKms = None,
    add_gcp_kms: AddGcpKms = None,
    rm_gcp_kms: RmGcpKms = None,
    add_azure_kv: AddAzureKv = None,
    rm_azure_kv: RmAzureKv = None,
    add_hc_vault_transit: AddVault = None,
    rm_hc_vault_transit: RmVault = None,
    add_hckms: AddHckms = None,
    rm_hckms: RmHckms = None,
    aws_profile: o.AwsProfile = None,
    encryption_context: o.EncryptionContext = None,
    in_place: InPlaceCompat = False,
    input_type: o.InputType = None,
    ignore_mac: o.IgnoreMac = False,
    decryption_order: o.DecryptionOrder = None,
    jobs: Jobs = DEFAULT_JOBS,
    config: o.ConfigOpt = None,
) -> None:
    """Give files a new data key and re-encrypt every value.

    IVs are kept, so diffs stay per value. --add-* keys join the first key group, --rm-* keys leave every
    group (as sops rotate). Files are written in place, atomically; --due limits the run to files whose rule's
    rotate_after has passed.

    Examples:
        psops rotate secrets/prod.enc.yaml
        psops rotate --due
        psops rotate --rm-age age1old... secrets/
    """
    from psops.cli.keysel import store_settings
    from psops.engine import parse_decryption_order
    from psops.formats import format_for
    from psops.lifecycle.audit import audited
    from psops.lifecycle.rotate import rotate_bytes

    add = _parse_keys([("age", add_age), ("pgp", add_pgp), ("kms", add_kms), ("gcp_kms", add_gcp_kms),
                       ("azure_kv", add_azure_kv), ("hc_vault", add_hc_vault_transit), ("hckms", add_hckms)],
                      aws_profile=aws_profile, encryption_context=encryption_context)
    remove = _parse_keys([("age", rm_age), ("pgp", rm_pgp), ("kms", rm_kms), ("gcp_kms", rm_gcp_kms),
                          ("azure_kv", rm_azure_kv), ("hc_vault", rm_hc_vault_transit), ("hckms", rm_hckms)],
                         aws_profile=aws_profile, encryption_context=None)
    files = discover(paths or [], config=config)
    now = _now()
    if due:
        files = [f for f in files if _is_due(f, config, now)]
    if not files:
        _say("psops: no file to rotate" + (" (none is due)" if due else ""))
        return
    if dry_run:
        for f in files:
            _say(f"would rotate {f}")
        return
    order = parse_decryption_order(decryption_order)

    def work(path: str) -> str:
        with audited("rotate", path, config=config) as record:
            data = read_input(path)
            fmt = format_for(path, input_type)
            result = rotate_bytes(data, input_format=fmt, settings=store_settings(config, path), add=add,
                                  remove=remove, ignore_mac=ignore_mac, decryption_order=order, now=now)
            atomic_write(path, result.data)
            added = [k for k in result.keys_after if k not in result.keys_before]
            removed = [k for k in result.keys_before if k not in result.keys_after]
            record.details = {"keys_added": added, "keys_removed": removed, "data_key_created": result.created_at}
        for message in result.warnings:
            warn(f"{path}: {message}")
        changes = "".join([f", +{k}" for k in added] + [f", -{k}" for k in removed])
        return f"rotated {path}{changes}"

    _run(files, work, jobs=jobs, verb="rotated", single=_explicit_single(paths, files))


def _is_due(path: str, config: Path | None, now: datetime) -> bool:
    from psops.lifecycle.status import status_of

    state = status_of(path, config=config, now=now)
    if state.error is not None:
        return True  # let the rotation report the problem
    return state.due


# --- updatekeys ---------------------------------------------------------------------------------------------


def updatekeys(
    paths: Paths = None,
    yes: Yes = False,
    no_rotate: NoRotate = False,
    input_type: o.InputType = None,
    ignore_mac: o.IgnoreMac = False,
    decryption_order: o.DecryptionOrder = None,
    jobs: Jobs = DEFAULT_JOBS,
    config: o.ConfigOpt = None,
) -> None:
    """Make files' master keys match their creation rules.

    Master keys, key groups and threshold follow the matching rule; the plan is shown first. When a key is
    removed the data key is rotated too (the removed key's holder knows the old one); --no-rotate keeps it,
    with a warning. Without removals the same data key is re-wrapped (values, MAC and lastmodified stay, as
    with sops updatekeys).

    Examples:
        psops updatekeys --yes
        psops updatekeys secrets/prod.enc.yaml
    """
    from psops.cli.keysel import store_settings
    from psops.engine import parse_decryption_order
    from psops.formats import format_for
    from psops.lifecycle.audit import audited
    from psops.lifecycle.updatekeys import plan_bytes, update_keys_bytes

    files = discover(paths or [], config=config)
    if not files:
        _say("psops: no encrypted file matches a creation rule")
        return
    rules: dict[str, CreationRule] = {}
    plans: dict[str, KeyPlan] = {}
    errors: list[PsopsError] = []
    for path in files:
        try:
            rule = _rule(path, config)
            plan = plan_bytes(read_input(path), rule, input_format=format_for(path, input_type),
                              settings=store_settings(config, path))
        except PsopsError as exc:
            errors.append(exc.with_path(path))
            continue
        rules[path] = rule
        if plan.changed:
            plans[path] = plan
    for error in errors:
        _report(FileOutcome(str(error.path), False, str(error), error))
    if errors and _explicit_single(paths, files):
        raise errors[0]
    if not plans:
        _say("psops: " + ("all files are" if len(files) > 1 else f"{files[0]} is") + " up to date with the rules")
        if errors:
            raise BulkFailed(f"{len(errors)} of {len(files)} files could not be read")
        return
    _print_plan(plans, no_rotate=no_rotate)
    if not yes and not _confirm(len(plans)):
        _say("psops: nothing was changed")
        return
    order = parse_decryption_order(decryption_order)
    now = _now()

    def work(path: str) -> str:
        with audited("updatekeys", path, config=config) as record:
            result = update_keys_bytes(read_input(path), rules[path],
                                       input_format=format_for(path, input_type),
                                       settings=store_settings(config, path), rotate=not no_rotate,
                                       ignore_mac=ignore_mac, decryption_order=order, now=now)
            if result.data is not None:
                atomic_write(path, result.data)
            record.details = {"keys_added": result.plan.added, "keys_removed": result.plan.removed,
                              "rotated": result.rotated}
        for message in result.warnings:
            warn(f"{path}: {message}")
        return f"updated {path}" + (" (data key rotated)" if result.rotated else "")

    todo = sorted(plans, key=files.index)
    _run(todo, work, jobs=jobs, verb="updated", single=_explicit_single(paths, files))
    if errors:
        raise BulkFailed(f"{len(errors)} of {len(files)} files could not be read; the others were updated")


def _rule(path: str, config: Path | None) -> CreationRule:
    from psops.policy import discover_config

    cfg = discover_config(Path(path), explicit=config)
    if cfg is None:
        raise PolicyError("no .sops-policy.yaml or .sops.yaml applies to this file", path=path,
                          hint="updatekeys takes the keys from the matching creation rule")
    rule = cfg.match(Path(path))
    if rule is None:
        raise PolicyError("the config has no creation rules", path=str(cfg.path))
    return rule


def _print_plan(plans: dict[str, KeyPlan], *, no_rotate: bool) -> None:
    rows = [("FILE", "KEYS ADDED", "KEYS REMOVED", "DATA KEY")]
    for path, plan in plans.items():
        added, removed = plan.added, plan.removed
        action = "rotate" if plan.revoked and not no_rotate else "keep"
        if plan.threshold_before != plan.threshold_after:
            action += f", threshold {plan.threshold_before}->{plan.threshold_after}"
        height = max(len(added), len(removed), 1)
        for i in range(height):
            rows.append((path if i == 0 else "", added[i] if i < len(added) else ("-" if i == 0 else ""),
                         removed[i] if i < len(removed) else ("-" if i == 0 else ""), action if i == 0 else ""))
    widths = [max(len(r[c]) for r in rows) for c in range(3)]
    for r in rows:
        _say("  ".join(r[c].ljust(widths[c]) for c in range(3)) + "  " + r[3])
    if no_rotate and any(p.revoked for p in plans.values()):
        warn("--no-rotate: removed keys keep knowing the data key of these files")


def _confirm(count: int) -> bool:
    sys.stdout.write(f"Apply these changes to {count} file{'s' if count != 1 else ''}? (y/n): ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


# --- status -------------------------------------------------------------------------------------------------


def status(
    paths: Paths = None,
    as_json: JsonOut = False,
    check: Check = False,
    config: o.ConfigOpt = None,
) -> None:
    """Report per file: keys, data-key age, rotation due, stale keys.

    Reads only the metadata (no key needed). --check exits 81 when a file is due or stale, for CI.

    Examples:
        psops status
        psops status --check --json secrets/
    """
    from psops.lifecycle.status import status_of, status_selection

    files = discover(paths or [], config=config, select=status_selection)
    now = _now()
    items = [status_of(f, config=config, now=now) for f in files]
    if as_json:
        doc = {"now": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "files": [s.to_dict() for s in items],
               "summary": {"files": len(items), "encrypted": sum(1 for s in items if s.encrypted),
                           "due": sum(1 for s in items if s.due), "stale": sum(1 for s in items if s.stale),
                           "errors": sum(1 for s in items if s.error is not None)}}
        _say(json.dumps(doc, indent=2))
    else:
        _print_status(items)
    if check:
        bad = [s for s in items if s.problem]
        if bad:
            raise LifecycleCheckFailed(f"{len(bad)} of {len(items)} files need attention: "
                                       + ", ".join(s.path for s in bad[:5]) + (" ..." if len(bad) > 5 else ""),
                                       hint="run 'psops rotate --due' and/or 'psops updatekeys'")


def _short(key: str, width: int = 28) -> str:
    return key if len(key) <= width else key[: width - 1] + "…"


def _print_status(statuses: list[FileStatus]) -> None:
    from datetime import timedelta

    from psops.lifecycle.policy_age import format_duration
    from psops.lifecycle.status import summarize

    rows = [("FILE", "ENCRYPTED", "KEYS", "DATA KEY AGE", "ROTATE AFTER", "DUE", "STALE")]
    for s in statuses:
        if s.error is not None:
            rows.append((s.path, "?", "error: " + s.error[:60], "", "", "", ""))
            continue
        age = "-" if s.data_key_age_seconds is None else format_duration(timedelta(seconds=s.data_key_age_seconds))
        if s.encrypted and s.data_key_created_source == "derived":
            age += " (derived)"
        keys = ", ".join(_short(k) for k in s.keys) if s.keys else "-"
        rows.append((s.path, "yes" if s.encrypted else "NO", keys, age if s.encrypted else "-",
                     s.rotate_after or "-", "yes" if s.due else "no", "yes" if s.stale else "no"))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        _say("  ".join(r[c].ljust(widths[c]) for c in range(len(r))).rstrip())
    for s in statuses:
        for k in s.keys_to_add:
            _say(f"  {s.path}: rule adds {k}")
        for k in s.keys_to_remove:
            _say(f"  {s.path}: rule removes {k}")
    _say(summarize(statuses))


__all__ = ["rotate", "status", "updatekeys"]
