#!/usr/bin/env bash
# Checks the package as it would be published: builds, packs the tarball into a temp dir, then runs
# publint (package.json fields, exports, files) and Are the Types Wrong (the types each export
# resolves to, for ESM consumers: this package is ESM only, hence the esm-only profile) on that
# same tarball. Run as `npm run check:package`; CI runs it after the build.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

npm run build
npm pack --silent --pack-destination "$tmp" >/dev/null
tarball="$(ls "$tmp"/*.tgz)"
echo "Packed: $(basename "$tarball")"

npx --no-install publint --strict "$tarball"

# ./sql/postgres-schema.sql is exported as a file to read (fs.readFile on its resolved path, or
# psql -f), not a module to import: it has no types to resolve, so attw's "Resolution failed" for
# it is expected, and it is left out of the check. Every other export must resolve cleanly; the
# file itself must be in the tarball at the path the export names.
tar -tzf "$tarball" >"$tmp/contents"
grep -qx 'package/sql/postgres-schema.sql' "$tmp/contents" || { echo "FAIL: sql/postgres-schema.sql is not in the tarball"; exit 1; }
# No source maps: they would point at lib/*.ts, which does not ship (tsconfig.build.json).
if grep '\.map$' "$tmp/contents"; then echo "FAIL: source maps in the tarball"; exit 1; fi

npx --no-install attw "$tarball" --profile esm-only --exclude-entrypoints ./sql/postgres-schema.sql
