#!/usr/bin/env bash
# kustomize with the KSOPS-compatible generator: kubectl kustomize --enable-alpha-plugins overlays/prod
# decrypts what secret-generator.yaml names, in memory. Runs in a throwaway copy with its own age key.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/config" SOPS_DISABLE_VERSION_CHECK=1
cp -r "$here/base" "$here/overlays" "$here/krm" "$work/"
cd "$work"
# The generator reads only files inside the git work tree around it, or under $PSOPS_K8S_ROOT:
export PSOPS_K8S_ROOT="$work"

recipient=$(psops keygen | sed -n 's/^Public key: //p')
# The encrypted inputs (committed encrypted in a real repository). Any SOPS tool can write them.
cp "$here/plaintext/db.yaml" overlays/prod/db.enc.yaml
psops k8s encrypt -i --age "$recipient" overlays/prod/db.enc.yaml
for f in api.env tls.crt tls.key; do
    ext=${f##*.}
    type=$([ "$ext" = env ] && echo dotenv || echo binary)
    psops encrypt --age "$recipient" --input-type "$type" --output-type "$type" "$here/plaintext/$f" \
        > "overlays/prod/${f%.*}.enc.$ext"
done
cp overlays/prod/db.enc.yaml krm/ && cp overlays/prod/api.enc.env krm/

# Legacy exec plugin: kustomize runs $XDG_CONFIG_HOME/kustomize/plugin/viaduct.ai/v1/ksops/ksops CONFIG
psops k8s install-plugin
echo "--- kubectl kustomize --enable-alpha-plugins overlays/prod"
kubectl kustomize --enable-alpha-plugins overlays/prod

# KRM function: kustomize pipes a ResourceList with the generator as functionConfig to 'psops k8s krm'.
echo "--- psops k8s krm (what kustomize build --enable-alpha-plugins --enable-exec runs)"
if command -v kustomize >/dev/null; then
    (cd krm && printf 'generators:\n- secret-generator.yaml\n' > kustomization.yaml &&
        kustomize build --enable-alpha-plugins --enable-exec .)
else
    { printf 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n'
      sed 's/^/  /' krm/secret-generator.yaml; } | (cd krm && psops k8s krm)
fi
