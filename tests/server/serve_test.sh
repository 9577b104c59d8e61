#!/usr/bin/env bash
# tests/server/serve_test.sh - `gpt2c serve` end to end over loopback, on the compiled tiny-shakespeare model:
# completions equal `gpt2c run` (greedy and seeded sampling), streaming concatenates to the same text and ends
# with [DONE], error statuses (400, 401, 404, 405, 413, 429 with Retry-After, 503 beyond --max-connections),
# /health, /metrics, a client that disconnects mid-stream or during a plain completion (the request is cancelled,
# the slots free), and SIGTERM while requests run (they finish with 200, the process exits 0). Every wait is bounded.
# usage: serve_test.sh GPT2C_BIN SOURCE_DIR WORK_DIR
set -uo pipefail

GPT2C=$1
SRC=$2
WORK=$3
MODEL="$SRC/examples/tiny-shakespeare"
LIB="$WORK/ts.so"
FAILURES=0
CHECKS=0
SERVER_PID=
PORT=

rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK" || exit 1

fail() {
    echo "FAIL: $*"
    FAILURES=$((FAILURES + 1))
}
check() {  # NAME CONDITION-RESULT(0 ok)
    CHECKS=$((CHECKS + 1))
    if [[ $2 -eq 0 ]]; then echo "ok: $1"; else fail "$1"; fi
}

cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
}
trap cleanup EXIT

# start_server LOG ARGS...: starts gpt2c serve on a free port; sets SERVER_PID and PORT; waits for /health 200.
start_server() {
    local log=$1
    shift
    "$GPT2C" serve --lib "$LIB" --model "$MODEL" --port 0 --threads 1 "$@" 2>"$log" &
    SERVER_PID=$!
    PORT=
    for _ in $(seq 1 100); do
        PORT=$(sed -n 's|^gpt2c serve: listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$log")
        [[ -n $PORT ]] && break
        sleep 0.1
    done
    if [[ -z $PORT ]]; then
        fail "no 'listening on' line from gpt2c serve $*: $(head -5 "$log")"
        return 1
    fi
    for _ in $(seq 1 100); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/health") == 200 ]] && return 0
        sleep 0.1
    done
    fail "/health never turned 200: $(tail -5 "$log")"
    return 1
}

# stop_server: SIGTERM, expect exit 0 within 15 s.
stop_server() {
    kill -TERM "$SERVER_PID"
    local rc=
    for _ in $(seq 1 150); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID"
            rc=$?
            break
        fi
        sleep 0.1
    done
    if [[ -z $rc ]]; then
        fail "gpt2c serve did not exit within 15 s of SIGTERM"
        kill -KILL "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null
    else
        check "gpt2c serve exits 0 after SIGTERM (got $rc)" $((rc != 0))
    fi
    SERVER_PID=
}

# post BODY [CURL ARGS...]: POST /v1/completions; the body goes to out.json, the status to stdout.
post() {
    local body=$1
    shift
    curl -s --max-time 30 -o out.json -w '%{http_code}' -H 'Content-Type: application/json' "$@" \
        --data-binary "$body" "http://127.0.0.1:$PORT/v1/completions"
}
json() {  # FILE PYTHON-EXPRESSION-ON-j -> printed raw
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); r=eval(sys.argv[2]); sys.stdout.write(r if isinstance(r,str) else json.dumps(r))' "$@"
}

"$GPT2C" compile "$MODEL" -o "$LIB" >/dev/null || { echo "FAIL: compile"; exit 1; }

# ---- Server 1: defaults + an API key ------------------------------------------------------------------
start_server serve1.log --api-key sekret --max-body-bytes 65536 || exit 1
AUTH=(-H 'Authorization: Bearer sekret')

# Greedy equals gpt2c run --greedy.
"$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt 'ROMEO:' -n 40 --greedy --threads 1 >run_greedy.txt 2>/dev/null
code=$(post '{"prompt":"ROMEO:","max_tokens":40,"temperature":0}' "${AUTH[@]}")
check "greedy completion: 200 (got $code)" $((code != 200))
json out.json 'j["choices"][0]["text"]' >greedy.txt
cmp -s greedy.txt run_greedy.txt; check "greedy completion equals gpt2c run --greedy" $?
check "object, usage and finish_reason" $([[ $(json out.json '[j["object"], j["usage"]["completion_tokens"], j["usage"]["prompt_tokens"], j["choices"][0]["finish_reason"], j["id"][:5]]') == '["text_completion", 40, 3, "length", "cmpl-"]' ]]; echo $?)

