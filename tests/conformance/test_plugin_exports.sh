#!/usr/bin/env bash
# ABI rule "exactly one exported symbol (the entry)": every in-tree plugin and every conformance fixture must
# export `otedama_plugin_entry` and nothing else from its dynamic symbol table. (The no-entry fixture breaks
# the rule on purpose: it must export exactly its misnamed `otedama_entry`.)
#
# -fvisibility=hidden is not enough for C++: libstdc++ declares its templates with default visibility, so
# their instantiations (std::string members, std::to_chars helpers ...) are exported as weak symbols unless
# the plugin is linked with a version script (see docs/examples/vendor-plugin/otedama-plugin.map).
#
# Usage: test_plugin_exports.sh FIXTURE_DIR PLUGIN_DIRS(':'-separated)
set -uo pipefail

FIXTURE_DIR=${1:?usage: test_plugin_exports.sh FIXTURE_DIR PLUGIN_DIRS}
PLUGIN_DIRS=${2:?usage: test_plugin_exports.sh FIXTURE_DIR PLUGIN_DIRS}
command -v nm >/dev/null || { echo "SKIP: nm (binutils) not installed"; exit 77; }

failures=0
checked=0
check() { # check FILE EXPECTED_SYMBOL
  local file=$1 want=$2 symbols
  # Sanitizer builds (make asan) add their own instrumentation symbols; they are not the plugin's exports.
  symbols=$(nm -D --defined-only "$file" | awk 'NF >= 3 { print $3 }' | grep -Ev '^__(odr_asan|asan_|ubsan_|sancov|lsan_)' | sort -u)
  checked=$((checked + 1))
  if [[ "$symbols" == "$want" ]]; then
    echo "ok   $(basename "$file"): $want"
  else
    echo "FAIL $(basename "$file"): exports $(printf '%s\n' "$symbols" | grep -c .) symbol(s), expected only $want:"
    printf '%s\n' "$symbols" | grep -vx -- "$want" | head -n 12 | sed 's/^/       /'
    failures=$((failures + 1))
  fi
}

IFS=: read -r -a dirs <<<"$PLUGIN_DIRS"
for dir in "${dirs[@]}"; do
  [[ -n "$dir" ]] || continue
  for so in "$dir"/*.so; do
    [[ -f "$so" ]] && check "$so" otedama_plugin_entry
  done
done
for so in "$FIXTURE_DIR"/conformance-*.so; do
  [[ -f "$so" ]] || continue
  if [[ "$(basename "$so")" == conformance-no-entry.so ]]; then
    check "$so" otedama_entry
  else
    check "$so" otedama_plugin_entry
  fi
done

echo "$checked plugin file(s) checked, $failures with extra exports"
[[ $checked -gt 0 ]] || { echo "FAIL: no plugin files found"; exit 1; }
[[ $failures -eq 0 ]]
