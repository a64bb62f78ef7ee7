// Start a private coved through harness.py (which reuses the integration suite's Daemon) and
// stop it again. Shared by the conformance suite and the benchmark.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));

export async function startCoved() {
  const env = { ...process.env };
  if (!env.COVE_BUILD) env.COVE_BUILD = join(here, '..', '..', 'build');
  const child = spawn('/usr/bin/python3', [join(here, 'harness.py')], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`harness exited with status ${code}`)));
  });
  const info = JSON.parse(first);
  const origin = `http://127.0.0.1:${info.port}`;
  return {
    ...info,
    origin,
    apiUrl: `${origin}/api`,
    async stop() {
      const done = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
      child.stdin.end();
      return done;
    },
  };
}
