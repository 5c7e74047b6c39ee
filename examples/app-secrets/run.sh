#!/usr/bin/env bash
# Plain application secrets: a dotenv file for the app's environment and a YAML config whose secret fields
# alone are encrypted, readable by a developer and by the deploy job, committed with psops' git drivers.
# Runs in a throwaway copy with its own age keys (psops on PATH); nothing outside it is touched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/config" SOPS_DISABLE_VERSION_CHECK=1
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_RECIPIENTS
git_() { git -c user.name=Example -c user.email=example@example.com "$@"; }

echo "--- a repository with this example's .sops-policy.yaml"
mkdir "$work/repo"
cp "$here/.sops-policy.yaml" "$here/app.py" "$work/repo/"
cd "$work/repo"
git init -q

echo "--- two age keys: the developer's (the default key file) and the deploy job's (its own file)"
dev=$(psops keygen | sed -n 's/^Public key: //p')
ci=$(psops keygen --output "$work/ci-key.txt" | sed -n 's/^Public key: //p')
# In a real repository the policy lists real public keys; here the placeholders get the generated ones.
sed -i -e "s/age1[a-z0-9]*\(  # dev\)/$dev\1/" -e "s/age1[a-z0-9]*\(  # ci\)/$ci\1/" .sops-policy.yaml
grep -c "$dev" .sops-policy.yaml >/dev/null && grep -c "$ci" .sops-policy.yaml >/dev/null

echo "--- encrypt: the creation rules pick the keys and what to encrypt"
mkdir secrets config
cp "$here/plaintext/app.env" secrets/app.env
cp "$here/plaintext/app.yaml" config/app.yaml
psops encrypt -i secrets/app.env
psops encrypt -i config/app.yaml
echo "config/app.yaml as committed (only password/token/*_key values are ciphertext):"
sed -n '1,12p' config/app.yaml

echo "--- commit with the diff/merge drivers and the pre-commit guard"
psops git install --attributes 'secrets/*.env' --attributes 'config/*.yaml' --hook >/dev/null
git add .sops-policy.yaml .gitattributes app.py secrets config
git_ commit -q -m "App secrets"
git log --oneline

echo "--- the app gets its secrets without a plaintext file on disk"
psops exec-env secrets/app.env './app.py'
psops exec-file --output-type json config/app.yaml './app.py --config {}'

echo "--- the deploy job decrypts with its own key only"
SOPS_AGE_KEY_FILE="$work/ci-key.txt" XDG_CONFIG_HOME="$work/empty" \
    psops decrypt --extract '["database"]["user"]' config/app.yaml
echo

echo "--- change a secret: the diff shows the decrypted change, one line"
psops set config/app.yaml '["database"]["password"]' '"n3w-database-passw0rd"'
git diff --stat
git diff | grep '^[-+] ' || true
git_ commit -q -am "Rotate the database password"

echo "--- status: keys and data-key age of every encrypted file"
psops status
