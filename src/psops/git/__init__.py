"""Git integration: a diff textconv, a merge driver, a mergetool, installation, and a pre-commit check.

SOPS keeps mapping keys in clear text so git can diff and merge encrypted files line by line; psops goes one
step further and works on the decrypted trees:

* :mod:`psops.git.textconv` turns any encrypted blob git hands it into stable plaintext for ``git diff``,
  ``git log -p`` and ``git show`` (or, without a key, into the tree with each value's ciphertext fingerprint);
* :mod:`psops.git.merge` is the structural 3-way merge of trees (pure functions, no crypto, no I/O);
* :mod:`psops.git.driver` is the merge driver: it opens base, ours and theirs, merges, and re-seals with ours'
  data key so unchanged values keep their ciphertext;
* :mod:`psops.git.mergetool` shows a conflict decrypted, with markers, in a private temp file in the editor;
* :mod:`psops.git.install` writes the git configuration and ``.gitattributes`` lines (and removes them);
* :mod:`psops.git.check` with :mod:`psops.git.scanners` and :mod:`psops.git.allowlist` guards commits.

Nothing here imports :mod:`psops.cli`; gitpython is imported only by :mod:`psops.git.install`, lazily.
"""
