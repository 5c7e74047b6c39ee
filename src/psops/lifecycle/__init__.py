"""Key lifecycle across a repository: rotate data keys, update master keys to the rules, a rotation policy,
status for CI, an audit trail, and bulk runs over many files.

Modules: :mod:`~psops.lifecycle.rotate` (a new data key per file), :mod:`~psops.lifecycle.updatekeys`
(master keys from the creation rules), :mod:`~psops.lifecycle.policy_age` (``rotate_after`` and data-key
age), :mod:`~psops.lifecycle.status` (read-only report), :mod:`~psops.lifecycle.audit` (JSON-lines / syslog
trail) and :mod:`~psops.lifecycle.bulk` (file discovery and a bounded worker pool). See docs/lifecycle.md.
"""