# Seeded sampling equals gpt2c run --temperature 0.8 --seed 7.
"$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt 'JULIET:' -n 40 --temperature 0.8 --seed 7 --threads 1 >run_sampled.txt 2>/dev/null
code=$(post '{"prompt":"JULIET:","max_tokens":40,"temperature":0.8,"seed":7,"model":"tiny-shakespeare"}' "${AUTH[@]}")
json out.json 'j["choices"][0]["text"]' >sampled.txt
cmp -s sampled.txt run_sampled.txt; check "sampled completion (T 0.8, seed 7) equals gpt2c run" $?
# n = 2: choice i uses seed + i; choice 0 is the same text again.
code=$(post '{"prompt":"JULIET:","max_tokens":40,"temperature":0.8,"seed":7,"n":2}' "${AUTH[@]}")
json out.json 'j["choices"][0]["text"]' >sampled_n0.txt
cmp -s sampled_n0.txt run_sampled.txt; check "n=2: choice 0 equals the n=1 text ($code)" $?
check "n=2: two choices, usage counts both" $([[ $(json out.json '[len(j["choices"]), j["choices"][1]["index"], j["usage"]["completion_tokens"]]') == '[2, 1, 80]' ]]; echo $?)

# Streaming: the chunks concatenate to the same text, then [DONE].
curl -s -N --max-time 30 "${AUTH[@]}" -d '{"prompt":"ROMEO:","max_tokens":40,"temperature":0,"stream":true}' \
    "http://127.0.0.1:$PORT/v1/completions" >stream.txt
python3 - stream.txt greedy.txt <<'PY'
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
events = [e for e in raw.split("\n\n") if e.strip()]
assert all(e.startswith("data: ") for e in events), "every event is a data: line"
assert events[-1] == "data: [DONE]", "ends with [DONE]: %r" % events[-1]
chunks = [json.loads(e[6:]) for e in events[:-1]]
text = "".join(c["choices"][0]["text"] for c in chunks)
assert text == open(sys.argv[2], encoding="utf-8").read(), "stream text %r" % text
assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
assert chunks[-1]["choices"][0]["finish_reason"] == "length"
assert len(chunks) > 5 and all(c["object"] == "text_completion" for c in chunks)
PY
check "streamed chunks concatenate to the completion and end with [DONE]" $?

# stream_options.include_usage: every chunk has "usage": null, then one chunk with no choices and the
# usage of all of them (2 choices x 20 tokens), then [DONE]. Without stream it is refused.
curl -s -N --max-time 30 "${AUTH[@]}" \
    -d '{"prompt":"ROMEO:","max_tokens":20,"temperature":0,"n":2,"stream":true,"stream_options":{"include_usage":true}}' \
    "http://127.0.0.1:$PORT/v1/completions" >stream_usage.txt
python3 - stream_usage.txt <<'PY'
import json, sys
events = [e for e in open(sys.argv[1], encoding="utf-8").read().split("\n\n") if e.strip()]
assert events[-1] == "data: [DONE]", events[-1]
chunks = [json.loads(e[6:]) for e in events[:-1]]
last = chunks[-1]
assert last["choices"] == [], last
assert last["usage"]["completion_tokens"] == 40, last
assert last["usage"]["total_tokens"] == last["usage"]["prompt_tokens"] + 40 and last["usage"]["prompt_tokens"] > 0, last
assert all("usage" in c and c["usage"] is None for c in chunks[:-1])
PY
check "stream_options.include_usage: a last chunk with the usage of both choices" $?
code=$(curl -s -o out.json -w '%{http_code}' "${AUTH[@]}" \
    -d '{"prompt":"x","max_tokens":1,"stream_options":{"include_usage":true}}' "http://127.0.0.1:$PORT/v1/completions")
check "stream_options without stream: 400 naming the parameter ($code)" \
    $([[ $code == 400 && $(json out.json 'j["error"]["param"]') == stream_options ]]; echo $?)

