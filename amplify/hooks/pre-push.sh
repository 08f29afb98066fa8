#!/usr/bin/env bash
# Amplify command hook: runs before every `amplify push` (cwd = project root; the JSON Amplify
# writes on stdin is not needed and not read).
#
# Amplify builds the container from amplify/backend/api/randapi/src/ only. This copies the crate
# there so that the pushed image is built from the code at the top of the repository:
#   Cargo.toml Cargo.lock src/ crates/ Dockerfile .dockerignore docker-compose.yml buildspec.yml
# and nothing else (never target/: it would be zipped, hashed and uploaded).
#
# Deterministic: the mirror is rebuilt from scratch each time with the sources' contents, modes
# and mtimes (cp -p), so an unchanged crate gives a byte-identical folder and Amplify's change
# detection (a hash of names and contents) sees no change: no rebuild. buildspec.yml is
# byte-identical to the one Amplify generates, so Amplify's own rewrite of it during the push
# changes nothing either. Needs only bash and coreutils (no rsync).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
api_dir="$root/amplify/backend/api/randapi"
mirror="$api_dir/src"
files=(Cargo.toml Cargo.lock Dockerfile .dockerignore docker-compose.yml buildspec.yml)
dirs=(src crates)

for f in "${files[@]}"; do
  [[ -f "$root/$f" ]] || { echo "pre-push: missing $root/$f" >&2; exit 1; }
done
for d in "${dirs[@]}"; do
  [[ -d "$root/$d" ]] || { echo "pre-push: missing $root/$d/" >&2; exit 1; }
done

# Build the new mirror beside the old one (a dot-folder: Amplify's hash skips those), then swap.
mkdir -p "$api_dir"
stage="$api_dir/.src-sync.$$"
trap 'rm -rf "$stage"' EXIT
rm -rf "$stage"
mkdir "$stage"
for f in "${files[@]}"; do
  cp -p "$root/$f" "$stage/$f"
done
for d in "${dirs[@]}"; do
  cp -Rp "$root/$d" "$stage/$d"
done
# The same modes whatever the umask of the clone: directories 755, files 644 (755 if executable).
chmod -R u=rwX,go=rX "$stage"

rm -rf "$mirror"
mv "$stage" "$mirror"
echo "pre-push: copied the crate into ${mirror#"$root"/}"
