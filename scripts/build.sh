#!/usr/bin/env bash
# `npm run build`: compiles the production entry points to dist/ (run with plain node: npm run
# start:worker, start:api, start:inbound), copies the files the code reads next to itself
# (import.meta.url), and writes the workflow bundle the compiled worker loads by default.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
npx tsc -p tsconfig.build.json
# The built-in layout, the mjml thread's plain-JS entry, and the seed data new tenants start with.
for dir in templates seed; do
  (cd "$dir" && find . -type f \( -name '*.mjml' -o -name '*.txt' -o -name '*.json' -o -name '*.mjs' \)) | while read -r file; do
    mkdir -p "dist/$dir/$(dirname "$file")"
    cp "$dir/$file" "dist/$dir/$file"
  done
done
mkdir -p dist/config
cp config/provider-rules.json dist/config/
cp -R db/migrations dist/db/migrations
# Bundled from the same sources in the same build, so worker code and workflow code cannot drift apart.
node dist/bin/bundle-workflows.js dist/workflow-bundle.js
# The typed client package (packages/client/dist), from the same sources as its test builds.
npx tsc -p packages/client
