#!/usr/bin/env bash
# The vendor workflow, end to end, as CI runs it (docs/examples/vendor-plugin/README.md):
#   1. `meson install` the build into a scratch DESTDIR: headers, otedama-plugin.pc, otedama-host, plugins.d.
#   2. Build docs/examples/vendor-plugin with its Makefile against that prefix ALONE: the only way to the
#      headers is `pkg-config --cflags otedama-plugin`; nothing may point into this source tree.
#   3. Drop the .so into the installed plugins.d and run the INSTALLED otedama-host --list-plugins --json
#      (OTEDAMA_PLUGIN_PATH unset): the example must be listed as loaded.
#
# Usage: test_vendor_sdk.sh BUILD_ROOT SOURCE_ROOT
set -euo pipefail

BUILD=${1:?usage: test_vendor_sdk.sh BUILD_ROOT SOURCE_ROOT}
SRC=${2:?usage: test_vendor_sdk.sh BUILD_ROOT SOURCE_ROOT}
BUILD=$(cd "$BUILD" && pwd -P)
SRC=$(cd "$SRC" && pwd -P)
MESON=${MESON:-meson}
PLUGIN_ID=com.example.backend.demo-asic
PLUGIN_SO=backend-demo-asic.so

TMP=$(mktemp -d "${TMPDIR:-/tmp}/otedama-vendor-sdk.XXXXXX")
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

