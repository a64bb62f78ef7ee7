// bench/daytona.mjs - the Daytona SDK benchmark of issue 4, in one run:
//   SDK:  daytona.create() -> sandbox.process.codeRun('print(1)') -> sandbox.delete()
//   curl: POST /v1/sandboxes -> POST /v1/sandboxes/{id}/code-run -> DELETE /v1/sandboxes/{id}
// against the same private coved (tests/compat/harness.py), cycles interleaved so that host
// noise hits both alike. Prints a markdown section on stdout (progress on stderr).
//
// usage (root; after `npm ci` in tests/compat): node bench/daytona.mjs [CYCLES]   (default 30)
// env: COVE_BUILD (default <repo>/build)
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const compat = join(here, '..', 'tests', 'compat');
const require = createRequire(join(compat, 'package.json'));
const { Daytona } = require('@daytonaio/sdk');
const sdkVersion = require('@daytonaio/sdk/package.json').version;
const { startCoved } = await import(join(compat, 'coved.mjs'));

const cycles = Number(process.argv[2] || 30);
const coved = await startCoved();
const daytona = new Daytona({ apiKey: coved.key, apiUrl: coved.apiUrl });
const ms = () => Number(process.hrtime.bigint()) / 1e6;

function curl(method, path, body) {
  const args = ['-sS', '--fail-with-body', '-X', method, '-H', `Authorization: Bearer ${coved.key}`];
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '-d', JSON.stringify(body));
  args.push(`${coved.origin}${path}`);
  return JSON.parse(execFileSync('curl', args, { encoding: 'utf8' }));
}

async function sdkCycle() {
  const t = [ms()];
  const sb = await daytona.create();
  t.push(ms());
  const r = await sb.process.codeRun('print(1)');
  if (r.result !== '1\n') throw new Error(`codeRun said ${JSON.stringify(r.result)}`);
  t.push(ms());
  await sb.delete();
  t.push(ms());
  return t;
}

function curlCycle() {
  const t = [ms()];
  const sb = curl('POST', '/v1/sandboxes', {});
  t.push(ms());
  const r = curl('POST', `/v1/sandboxes/${sb.id}/code-run`, { language: 'python', code: 'print(1)' });
  if (r.run.stdout !== '1\n') throw new Error(`code-run said ${JSON.stringify(r)}`);
  t.push(ms());
  curl('DELETE', `/v1/sandboxes/${sb.id}`);
  t.push(ms());
  return t;
}

const rows = { sdk: [], curl: [] };
const spawnCost = [];
try {
  // one warm-up cycle each (first Node/ts imports, page cache), not counted
  await sdkCycle();
  curlCycle();
  for (let i = 0; i < cycles; i++) {
    rows.sdk.push(await sdkCycle());
    rows.curl.push(curlCycle());
    const t0 = ms();
    execFileSync('curl', ['-sS', `${coved.origin}/v1/health`]);
    spawnCost.push(ms() - t0);
    if ((i + 1) % 10 === 0) console.error(`daytona bench: ${i + 1}/${cycles} cycles`);
  }
} finally {
  await daytona[Symbol.asyncDispose]();
  await coved.stop();
}

const pct = (v, p) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f = (x) => x.toFixed(1);
const phase = (t, i) => t[i + 1] - t[i];
console.log(`## Daytona SDK

\`node bench/daytona.mjs ${cycles}\` (${new Date().toISOString().slice(0, 10)}, ${cycles} interleaved cycles per row after one warm-up, \
@daytonaio/sdk ${sdkVersion} on Node ${process.version}, coved over TCP on 127.0.0.1). One cycle is create a sandbox, run \`print(1)\` \
in Python, delete it. The SDK row goes through the Daytona-compatible API (\`/api\`, toolbox under \`/toolbox\`); the curl row runs three \
\`curl\` processes against the native \`/v1\` API, spawned from the same Node process; one such \`curl\` of \`GET /v1/health\` \
costs ${f(pct(spawnCost, 50))} ms (p50), so about ${f(3 * pct(spawnCost, 50))} ms of the curl cycle is process start. Milliseconds:

| flow | cycle p50 | cycle p90 | create p50 | code-run p50 | delete p50 |
|---|---|---|---|---|---|`);
for (const [name, label] of [['sdk', 'SDK create()+codeRun()+delete()'], ['curl', 'curl /v1 create+code-run+delete']]) {
  const t = rows[name];
  const total = t.map((x) => x[3] - x[0]);
  console.log(`| ${label} | ${f(pct(total, 50))} | ${f(pct(total, 90))} | ${f(pct(t.map((x) => phase(x, 0)), 50))} | \
${f(pct(t.map((x) => phase(x, 1)), 50))} | ${f(pct(t.map((x) => phase(x, 2)), 50))} |`);
}
