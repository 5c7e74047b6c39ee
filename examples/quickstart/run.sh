#!/usr/bin/env bash
# The main job on a local age key, no cloud account: make a key, encrypt a file, edit it, decrypt it.
# Runs in a throwaway folder with its own key file; nothing outside it is touched.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/config" SOPS_DISABLE_VERSION_CHECK=1
cd "$work"

recipient=$(psops keygen | sed -n 's/^Public key: //p')
cat > .sops-policy.yaml <<POLICY
creation_rules:
  - path_regex: \.enc\.(yaml|json)$
    age: $recipient
POLICY

cat > app.enc.yaml <<'YAML'
# database settings
db:
    user: app
    password: s3cr3t
port: 5432
description_unencrypted: readable by anyone
YAML

psops encrypt -i app.enc.yaml
echo "--- encrypted file (values are ciphertext, keys readable):"
cat app.enc.yaml

# edit: psops decrypts into a private 0600 temp file, runs $EDITOR on it and re-encrypts what was saved.
# A real user gets vi/nano; here a sed command plays the editor. Only the changed value gets new ciphertext.
EDITOR="sed -i s/s3cr3t/n3w-s3cr3t/" psops edit app.enc.yaml

echo "--- decrypted:"
psops decrypt app.enc.yaml
echo "--- one value:"
psops decrypt --extract '["db"]["password"]' app.enc.yaml
echo