# logprobs, echo, stop, a token-id prompt.
code=$(post '{"prompt":"ROMEO:","max_tokens":5,"temperature":0,"logprobs":2,"echo":true}' "${AUTH[@]}")
check "logprobs + echo" $(python3 -c '
import json,sys
j=json.load(open("out.json")); c=j["choices"][0]; lp=c["logprobs"]
ok = c["text"].startswith("ROMEO:") and len(lp["tokens"])==5 and len(lp["token_logprobs"])==5 and len(lp["top_logprobs"])==5 \
     and all(1<=len(t)<=2 for t in lp["top_logprobs"]) and lp["text_offset"][0]==6 and all(x<=0 for x in lp["token_logprobs"])
print(0 if ok else 1)')
code=$(post '{"prompt":"ROMEO:","max_tokens":40,"temperature":0,"stop":"man"}' "${AUTH[@]}")
check "stop string: text ends before it, finish_reason stop" $([[ $(json out.json '[j["choices"][0]["text"], j["choices"][0]["finish_reason"]]') == '["\nI'"'"'ll be a ", "stop"]' ]]; echo $?)
ids=$(printf 'ROMEO:' | "$GPT2C" tokenize --model "$MODEL")
code=$(post "{\"prompt\":$ids,\"max_tokens\":40,\"temperature\":0}" "${AUTH[@]}")
json out.json 'j["choices"][0]["text"]' >ids.txt
cmp -s ids.txt run_greedy.txt; check "a prompt of token ids gives the same text" $?

# Errors.
expect_status() {  # NAME STATUS ACTUAL [FIELD-REGEX]
    CHECKS=$((CHECKS + 1))
    if [[ $3 != "$2" ]]; then
        fail "$1: status $3, expected $2: $(head -c 300 out.json)"
    elif ! python3 -c 'import json; e=json.load(open("out.json"))["error"]; assert {"message","type","param","code"} <= set(e)' 2>/dev/null; then
        fail "$1: not an OpenAI error object: $(head -c 300 out.json)"
    elif [[ -n ${4:-} ]] && ! grep -qE -- "$4" out.json; then
        fail "$1: body does not match /$4/: $(head -c 300 out.json)"
    else
        echo "ok: $1"
    fi
}
expect_status "malformed JSON -> 400" 400 "$(post '{"prompt": "a",' "${AUTH[@]}")"
expect_status "wrong type -> 400 naming the field" 400 "$(post '{"prompt":"a","max_tokens":"many"}' "${AUTH[@]}")" '"param":"max_tokens"'
expect_status "temperature out of range -> 400" 400 "$(post '{"prompt":"a","temperature":7}' "${AUTH[@]}")" '"param":"temperature"'
expect_status "several prompts -> 400" 400 "$(post '{"prompt":["a","b"]}' "${AUTH[@]}")" '"param":"prompt"'
expect_status "token id out of range -> 400" 400 "$(post '{"prompt":[1,99999999]}' "${AUTH[@]}")" '"param":"prompt"'
long=$(python3 -c 'print("{\"prompt\":\"" + "the " * 400 + "\"}")')
expect_status "prompt longer than the context -> 400" 400 "$(post "$long" "${AUTH[@]}")" 'context_length_exceeded'
expect_status "n too large -> 400" 400 "$(post '{"prompt":"a","n":1000}' "${AUTH[@]}")" '"param":"n"'
expect_status "no API key -> 401" 401 "$(post '{"prompt":"a"}')" 'invalid_api_key'
expect_status "wrong API key -> 401" 401 "$(post '{"prompt":"a"}' -H 'Authorization: Bearer nope')"
expect_status "unknown model -> 404" 404 "$(post '{"prompt":"a","model":"gpt-9"}' "${AUTH[@]}")" 'model_not_found'
code=$(curl -s --max-time 10 -o out.json -w '%{http_code}' "${AUTH[@]}" "http://127.0.0.1:$PORT/v1/nothing")
expect_status "unknown route -> 404" 404 "$code"
code=$(curl -s --max-time 10 -o out.json -w '%{http_code}' "${AUTH[@]}" "http://127.0.0.1:$PORT/v1/completions")
expect_status "GET /v1/completions -> 405" 405 "$code"
head -c 100000 /dev/zero | tr '\0' 'a' >big.txt
code=$(curl -s --max-time 10 -o out.json -w '%{http_code}' "${AUTH[@]}" -H 'Expect:' --data-binary @big.txt "http://127.0.0.1:$PORT/v1/completions")
expect_status "body over --max-body-bytes -> 413" 413 "$code"
deep=$(python3 -c 'print("[" * 5000 + "]" * 5000)')
expect_status "deeply nested JSON -> 400" 400 "$(post "$deep" "${AUTH[@]}")"
printf '{"prompt":"\xff\xfe"}' >badutf8.json
expect_status "invalid UTF-8 in the body -> 400" 400 "$(post @badutf8.json "${AUTH[@]}")"

# /health stays open; /v1/models needs the key; /metrics has the names.
check "/health 200 without a key" $([[ $(curl -s --max-time 5 "http://127.0.0.1:$PORT/health") == '{"status":"ok"}' ]]; echo $?)
curl -s --max-time 5 "${AUTH[@]}" "http://127.0.0.1:$PORT/v1/models" >models.json
check "/v1/models lists tiny-shakespeare" $([[ $(json models.json '[m["id"] for m in j["data"]]') == '["tiny-shakespeare"]' ]]; echo $?)
curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" >metrics.txt
for name in 'gpt2c_http_requests_total{code="200"}' 'gpt2c_http_requests_total{code="400"}' gpt2c_prompt_tokens_total \
    gpt2c_generated_tokens_total gpt2c_queue_depth gpt2c_busy_slots gpt2c_batch_size_bucket gpt2c_batch_rows_bucket \
    gpt2c_time_to_first_token_seconds_bucket gpt2c_time_between_tokens_seconds_bucket; do
    grep -qF "$name" metrics.txt; check "/metrics has $name" $?
done
check "request log lines" $(grep -qE '^gpt2c serve: 127\.0\.0\.1 POST /v1/completions 200 [0-9]+ prompt_tokens=3 generated_tokens=40 [0-9.]+ ms' serve1.log; echo $?)

# leave_after BODY MARKER: POSTs BODY (JSON) on a raw socket, reads until MARKER has arrived
# (or the server closes), then closes the connection; fails unless the answer is a 200.
leave_after() {
    python3 - "$PORT" "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
body, marker = sys.argv[2].encode(), sys.argv[3].encode().decode("unicode_escape").encode("latin1")
s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekret\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body)
data = b""
while marker not in data:
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
s.close()
assert data.startswith(b"HTTP/1.1 200"), data[:100]
PY
}

