#!/usr/bin/env bash
# Multi-team key groups with Shamir: production needs two of three teams (platform, security, break-glass);
# staging needs one developer key. Then someone leaves and `psops updatekeys` takes their key out.
# Runs in a throwaway copy; every age key is generated here (psops on PATH); nothing outside it is touched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/empty" SOPS_DISABLE_VERSION_CHECK=1
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_RECIPIENTS

echo "--- one age key per person, each in its own file"
mkdir "$work/keys" "$work/repo"
declare -A pub
for who in alice bob carol dave erin; do
    pub[$who]=$(psops keygen --output "$work/keys/$who.txt" 2>/dev/null | sed -n 's/^Public key: //p')
done
as() {  # as NAME[,NAME...] CMD...: run CMD holding only those people's keys
    local names=$1; shift
    local file="$work/keys/holding.txt"
    : > "$file"
    for who in ${names//,/ }; do cat "$work/keys/$who.txt" >> "$file"; done
    SOPS_AGE_KEY_FILE="$file" "$@"
}

cp "$here/.sops-policy.yaml" "$work/repo/"
cd "$work/repo"
for who in alice bob carol dave; do  # the placeholders get the generated public keys
    sed -i "s/age1[a-z0-9]*\(  # $who:\)/${pub[$who]}\1/" .sops-policy.yaml
done

echo "--- encrypt: prod gets three key groups and a threshold of 2, staging one key"
mkdir prod staging
cp "$here/plaintext/prod-db.yaml" prod/db.yaml
cp "$here/plaintext/staging-db.yaml" staging/db.yaml
psops encrypt -i prod/db.yaml
psops encrypt -i staging/db.yaml
grep -E '^    (shamir_threshold|key_groups)|recipient' prod/db.yaml

echo "--- alice alone cannot decrypt production (one share of two)"
if as alice psops decrypt prod/db.yaml > /dev/null 2> "$work/err.txt"; then
    echo "unexpected: one group was enough" >&2; exit 1
fi
sed -n '1p' "$work/err.txt"

echo "--- any two teams can"
as alice,bob psops decrypt --extract '["password"]' prod/db.yaml; echo "   (alice + bob)"
as bob,carol psops decrypt --extract '["password"]' prod/db.yaml; echo "   (bob + carol)"
as dave psops decrypt --extract '["password"]' staging/db.yaml; echo "   (dave, staging)"

if command -v sops >/dev/null; then
    echo "--- the files are SOPS files: sops decrypts them too"
    as alice,carol sops decrypt --extract '["host"]' prod/db.yaml; echo "   (sops, alice + carol)"
fi

echo "--- alice leaves the platform team, erin joins: edit the policy, then updatekeys"
sed -i "s/${pub[alice]}  # alice:/${pub[erin]}  # erin:/" .sops-policy.yaml
as bob,carol psops updatekeys --yes prod/db.yaml
if as alice,bob psops decrypt prod/db.yaml > /dev/null 2>&1; then
    echo "unexpected: alice's key still counts" >&2; exit 1
fi
echo "alice + bob: refused now (the data key was rotated when alice's key was removed)"
as erin,bob psops decrypt --extract '["user"]' prod/db.yaml; echo "   (erin + bob)"

echo "--- status"
psops status prod staging
