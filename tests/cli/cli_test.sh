#!/usr/bin/env bash
# Command-line behaviour: exit codes, error messages, determinism.
# Usage: cli_test.sh path/to/timescan
set -uo pipefail
TIMESCAN="$1"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

check() {  # check NAME EXPECTED_EXIT COMMAND...
  local name="$1" expected="$2"
  shift 2
  "$@" >"$WORK/out" 2>"$WORK/err"
  local code=$?
  if [[ $code -eq $expected ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $code, expected $expected"
    sed 's/^/  stderr: /' "$WORK/err" | head -5
  fi
}
contains() {  # contains NAME FILE TEXT
  if grep -qF -- "$3" "$2"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1: '$3' not in $2:"
    head -5 "$2" | sed 's/^/  /'
  fi
}

# Usage errors and missing files: exit 2 with a message.
check "no command" 2 "$TIMESCAN"
check "unknown command" 2 "$TIMESCAN" frobnicate
check "unknown flag" 2 "$TIMESCAN" score --bogus x.jsonl
contains "unknown flag message" "$WORK/err" "unknown option --bogus"
check "bad duration" 2 "$TIMESCAN" score --window 5parsecs x.jsonl
contains "bad duration message" "$WORK/err" "expected a duration"
check "bad window option" 2 "$TIMESCAN" score --window 10ms x.jsonl
contains "option range message" "$WORK/err" "EngineOptions::window"
check "bad model switch" 2 "$TIMESCAN" score --value-distribution maybe x.jsonl
contains "model switch message" "$WORK/err" "--value-distribution needs on or off"
check "bad evidence switch" 2 "$TIMESCAN" score --accumulate-evidence yes x.jsonl
contains "evidence switch message" "$WORK/err" "--accumulate-evidence needs on or off"
check "bad half-life" 2 "$TIMESCAN" score --half-life 1m x.jsonl
contains "half-life message" "$WORK/err" "EngineOptions::baseline_half_life"
check "bad evidence drift" 2 "$TIMESCAN" score --evidence-drift-p 0.9 x.jsonl
contains "evidence drift message" "$WORK/err" "EngineOptions::evidence_drift_p"
check "bad sequence switch" 2 "$TIMESCAN" score --sequence-model yes x.jsonl
contains "sequence switch message" "$WORK/err" "--sequence-model needs on or off"
check "bad sequence length" 2 "$TIMESCAN" score --sequence-length 7 x.jsonl
contains "sequence length message" "$WORK/err" "--sequence-length needs a whole number 2..6"
check "bad multivariate switch" 2 "$TIMESCAN" score --multivariate-model maybe x.jsonl
contains "multivariate switch message" "$WORK/err" "--multivariate-model needs on or off"
check "bad mix switch" 2 "$TIMESCAN" score --mix-model maybe x.jsonl
contains "mix switch message" "$WORK/err" "--mix-model needs on or off"
check "bad lifecycle switch" 2 "$TIMESCAN" score --lifecycle-phase maybe x.jsonl
contains "lifecycle switch message" "$WORK/err" "--lifecycle-phase needs on or off"
check "bad coarse windows" 2 "$TIMESCAN" score --coarse-windows 10 x.jsonl
contains "coarse windows message" "$WORK/err" "--coarse-windows needs two whole numbers A,B"
check "coarse window out of range" 2 "$TIMESCAN" score --coarse-windows 1,60 x.jsonl
contains "coarse window range message" "$WORK/err" "EngineOptions::coarse_windows[0] is 1"
check "bad decode thread switch" 2 "$TIMESCAN" score --decode-thread 2 x.jsonl
contains "decode thread switch message" "$WORK/err" "--decode-thread needs on, off or auto"
check "missing file" 2 "$TIMESCAN" score "$WORK/nope.jsonl"
contains "missing file message" "$WORK/err" "nope.jsonl: cannot open"
check "help" 0 "$TIMESCAN" help

# Bad lines: counted and reported with their line numbers; --strict stops.
cat >"$WORK/mixed.jsonl" <<'JSONL'
{"time":"2026-11-02T10:00:00Z","entity":"c1","group":"web","kind":"exec","subject":"/bin/sh"}
{"time":"2026-11-02T10:00:01Z","entity":"c1","kind":"teleport"}
not json

{"time":"2026-11-02T10:00:02Z","entity":"c1","group":"web","kind":"exec","subject":"/bin/sh"}
JSONL
check "bad lines counted" 0 "$TIMESCAN" score "$WORK/mixed.jsonl"
contains "line 2 reported" "$WORK/err" "mixed.jsonl:2: field 'kind'"
contains "line 3 reported" "$WORK/err" "mixed.jsonl:3:"
contains "summary counts" "$WORK/err" "4 records, 2 events, 2 bad records"
check "strict stops" 2 "$TIMESCAN" score --strict "$WORK/mixed.jsonl"
contains "strict message" "$WORK/err" "--strict"
for decode in on off; do
  check "bad lines, decode thread $decode" 0 "$TIMESCAN" score --decode-thread $decode "$WORK/mixed.jsonl"
  contains "line 2 reported, decode thread $decode" "$WORK/err" "mixed.jsonl:2: field 'kind'"
  contains "summary counts, decode thread $decode" "$WORK/err" "4 records, 2 events, 2 bad records"
  check "strict stops, decode thread $decode" 2 "$TIMESCAN" score --strict --decode-thread $decode "$WORK/mixed.jsonl"
  contains "strict reports line 2, decode thread $decode" "$WORK/err" "mixed.jsonl:2: field 'kind'"
done
check "stdin" 0 sh -c "\"$TIMESCAN\" score - < \"$WORK/mixed.jsonl\""
contains "stdin summary" "$WORK/err" "2 events"
# A live stream: a finding is written while the writer is still there
# (its window closed by the next event), not when the input ends.
cat >"$WORK/two.jsonl" <<'JSONL'
{"time":"2026-11-02T10:00:00Z","entity":"c1","group":"g","kind":"exec","subject":"/bin/sh"}
{"time":"2026-11-02T10:05:00Z","entity":"c1","group":"g","kind":"exec","subject":"/bin/sh"}
JSONL
(cat "$WORK/two.jsonl"; sleep 4) | "$TIMESCAN" score --quiet --learn 0s - >"$WORK/live.out" &
live_pid=$!
sleep 2
if [[ $(wc -l <"$WORK/live.out") -eq 1 ]]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL live stream: no finding written while the stream is open"
fi
wait "$live_pid"
gzip -c "$WORK/mixed.jsonl" >"$WORK/mixed.jsonl.gz"
check "gzip" 0 "$TIMESCAN" score "$WORK/mixed.jsonl.gz"
contains "gzip summary" "$WORK/err" "4 records, 2 events, 2 bad records"
# A directory is a usage error; an input that cannot be read to its end
# (a gzip cut before its trailer) is an I/O failure, exit 1, after what was
# read is scored and its findings written.
check "directory" 2 "$TIMESCAN" score "$WORK"
contains "directory message" "$WORK/err" "is a directory"
gzip -c "$WORK/two.jsonl" | head -c -8 >"$WORK/cut.jsonl.gz"
check "cut gzip" 1 "$TIMESCAN" score --learn 0s "$WORK/cut.jsonl.gz"
contains "cut gzip message" "$WORK/err" "truncated"
contains "cut gzip scored what was read" "$WORK/err" "2 events"
if [[ -s "$WORK/out" ]]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL cut gzip: no findings written"
fi

# CSV with a column map.
printf 'ts,container,what,path\n2026-11-02T10:00:00Z,c1,exec,/bin/sh\n2026-11-02T10:00:01Z,c1,exec,/bin/ls\n' >"$WORK/events.csv"
check "csv map" 0 "$TIMESCAN" score --format csv --map time=ts --map entity=container --map kind=what --map subject=path "$WORK/events.csv"
contains "csv events" "$WORK/err" "2 records, 2 events, 0 bad records"
check "csv bad map" 2 "$TIMESCAN" score --map nonsense "$WORK/events.csv"
contains "csv bad map message" "$WORK/err" "expected FIELD=COLUMN"

# Simulate, score twice: byte-identical findings; split input, same findings.
check "simulate" 0 "$TIMESCAN" simulate --hours 30 --seed 3 --out "$WORK/fleet.jsonl" --labels "$WORK/labels.jsonl"
check "score 1" 0 "$TIMESCAN" score --quiet "$WORK/fleet.jsonl" --out "$WORK/f1.jsonl"
check "score 2" 0 "$TIMESCAN" score --quiet "$WORK/fleet.jsonl" --out "$WORK/f2.jsonl"
if cmp -s "$WORK/f1.jsonl" "$WORK/f2.jsonl" && [[ -s "$WORK/f1.jsonl" ]]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL determinism: findings differ or are empty"
fi
lines=$(wc -l <"$WORK/fleet.jsonl")
head -n $((lines / 2)) "$WORK/fleet.jsonl" >"$WORK/a.jsonl"
tail -n +$((lines / 2 + 1)) "$WORK/fleet.jsonl" >"$WORK/b.jsonl"
check "score split" 0 "$TIMESCAN" score --quiet "$WORK/a.jsonl" "$WORK/b.jsonl" --out "$WORK/f3.jsonl"
if cmp -s "$WORK/f1.jsonl" "$WORK/f3.jsonl"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL two files in a row differ from one"
fi
check "window scores" 0 "$TIMESCAN" score --quiet "$WORK/fleet.jsonl" --window-scores "$WORK/w.jsonl" --out /dev/null
contains "window scores written" "$WORK/w.jsonl" '"score":'
# Decoding on a second thread or not: the same bytes out.
for decode in on off; do
  check "score, decode thread $decode" 0 "$TIMESCAN" score --quiet --decode-thread $decode "$WORK/fleet.jsonl" --out "$WORK/fd-$decode.jsonl" --window-scores "$WORK/wd-$decode.jsonl"
done
if cmp -s "$WORK/fd-on.jsonl" "$WORK/fd-off.jsonl" && cmp -s "$WORK/wd-on.jsonl" "$WORK/wd-off.jsonl" &&
   cmp -s "$WORK/fd-on.jsonl" "$WORK/f1.jsonl" && [[ -s "$WORK/fd-on.jsonl" ]]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL decode thread: findings or window scores differ"
fi
# Hostile names stay valid JSON in the window scores.
printf '{"time":"2026-11-02T10:00:00Z","entity":"c\\"1\\u0001","kind":"exec"}\n{"time":"2026-11-02T10:05:00Z","entity":"c\\"1\\u0001","kind":"exec"}\n' >"$WORK/hostile.jsonl"
check "hostile names" 0 "$TIMESCAN" score --quiet --learn 0s "$WORK/hostile.jsonl" --window-scores "$WORK/hw.jsonl" --out /dev/null
if python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$WORK/hw.jsonl" && grep -qF 'c\"1\u0001' "$WORK/hw.jsonl"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL window scores are not valid JSON:"; head -2 "$WORK/hw.jsonl"
fi

# Snapshots: score a, save, load, score b writes what scoring a then b writes.
check "save" 0 "$TIMESCAN" score --quiet "$WORK/a.jsonl" --save "$WORK/s.tsnap" --out "$WORK/s1.jsonl"
check "load" 0 "$TIMESCAN" score --quiet "$WORK/b.jsonl" --load "$WORK/s.tsnap" --out "$WORK/s2.jsonl"
if cat "$WORK/s1.jsonl" "$WORK/s2.jsonl" | cmp -s - "$WORK/f1.jsonl"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL score --save then --load differs from one run"
fi
check "load with an engine option" 2 "$TIMESCAN" score --load "$WORK/s.tsnap" --window 5m "$WORK/b.jsonl"
contains "load option message" "$WORK/err" "options come from the snapshot"
check "load missing" 2 "$TIMESCAN" score --load "$WORK/nope.tsnap" "$WORK/b.jsonl"
contains "load missing message" "$WORK/err" "nope.tsnap"
check "load not a snapshot" 2 "$TIMESCAN" score --load "$WORK/a.jsonl" "$WORK/b.jsonl"
contains "not a snapshot message" "$WORK/err" "not a timescan snapshot"
head -c 1000 "$WORK/s.tsnap" >"$WORK/cut.tsnap"
check "load truncated" 2 "$TIMESCAN" score --load "$WORK/cut.tsnap" "$WORK/b.jsonl"
contains "truncated message" "$WORK/err" "truncated"
check "learn" 0 "$TIMESCAN" learn "$WORK/a.jsonl" --save "$WORK/m.tsnap"
contains "learn summary" "$WORK/err" "learning ended"
check "learn needs save" 2 "$TIMESCAN" learn "$WORK/a.jsonl"
check "learn refuses --learn" 2 "$TIMESCAN" learn --window 1m --learn 2h "$WORK/a.jsonl" --save "$WORK/x.tsnap"
contains "learn refuses --learn message" "$WORK/err" "--learn is for score"
: >"$WORK/empty.jsonl"
check "learn from nothing" 2 "$TIMESCAN" learn "$WORK/empty.jsonl" --save "$WORK/e.tsnap"
contains "learn from nothing message" "$WORK/err" "no events in the input"
check "score learned" 0 "$TIMESCAN" score --quiet --load "$WORK/m.tsnap" "$WORK/b.jsonl" --out "$WORK/m1.jsonl"
contains "learned model scores" "$WORK/m1.jsonl" '"reasons"'
check "score frozen" 0 "$TIMESCAN" score --quiet --load "$WORK/m.tsnap" --mode frozen "$WORK/b.jsonl" --out "$WORK/m2.jsonl"
check "bad mode" 2 "$TIMESCAN" score --mode paused "$WORK/b.jsonl"
contains "bad mode message" "$WORK/err" "--mode needs learn, monitor or frozen"
check "learn refuses --mode" 2 "$TIMESCAN" learn --mode frozen "$WORK/a.jsonl" --save "$WORK/x.tsnap"
check "merge" 0 "$TIMESCAN" merge "$WORK/m.tsnap" "$WORK/s.tsnap" -o "$WORK/c.tsnap"
check "merge needs two" 2 "$TIMESCAN" merge "$WORK/m.tsnap" -o "$WORK/c2.tsnap"
check "inspect" 0 "$TIMESCAN" inspect "$WORK/c.tsnap"
contains "inspect version" "$WORK/out" "format version 1"
contains "inspect group" "$WORK/out" "registry.local/shop/web"
contains "inspect values" "$WORK/out" "most frequent:"
contains "inspect models" "$WORK/out" "metric distribution multivariate evidence sequence (3-grams)"
check "inspect missing" 2 "$TIMESCAN" inspect "$WORK/nope.tsnap"

# Every released snapshot format still loads and scores as it did.
DATA="$(cd "$(dirname "$0")/../data" && pwd)"
for dir in "$DATA"/snapshots/v*/; do
  check "old snapshot $dir" 0 "$TIMESCAN" score --quiet --load "$dir/model.tsnap" \
    "$dir/continuation.jsonl.gz" --out "$WORK/old_f.jsonl" --window-scores "$WORK/old_w.jsonl"
  if cmp -s "$WORK/old_f.jsonl" "$dir/findings.jsonl" &&
     gzip -dc "$dir/window_scores.jsonl.gz" | cmp -s - "$WORK/old_w.jsonl"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $dir scores differently than when it was written"
  fi
done

# Writing to a full device is an error, not a silent loss.
if [[ -w /dev/full ]]; then
  check "full disk" 1 "$TIMESCAN" score --quiet "$WORK/fleet.jsonl" --out /dev/full
fi

# SIGTERM (or Ctrl-C) on a live stream: reading stops, what was read is
# scored (open windows too), the summary is printed, exit 128 + 15.
mkfifo "$WORK/live.fifo" "$WORK/writerless.fifo"
"$TIMESCAN" score --learn 1m --window-scores "$WORK/live_w.jsonl" "$WORK/live.fifo" \
  >"$WORK/live_out" 2>"$WORK/live_err" &
live=$!
exec 3>"$WORK/live.fifo"  # the writer stays, quiet, after ten events
for i in 0 1 2 3 4 5 6 7 8 9; do
  echo "{\"time\":$((1793613600 + 30 * i)),\"entity\":\"c1\",\"kind\":\"exec\",\"subject\":\"/bin/p\"}" >&3
done
sleep 1  # read, one by one, and the reader waiting for more
kill -TERM "$live"
wait "$live"
code=$?
exec 3>&-
if [[ $code -eq 143 ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL live stream SIGTERM: exit $code, expected 143"; fi
contains "live stream SIGTERM message" "$WORK/live_err" "terminated (SIGTERM): stopped reading; scoring the events read"
contains "live stream SIGTERM summary" "$WORK/live_err" "10 events"
# Four windows of 30 s events after the 1-minute learning, the open ones included.
if [[ $(wc -l <"$WORK/live_w.jsonl") -eq 4 ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL live stream SIGTERM: $(wc -l <"$WORK/live_w.jsonl") windows scored, expected 4"; fi
# A FIFO nobody opened for writing: the open waits, and SIGTERM ends it.
"$TIMESCAN" score "$WORK/writerless.fifo" >"$WORK/fifo_out" 2>"$WORK/fifo_err" &
waiting=$!
sleep 1  # started and waiting in open(2)
kill -TERM "$waiting"
wait "$waiting"
code=$?
if [[ $code -eq 143 ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL writerless FIFO SIGTERM: exit $code, expected 143"; fi
contains "writerless FIFO SIGTERM summary" "$WORK/fifo_err" "0 records, 0 events"

# SIGTERM while a write waits on a slow reader: the reader opens the pipe and
# reads nothing for two seconds, so the window scores fill it and the write
# waits when the signal comes. The write resumes: every window scored is
# delivered, whole, and the exit is 128 + 15, not a failed write.
mkfifo "$WORK/slow.fifo"
"$TIMESCAN" score --learn 1h --window-scores "$WORK/slow.fifo" --out "$WORK/slow_f.jsonl" \
  "$WORK/fleet.jsonl" 2>"$WORK/slow_err" &
slow=$!
timeout 60 bash -c 'exec 0<"$1"; sleep 2; exec cat' _ "$WORK/slow.fifo" >"$WORK/slow_w.jsonl" &
reader=$!
sleep 1  # the pipe full and the write waiting
kill -TERM "$slow"
wait "$slow"
code=$?
wait "$reader"
if [[ $code -eq 143 ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL SIGTERM on a slow reader: exit $code, expected 143"
  sed 's/^/  stderr: /' "$WORK/slow_err" | head -5; fi
scored=$(grep -o '[0-9,]* windows scored' "$WORK/slow_err" | tr -d ,)
if [[ -n $scored && "$(wc -l <"$WORK/slow_w.jsonl") windows scored" == "$scored" &&
      $(tail -c 1 "$WORK/slow_w.jsonl" | od -An -c | tr -d ' ') == '\n' ]]; then
  passed=$((passed + 1)); else failed=$((failed + 1))
  echo "FAIL SIGTERM on a slow reader: $(wc -l <"$WORK/slow_w.jsonl") lines written, summary: ${scored:-none}"; fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