# slots_free TRIES: polls /metrics every 0.1 s until no slot is busy; fails after TRIES polls.
slots_free() {
    for _ in $(seq 1 "$1"); do
        curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | grep -q '^gpt2c_busy_slots 0$' && return 0
        sleep 0.1
    done
    return 1
}

# A client that leaves mid-stream: its request is cancelled (the log says so), the slot frees.
leave_after '{"prompt":"ROMEO:","max_tokens":250,"temperature":0,"stream":true,"n":4}' 'data: '
for _ in $(seq 1 50); do grep -q '(client gone)' serve1.log && break; sleep 0.1; done
check "a client gone mid-stream cancels its request" $(grep -q 'POST /v1/completions 200 .*(client gone)' serve1.log; echo $?)
slots_free 50
check "the slots free after the client left" $?

# A client that leaves a plain (not streamed) completion: the server waits for it in a content provider that
# notices the closed connection and cancels the request. 4 x 240 tokens take a few hundred ms on this model;
# the client closes as soon as the status line arrives (sent once every choice had its first token).
gone_before=$(grep -c '(client gone)' serve1.log)
leave_after '{"prompt":"ROMEO:","max_tokens":240,"temperature":0,"n":4}' '\r\n\r\n'
check "a plain completion sends its status line (200)" $?
slots_free 30
check "the slots of a plain completion free after its client left" $?
for _ in $(seq 1 30); do (($(grep -c '(client gone)' serve1.log) > gone_before)) && break; sleep 0.1; done
gone=$(grep 'POST /v1/completions 200 .*(client gone)' serve1.log | tail -n +$((gone_before + 1)) | head -1)
generated=$(sed -n 's/.* generated_tokens=\([0-9]*\) .*/\1/p' <<<"$gone")
check "a plain completion whose client left is cancelled early (log: ${gone:-none})" \
    $([[ -n $generated ]] && ((generated < 480)); echo $?)
code=$(post '{"prompt":"ROMEO:","max_tokens":40,"temperature":0}' "${AUTH[@]}")
json out.json 'j["choices"][0]["text"]' >greedy_after.txt
check "the server still answers after that ($code)" $([[ $code == 200 ]] && cmp -s greedy_after.txt run_greedy.txt; echo $?)
stop_server

