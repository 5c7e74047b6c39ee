#!/usr/bin/env bash
# What the Argo CD repo server does with this application, run locally: the image's plugin wrapper
# (psops k8s install-plugin), kustomize.buildOptions --enable-alpha-plugins, the age key from SOPS_AGE_KEY_FILE;
# then the config-management-plugin alternative. Runs in a throwaway copy with its own age key.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/home/.config" SOPS_DISABLE_VERSION_CHECK=1
mkdir -p "$work/repo"
cp -r "$here/app" "$here/plain-app" "$work/repo/"
cd "$work/repo"
mkdir .git  # stands for the checkout: the generator reads only inside this work tree

psops keygen --output "$work/sops/age/keys.txt" > "$work/recipient.txt"
export SOPS_AGE_KEY_FILE="$work/sops/age/keys.txt"
recipient=$(sed -n 's/^Public key: //p' "$work/recipient.txt")
cp "$here/plaintext/billing.yaml" app/billing.enc.yaml
psops k8s encrypt -i --age "$recipient" app/billing.enc.yaml
# kustomize sets the namespace before decryption: the MAC must cover only the encrypted values
cp "$here/plaintext/billing.yaml" plain-app/billing.enc.yaml
psops k8s encrypt -i --mac-only-encrypted --age "$recipient" plain-app/billing.enc.yaml

psops k8s install-plugin  # the Dockerfile's last step
echo "--- kustomize build with Argo CD's buildOptions (kubectl kustomize --enable-alpha-plugins app)"
kubectl kustomize --enable-alpha-plugins app
echo "--- the config management plugin's generate command, in plain-app/"
(cd plain-app && kubectl kustomize --enable-alpha-plugins . | psops k8s decrypt -)
