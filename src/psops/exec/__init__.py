"""Running a command with decrypted secrets: ``psops exec-env`` and ``psops exec-file``.

``envvars`` turns a decrypted tree into environment variables; ``plainfile`` hands the decrypted file to the
command through a FIFO (or a 0600 temp file) in a private dir that is removed afterwards; ``runner`` runs the
one command string through ``/bin/sh -c`` with secrets only in its environment, never in argv, and returns
its exit status.
"""

from psops.exec.envvars import env_string, secrets_env
from psops.exec.plainfile import DEFAULT_FILENAME, plaintext_path
from psops.exec.runner import exec_command, run_command

__all__ = ["DEFAULT_FILENAME", "env_string", "exec_command", "plaintext_path", "run_command", "secrets_env"]