# ---- Server 2: one slot, a queue of one, two connections ----------------------------------------------
start_server serve2.log --slots 1 --max-queue 1 --max-connections 4 --drain-seconds 20 || exit 1
# Full queue: 6 requests at once on 1 slot + 1 queue place: some get 429 with Retry-After.
python3 - "$PORT" <<'PY' >queue.txt
import http.client, json, sys, threading
port = int(sys.argv[1]); results = []
def one():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/v1/completions", json.dumps({"prompt": "ROMEO:", "max_tokens": 250, "temperature": 0}),
              {"Content-Type": "application/json"})
    r = c.getresponse(); body = r.read()
    results.append((r.status, r.getheader("Retry-After"), body))
ts = [threading.Thread(target=one) for _ in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
for status, retry, body in results:
    err = json.loads(body).get("error", {}).get("code") if status != 200 else ""
    print(status, retry, err)
PY
check "full queue -> 429 with Retry-After (got: $(tr '\n' ';' <queue.txt))" $(grep -q '^429 1 queue_full$' queue.txt && grep -q '^200 ' queue.txt; echo $?)

# Beyond --max-connections: 4 idle connections hold the workers; the next one gets 503 + Retry-After.
python3 - "$PORT" <<'PY' >conn.txt
import socket, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
print(data.split(b"\r\n")[0].decode(), "retry-after" in data.decode().lower())
for c in idle: c.close()
PY
check "beyond --max-connections -> 503 with Retry-After (got: $(cat conn.txt))" $(grep -q '^HTTP/1.1 503 .* True$' conn.txt; echo $?)
# The workers notice the closed idle connections on their own time; until then new ones get 503.
for _ in $(seq 1 100); do
    curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" >m.txt
    grep -q '^gpt2c_http_connections 1$' m.txt && break  # only this request
    sleep 0.05
done
check "the idle connections' workers free after they closed" $(grep -q '^gpt2c_http_connections 1$' m.txt; echo $?)

# SIGTERM while requests run: they complete with 200, /health turns 503, new requests get 503, exit 0.
clients=()
curl -s --max-time 30 -o drain1.json -w '%{http_code}' -d '{"prompt":"ROMEO:","max_tokens":250,"temperature":0}' \
    "http://127.0.0.1:$PORT/v1/completions" >drain1.code &
clients+=($!)
curl -s -N --max-time 30 -d '{"prompt":"JULIET:","max_tokens":250,"temperature":0,"stream":true}' \
    "http://127.0.0.1:$PORT/v1/completions" >drain_stream.txt &
clients+=($!)
# Both in flight: one holds the slot, the other waits in the queue.
both_in=1
for _ in $(seq 1 200); do
    curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" >m.txt
    grep -q '^gpt2c_busy_slots 1$' m.txt && grep -q '^gpt2c_queue_depth 1$' m.txt && { both_in=0; break; }
    sleep 0.01
done
check "SIGTERM: both requests in flight before it (one running, one queued)" $both_in
kill -TERM "$SERVER_PID"
sleep 0.05
health=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/health")
newreq=$(curl -s -o out.json -w '%{http_code}' --max-time 5 -d '{"prompt":"a"}' "http://127.0.0.1:$PORT/v1/completions")
wait "${clients[@]}" 2>/dev/null
pid=$SERVER_PID
rc=
for _ in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; rc=$?; break; fi
    sleep 0.1
done
SERVER_PID=
[[ -n $rc ]] || { kill -KILL "$pid"; fail "no exit within 15 s of SIGTERM"; }
check "SIGTERM: exit 0 (got ${rc:-none})" $([[ $rc == 0 ]]; echo $?)
check "SIGTERM: the running request completes with 200 ($(cat drain1.code))" $([[ $(cat drain1.code) == 200 ]]; echo $?)
check "SIGTERM: the running stream ends with [DONE] (ends: $(tail -c 120 drain_stream.txt | tr '\n' ' '))" \
    $(tail -c 20 drain_stream.txt | grep -q 'data: \[DONE\]'; echo $?)
check "SIGTERM: /health 503 ($health) and new completions 503 ($newreq) while draining" \
    $([[ ($health == 503 || $health == 000) && ($newreq == 503 || $newreq == 000) ]]; echo $?)
check "SIGTERM: drained requests finished (the log says so)" $(grep -q 'SIGTERM: draining' serve2.log && grep -q 'stopped' serve2.log; echo $?)
if grep -aqE 'ERROR: AddressSanitizer|runtime error:' serve1.log serve2.log; then fail "sanitizer report"; fi

echo "$CHECKS checks, $FAILURES failed"
[[ $FAILURES -eq 0 ]]
