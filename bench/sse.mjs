// bench/sse.mjs - the `data:` payloads of server-sent events, from a byte stream.
// Shared by bench/serve_bench.mjs and the server tests (tests/server/node/harness.mjs).

// Returns push(bytes) -> the data payloads of the events completed by `bytes` (trimmed;
// '[DONE]' included), keeping a partial event for the next call.
export function sseDataParser() {
  const decoder = new TextDecoder();
  let buf = '';
  return (bytes) => {
    buf += decoder.decode(bytes, { stream: true });
    const out = [];
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of event.split('\n')) if (line.startsWith('data:')) out.push(line.slice(5).trim());
    }
    return out;
  };
}
