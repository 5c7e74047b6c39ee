#!/usr/bin/env bash
# Plain CD pipeline: a folder of manifests, some Secrets SOPS-encrypted, decrypted on the way to kubectl:
#     psops k8s decrypt overlays/prod | kubectl apply -f -
# Runs in a throwaway copy with its own age key. Without a reachable cluster it prints the stream instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/config" SOPS_DISABLE_VERSION_CHECK=1
cp -r "$here/overlays" "$work/"
cd "$work"

# In a real repository the Secret is committed encrypted; here we encrypt the example's plaintext.
recipient=$(psops keygen | sed -n 's/^Public key: //p')
cp "$here/plaintext/db-secret.yaml" overlays/prod/db-secret.yaml
psops k8s encrypt -i --age "$recipient" overlays/prod/db-secret.yaml
echo "--- committed form: apiVersion, kind and metadata stay readable"
sed -n '1,12p' overlays/prod/db-secret.yaml

echo "--- psops k8s decrypt overlays/prod"
if command -v kubectl >/dev/null && kubectl version --request-timeout=2s >/dev/null 2>&1; then
    psops k8s decrypt overlays/prod | kubectl apply --dry-run=server -f -
else
    psops k8s decrypt overlays/prod
    echo "--- (no cluster reachable: in a pipeline the stream above goes to 'kubectl apply -f -')"
fi

echo "--- only the Secrets, written to a private folder instead of stdout"
psops k8s decrypt --only-kind Secret --output-dir "$work/out" overlays/prod
find "$work/out" -type f -exec ls -l {} \; | awk '{print $1, $NF}'
