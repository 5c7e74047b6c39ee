#!/usr/bin/env bash
# Flux-style repository: kustomize builds the overlay, then the SOPS documents are decrypted, the way
# Flux's kustomize-controller does it, but with MAC checks on:
#     kubectl kustomize apps/prod | psops k8s decrypt -
# Runs in a throwaway copy with its own age key.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/config" SOPS_DISABLE_VERSION_CHECK=1
cp -r "$here/clusters" "$here/apps" "$work/"
cd "$work"

recipient=$(psops keygen | sed -n 's/^Public key: //p')
# kustomize edits metadata (here: namespace: shop) before decryption, so the MAC covers only the encrypted
# values: tampering with a secret value is still detected, a namespace set by the overlay is accepted.
for f in db-secret vendor-secret; do
    cp "$here/plaintext/$f.yaml" "apps/prod/$f.enc.yaml"
    psops k8s encrypt -i --mac-only-encrypted --age "$recipient" "apps/prod/$f.enc.yaml"
done
psops encrypt --age "$recipient" "$here/plaintext/config.yaml" > apps/prod/config.enc.yaml
psops encrypt --age "$recipient" "$here/plaintext/app.env" > apps/prod/app.enc.env

echo "--- kubectl kustomize apps/prod | psops k8s decrypt -"
kubectl kustomize apps/prod > built.yaml
psops k8s decrypt - < built.yaml > decrypted.yaml
cat decrypted.yaml
echo "--- the app-config Secret's files, decoded"
python3 - decrypted.yaml <<'PY'
import base64, sys
from ruamel.yaml import YAML
for doc in YAML(typ="safe").load_all(open(sys.argv[1])):
    if doc and doc["kind"] == "Secret" and doc["metadata"]["name"].startswith("app-config"):
        for key, value in doc["data"].items():
            print(f"{key}:\n{base64.b64decode(value).decode()}")
PY
