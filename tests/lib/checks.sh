# The pass/fail bookkeeping the shell tests share. Source it after setting
# $work (a scratch folder); finish with check_summary NAME.
passed=0 failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

expect() { # expect DESCRIPTION COMMAND... : succeeds
  local what="$1"; shift
  if "$@" >"$work/out" 2>"$work/err"; then pass; else fail "$what (exit $?): $(head -c 400 "$work/err")"; fi
}

expect_error() { # expect_error DESCRIPTION TEXT COMMAND... : exits 1 or 2 with TEXT on stderr, no crash
  local what="$1" text="$2"; shift 2
  "$@" >"$work/out" 2>"$work/err"
  local code=$?
  if [ $code -ne 1 ] && [ $code -ne 2 ]; then fail "$what: exit code $code"; return; fi
  if ! grep -qF -- "$text" "$work/err"; then fail "$what: stderr lacks '$text': $(head -c 400 "$work/err")"; return; fi
  pass
}

check_summary() { # check_summary NAME : prints the counts; fails when anything failed
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
