"""Editing encrypted files without leaving plaintext around: ``psops edit`` and ``psops replace``.

``session`` runs one edit (decrypt to a private temp file, editor, validate, re-seal with the same data key);
``editor`` resolves and runs the editor; ``workspace`` owns every place plaintext may touch the file system
(the 0700 private dir and the 0600 rescue file); ``signals`` makes sure SIGINT/SIGTERM/SIGHUP end in cleanup;
``compare`` decides what counts as a change; ``templates`` seeds new files; ``replace`` is the scripted edit.
The exec commands (:mod:`psops.exec`) reuse ``workspace`` and ``signals``.
"""

from psops.editing.editor import EditorCommand, resolve_editor
from psops.editing.replace import ReplaceResult, replace_content
from psops.editing.session import EditOptions, edit_file

__all__ = ["EditOptions", "EditorCommand", "ReplaceResult", "edit_file", "replace_content", "resolve_editor"]