step() { printf '== %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
show() { # show FILE: the captured output of a failed step
  printf -- '---- %s\n' "$1" >&2
  cat "$1" >&2 || true
  printf -- '----\n' >&2
}

# ---------------------------------------------------------------------------------------------------------
step "prefix and libdir of $BUILD"
"$MESON" introspect --buildoptions "$BUILD" >"$TMP/options.json" || fail "meson introspect --buildoptions failed"
read -r PREFIX LIBDIR < <(python3 - "$TMP/options.json" <<'EOF'
import json, sys
opts = {o["name"]: o["value"] for o in json.load(open(sys.argv[1]))}
print(opts["prefix"], opts["libdir"])
EOF
)
[[ -n "$PREFIX" && -n "$LIBDIR" ]] || fail "could not read prefix/libdir from meson introspect"
DESTDIR="$TMP/root"
STAGE="$DESTDIR$PREFIX"
if [[ "$LIBDIR" == /* ]]; then STAGE_LIBDIR="$DESTDIR$LIBDIR"; else STAGE_LIBDIR="$STAGE/$LIBDIR"; fi
echo "prefix=$PREFIX libdir=$LIBDIR destdir=$DESTDIR"

# ---------------------------------------------------------------------------------------------------------
step "meson install --destdir"
if ! "$MESON" install -C "$BUILD" --destdir "$DESTDIR" --no-rebuild --quiet >"$TMP/install.log" 2>&1; then
  show "$TMP/install.log"
  fail "meson install into $DESTDIR failed"
fi
PC_DIR="$STAGE_LIBDIR/pkgconfig"
[[ -f "$PC_DIR/otedama-plugin.pc" ]] || {
  find "$DESTDIR" -name '*.pc' >&2 || true
  fail "otedama-plugin.pc not installed in $PC_DIR"
}
for h in otedama/otedama.h otedama/plugin.h otedama/sdk/plugin.hpp otedama/sdk/backend.hpp; do
  [[ -f "$STAGE/include/$h" ]] || fail "header $h not installed under $STAGE/include"
done
HOST_BIN="$STAGE/bin/otedama-host"
[[ -x "$HOST_BIN" ]] || fail "otedama-host not installed at $HOST_BIN"
PLUGINS_D="$STAGE_LIBDIR/otedama/plugins.d"
[[ -d "$PLUGINS_D" ]] || fail "plugins.d not installed at $PLUGINS_D"

# ---------------------------------------------------------------------------------------------------------
step "pkg-config sees only the installed SDK"
# PKG_CONFIG_LIBDIR replaces the default search path, so a system-wide otedama-plugin.pc cannot stand in;
# PKG_CONFIG_SYSROOT_DIR maps the .pc file's /usr/local/include to the staged copy.
export PKG_CONFIG_LIBDIR="$PC_DIR"
export PKG_CONFIG_PATH="$PC_DIR"
export PKG_CONFIG_SYSROOT_DIR="$DESTDIR"
unset CPATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH || true
CFLAGS_SDK=$(pkg-config --cflags otedama-plugin) || fail "pkg-config --cflags otedama-plugin failed"
echo "pkg-config --cflags otedama-plugin: $CFLAGS_SDK"
[[ "$CFLAGS_SDK" == *"-I$STAGE/include"* ]] ||
  fail "pkg-config --cflags does not point into the staged prefix ($STAGE/include): '$CFLAGS_SDK'"
[[ "$CFLAGS_SDK" != *"$SRC"* ]] || fail "pkg-config --cflags points into the source tree: '$CFLAGS_SDK'"
PLUGINDIR_VAR=$(pkg-config --variable=plugindir otedama-plugin)
echo "pkg-config --variable=plugindir otedama-plugin: $PLUGINDIR_VAR"
case "$PLUGINDIR_VAR" in
  *"/otedama/plugins.d") ;;
  *) fail "plugindir variable '$PLUGINDIR_VAR' does not end in /otedama/plugins.d" ;;
esac

# ---------------------------------------------------------------------------------------------------------
step "build docs/examples/vendor-plugin with its Makefile"
EXAMPLE="$TMP/vendor-plugin"
cp -r "$SRC/docs/examples/vendor-plugin" "$EXAMPLE"
rm -f "$EXAMPLE/$PLUGIN_SO"
if ! make -C "$EXAMPLE" >"$TMP/make.log" 2>&1; then
  show "$TMP/make.log"
  fail "the example plugin did not build against the installed SDK"
fi
cat "$TMP/make.log"
COMPILE_LINE=$(grep -E -- '-shared' "$TMP/make.log" | head -n 1 || true)
[[ -n "$COMPILE_LINE" ]] || fail "no compile command in the make output"
! grep -qF -- "$SRC/plugin-api" "$TMP/make.log" || fail "the build used the source tree's plugin-api: $COMPILE_LINE"
! grep -qF -- "$SRC" "$TMP/make.log" || fail "the build refers to the source tree ($SRC): $COMPILE_LINE"
[[ "$COMPILE_LINE" == *"-I$STAGE/include"* ]] || fail "the compile command does not use the installed headers: $COMPILE_LINE"
[[ -f "$EXAMPLE/$PLUGIN_SO" ]] || fail "$PLUGIN_SO was not produced"

# Exactly one exported symbol is the ABI rule; the entry must be among the dynamic symbols.
if command -v nm >/dev/null; then
  nm -D --defined-only "$EXAMPLE/$PLUGIN_SO" >"$TMP/symbols.txt" || fail "nm -D failed on $PLUGIN_SO"
  grep -qE ' otedama_plugin_entry$' "$TMP/symbols.txt" || {
    show "$TMP/symbols.txt"
    fail "$PLUGIN_SO does not export otedama_plugin_entry"
  }
  OTHERS=$(grep -vE ' otedama_plugin_entry$' "$TMP/symbols.txt" | grep -cE ' [A-Za-z] ' || true)
  if [[ "$OTHERS" != 0 ]]; then
    show "$TMP/symbols.txt"
    fail "$PLUGIN_SO exports $OTHERS symbol(s) besides otedama_plugin_entry (the ABI allows exactly one)"
  fi
  echo "exported: otedama_plugin_entry only"
fi

# ---------------------------------------------------------------------------------------------------------
step "drop it into the installed plugins.d and list plugins with the installed host"
cp "$EXAMPLE/$PLUGIN_SO" "$PLUGINS_D/"
ls -l "$PLUGINS_D"
set +e
env -u OTEDAMA_PLUGIN_PATH "$HOST_BIN" --list-plugins --json >"$TMP/list.json" 2>"$TMP/list.err"
RC=$?
set -e
if [[ $RC -ne 0 ]]; then
  show "$TMP/list.json"
  show "$TMP/list.err"
  fail "installed otedama-host --list-plugins --json exited with $RC"
fi

if ! python3 - "$TMP/list.json" "$PLUGIN_ID" "$PLUGINS_D" <<'EOF'; then
import json, os, sys

path, plugin_id, plugins_d = sys.argv[1], sys.argv[2], os.path.realpath(sys.argv[3])
try:
    doc = json.load(open(path))
except ValueError as e:
    sys.exit(f"--list-plugins --json did not print JSON: {e}")

def objects(node):
    """Every JSON object in the document, depth first."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from objects(v)
    elif isinstance(node, list):
        for v in node:
            yield from objects(v)

found = [o for o in objects(doc) if o.get("id") == plugin_id]
if len(found) != 1:
    sys.exit(f"expected exactly one entry with id {plugin_id}, found {len(found)}")
entry = found[0]
status = entry.get("status")
if status != "loaded":
    sys.exit(f"{plugin_id} is listed with status {status!r}, not 'loaded': {entry}")
where = entry.get("path")
if where is not None and os.path.dirname(os.path.realpath(where)) != plugins_d:
    sys.exit(f"{plugin_id} was loaded from {where}, not from the installed plugins.d {plugins_d}")
if entry.get("kind") not in (None, "backend"):
    sys.exit(f"{plugin_id} is listed as kind {entry.get('kind')!r}, not 'backend'")
print(f"{plugin_id}: {status} ({where})")
EOF
  show "$TMP/list.json"
  show "$TMP/list.err"
  fail "the example plugin is not listed as loaded by the installed host"
fi

echo "PASS: vendor SDK workflow (install, pkg-config build, plugins.d, --list-plugins)"
