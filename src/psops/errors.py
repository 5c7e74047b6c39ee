"""The psops error family.

The library raises these; the CLI turns each into one line on stderr (``psops: error: FILE: message``, then
an optional ``hint:`` line) and the exit code SOPS uses for the same condition, so scripts written for
``sops`` keep working. Messages never contain secret material.
"""

from __future__ import annotations

from psops.record import Record


class PsopsError(Exception):
    """Base of every error psops reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint

    def with_path(self, path: str) -> PsopsError:
        """Attach the file the error is about, unless one is set already."""
        if self.path is None:
            self.path = path
        return self

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class CannotReadInput(PsopsError):
    """The input file is missing, unreadable or not valid for its format."""

    exit_code = 2


class NoSuchInputFile(CannotReadInput):
    """``decrypt`` or ``encrypt`` of a file that does not exist (exit 100, as sops: "cannot operate on
    non-existent file"; other commands report a missing file as unreadable input, exit 2, as sops does)."""

    exit_code = 100


class CannotWriteOutput(PsopsError):
    """The output could not be written."""

    exit_code = 3


class CannotDumpTree(PsopsError):
    """The tree cannot be written in the output format (e.g. NaN in JSON, nested values in dotenv)."""

    exit_code = 4


class PolicyError(PsopsError):
    """A creation-rules file (.sops-policy.yaml / .sops.yaml) is invalid or has no matching rule."""

    exit_code = 5


class InvalidEncryptionContext(PsopsError):
    """``--encryption-context`` is not ``key:value,key:value`` (exit 6, as SOPS)."""

    exit_code = 6


class InvalidSetFormat(PsopsError):
    """``psops set``/``unset``: the path or the JSON value cannot be parsed (exit 7, as SOPS)."""

    exit_code = 7


class ConflictingParameters(PsopsError):
    """Two options that exclude each other were given."""

    exit_code = 8


class EncryptError(PsopsError):
    """A value could not be encrypted (for example a type SOPS cannot store)."""

    exit_code = 23


class DecryptError(PsopsError):
    """A value could not be decrypted: corrupt ENC string or wrong data key."""

    exit_code = 25


class MacMismatch(PsopsError):
    """The file's MAC does not match its content: it was tampered with or corrupted."""

    exit_code = 51


class MetadataNotFound(PsopsError):
    """The file carries no `sops` metadata, so it is not encrypted (sops says exit 1; psops keeps it distinct)."""

    exit_code = 12


class InvalidTreePath(PsopsError):
    """An --extract style path does not exist in the document or cannot be parsed."""

    exit_code = 91


class EmptyDocument(PsopsError):
    """The file has no document at all."""

    exit_code = 92


class MissingArgument(PsopsError):
    """A required argument is missing, e.g. the value of ``psops set`` (exit 100, as SOPS)."""

    exit_code = 100


class NoEncryptionKey(PsopsError):
    """Encryption was asked for but no master key was given by flags, environment or creation rules."""

    exit_code = 111


class KeyServiceError(PsopsError):
    """A key service failed to wrap or unwrap a data key."""

    exit_code = 128


class NotMine(Exception):
    """Raised by a key service's unwrap when none of its identities fits the stanza (try the next key)."""


class KeyAttempt(Record):
    """One master key tried while unwrapping the data key, and why it failed."""

    __slots__ = ("group", "kind", "key", "reason")

    def __init__(self, group: int, kind: str, key: str, reason: str) -> None:
        self.group = group
        self.kind = kind
        self.key = key
        self.reason = reason


# Where each key type finds its identity or credentials, for NoKeyMatched's hint.
_IDENTITY_SOURCES = {
    "age": "SOPS_AGE_KEY_FILE, SOPS_AGE_KEY",
    "pgp": "GNUPGHOME",
    "kms": "AWS credentials or AWS_PROFILE",
    "gcp_kms": "GOOGLE_APPLICATION_CREDENTIALS",
    "azure_kv": "Azure credentials (AZURE_*)",
    "hc_vault": "VAULT_TOKEN or ~/.vault-token",
}


class NoKeyMatched(PsopsError):
    """No master key could unwrap the data key (or too few Shamir groups could)."""

    exit_code = 128

    def __init__(self, attempts: list[KeyAttempt], *, path: str | None = None, detail: str = "") -> None:
        lines = [f"group {a.group}: {a.kind} {a.key}: {a.reason}" for a in attempts]
        summary = "; ".join(lines) if lines else "the file lists no master keys"
        message = "could not decrypt the data key with any master key" + (f" ({detail})" if detail else "")
        sources = [_IDENTITY_SOURCES[k] for k in dict.fromkeys(a.kind for a in attempts) if k in _IDENTITY_SOURCES]
        super().__init__(
            f"{message}: {summary}",
            path=path,
            hint="provide an identity for one of the listed keys ("
                 + ("; ".join(sources) or "SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, GNUPGHOME") + ")",
        )
        self.attempts = attempts


class FileUnchanged(PsopsError):
    """An edit produced no change (exit 200, as SOPS)."""

    exit_code = 200


class AlreadyEncrypted(PsopsError):
    """Encrypting a file that already carries SOPS metadata is refused (exit 203, as SOPS)."""

    exit_code = 203


# --- editing and exec (psops.editing, psops.exec) ---


class Interrupted(PsopsError):
    """psops was stopped by SIGINT, SIGTERM or SIGHUP; temp files were removed (exit 85, as SOPS for Ctrl-C)."""

    exit_code = 85


class EditorFailed(PsopsError):
    """No editor could be found or run, or it failed (exit 201, as SOPS)."""

    exit_code = 201


class EditRejected(PsopsError):
    """The edited content cannot be saved (invalid syntax, changed metadata, file changed meanwhile); the edits
    are kept in a private file whose path the message names. psops-specific: exit 204."""

    exit_code = 204


class NotAnEnvVar(PsopsError):
    """exec-env: a value or key cannot become an environment variable (nested, list, '=' or NUL). Exit 13."""

    exit_code = 13


class CommandNotRun(PsopsError):
    """exec-env/exec-file: the command could not be started (exit 127, as shells use for it)."""

    exit_code = 127


# --- git integration (psops.git) ---


class GitError(PsopsError):
    """A git command failed, or the directory is not inside a git work tree. psops-specific: exit 70."""

    exit_code = 70


class MergeConflict(PsopsError):
    """A 3-way merge of an encrypted file found conflicting changes; the working file is left as ours, still
    encrypted, for git to mark as conflicted. psops-specific: exit 71."""

    exit_code = 71


class CheckFailed(PsopsError):
    """``psops check`` found problems (listed as ``path:line rule`` lines on stdout). psops-specific: exit 72."""

    exit_code = 72


# --- Kubernetes manifests (psops.k8s) ---


class ManifestCheckFailed(PsopsError):
    """A manifest stream failed a check: a decrypted Secret's ``data`` value is not base64, a ``stringData``
    value is not a string, two Secrets share namespace/name, or a document is not a Kubernetes object.
    psops-specific: exit 73."""

    exit_code = 73


class UnsafeInput(PsopsError):
    """An input was refused for safety: a symbolic link leaving the given roots, a file over the size limit,
    something that is not a regular file. psops-specific: exit 74."""

    exit_code = 74


class GeneratorError(PsopsError):
    """A KSOPS generator manifest or a KRM ResourceList is invalid (missing name, bad path, duplicate key).
    psops-specific: exit 75."""

    exit_code = 75


# --- key lifecycle (psops.lifecycle) ---


class AuditError(PsopsError):
    """The audit trail configured in .sops-policy.yaml cannot be written; psops refuses to work unrecorded.
    psops-specific: exit 80."""

    exit_code = 80


class LifecycleCheckFailed(PsopsError):
    """``psops status --check`` found files whose data key is due for rotation or whose keys are stale.
    psops-specific: exit 81."""

    exit_code = 81


class BulkFailed(PsopsError):
    """A run over several files (rotate, updatekeys) failed for some of them; the others were done.
    psops-specific: exit 82."""

    exit_code = 82
