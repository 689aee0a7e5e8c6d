#!/usr/bin/env bash
# bad_input.sh CASE PROGRAM ARGS...: builds the input CASE names in a fresh
# directory (files too big, too deep or too odd to keep in the tree), then
# runs PROGRAM ARGS... with it; `@DIR@` in ARGS is replaced by that
# directory. The exit status and output are PROGRAM's, for expect.sh to judge.
#
#   deep_object FILE  a variant section ("model") nesting objects 100,000 deep
#   deep_array FILE   lists nested 300,000 deep in model.hidden
#   deep_sweep FILE   the sweep's scheduler nesting objects 100,000 deep
#   nul FILE          a config with a NUL byte at its end
#   duplicate FILE    optimizer.lr given twice
#   huge_number FILE  {"seed": 1e309}
#   long_string FILE  a 16 MiB string where a model name goes (the message must stay short)
#   many_values FILE  a sweep whose categorical lists 100,001 values
#   -                 nothing built: ARGS alone (with @DIR@ for a scratch directory)
# Cases whose input cannot pass through CMake's arguments are whole commands:
#   invalid_utf8      --set output_dir=<the byte 0xff>
#   newline           --set optimizer.name=<a value with a newline in it>
#   resume_int_span   PROGRAM CONFIG: a short sweep of CONFIG, then its --resume with an int
#                     parameter spanning all of int64 (it crashed with SIGFPE)
set -u
case_name=$1; shift
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
python3 - "$case_name" "$dir" <<'PY'
import json, sys
case, out = sys.argv[1], sys.argv[2] + "/input.json"
def nest(opening, closing, inner, depth):
    return opening * depth + inner + closing * depth
text = {
    "deep_object": lambda: '{"model":{"name":"mlp","dropout":' + nest('{"a":', '}', '1', 100000) + '}}',
    "deep_array": lambda: '{"model":{"name":"mlp","hidden":' + nest('[', ']', '', 300000) + '}}',
    "deep_sweep": lambda: '{"space":{"x1":{"type":"uniform","low":-5,"high":10},"x2":{"type":"uniform","low":0,"high":15}},'
                          '"objective":{"function":"branin"},"max_trials":1,"scheduler":{"name":"asha","x":'
                          + nest('{"a":', '}', '1', 100000) + '}}',
    "nul": lambda: '{"seed": 1}\0',
    "duplicate": lambda: '{"optimizer": {"name": "sgd", "lr": 0.1, "lr": 0.2}}',
    "huge_number": lambda: '{"seed": 1e309}',
    "long_string": lambda: json.dumps({"model": {"name": "m" * (16 << 20)}}),
    "many_values": lambda: json.dumps({"space": {"x1": {"type": "uniform", "low": -5, "high": 10},
                                                 "x2": {"type": "uniform", "low": 0, "high": 15},
                                                 "c": {"type": "choice", "values": list(range(100001))}},
                                       "objective": {"function": "branin"}, "max_trials": 1}),
}.get(case)
if text:
    open(out, "w").write(text())
PY
args=()
for arg in "$@"; do args+=("${arg//@DIR@/$dir}"); done
case $case_name in
  invalid_utf8) exec "${args[@]}" --set output_dir=$'\xff' ;;
  newline) exec "${args[@]}" --set optimizer.name=$'sgd\nadam' ;;
  resume_int_span)
    "${args[@]}" --set max_trials=2 --set output_dir="$dir/sweep" > "$dir/first.log" 2>&1 ||
      { cat "$dir/first.log"; echo "the first run of the sweep failed"; exit 98; }
    exec "${args[0]}" --resume "$dir/sweep" \
      --set 'space.x1={"type":"int","low":-9223372036854775808,"high":9223372036854774784}' ;;
  long_string)
    "${args[@]}" > "$dir/out" 2> "$dir/err"; status=$?
    cat "$dir/out"; cat "$dir/err" >&2
    # The message quotes the start of the value, not all 16 MiB of it.
    [ "$(wc -c < "$dir/err")" -lt 1000 ] || { echo "the error message is $(wc -c < "$dir/err") bytes long"; exit 99; }
    exit $status ;;
  *) exec "${args[@]}" ;;
esac
