// Conformance suite: the official Daytona TypeScript SDK (@daytonaio/sdk, pinned in
// package.json) drives a real coved started by harness.py. Every call asserts what comes
// back (states, outputs, bytes, fields), not merely that nothing threw.
//
// Run as root from tests/compat: npm ci && node --test (scripts/test does this).
// Preview traffic is covered where the proxy is built (tests/integration/test_12_preview.py).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Daytona,
  DaytonaAuthenticationError,
  DaytonaFileNotFoundError,
  DaytonaNotFoundError,
  DaytonaProcessExecutionTimeoutError,
  DaytonaTimeoutError,
  DaytonaValidationError,
} from '@daytonaio/sdk';
import { startCoved } from './coved.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let coved;
let daytona;
let sb; // the python sandbox most tests share

before(async () => {
  console.error(`[${new Date().toISOString()}] starting coved`);
  coved = await startCoved();
  daytona = new Daytona({ apiKey: coved.key, apiUrl: coved.apiUrl });
  sb = await daytona.create({ envVars: { COVE_SB: 'yes' }, labels: { suite: 'compat' } });
});

after(async () => {
  console.error(`[${new Date().toISOString()}] tests done, stopping coved`);
  // Unsubscribe the shared sandbox from the (refused) event stream before coved goes away.
  if (sb) await sb.delete();
  if (daytona) await daytona[Symbol.asyncDispose]();
  if (coved) assert.equal(await coved.stop(), 0, 'harness reported leftovers (see stderr)');
  console.error(`[${new Date().toISOString()}] coved stopped`);
});

describe('construction and lifecycle', () => {
  test('environment-variable construction reaches coved', async () => {
    process.env.DAYTONA_API_KEY = coved.key;
    process.env.DAYTONA_API_URL = coved.apiUrl;
    const d = new Daytona();
    try {
      const got = await d.get(sb.id);
      assert.equal(got.id, sb.id);
    } finally {
      delete process.env.DAYTONA_API_KEY;
      delete process.env.DAYTONA_API_URL;
      // Each client owns a (refused) event-stream connection: release it.
      await d[Symbol.asyncDispose]();
    }
  });

  test('create() with defaults is started, python, with a toolbox URL', async () => {
    assert.equal(sb.state, 'started');
    assert.equal(sb.labels['code-toolbox-language'], 'python');
    assert.equal(sb.labels.suite, 'compat');
    assert.equal(sb.env.COVE_SB, 'yes');
    assert.equal(sb.toolboxProxyUrl, `${coved.origin}/toolbox`);
    assert.equal(typeof sb.cpu, 'number');
    assert.equal(sb.user, 'cove');
  });

  test('create() with language, resources, intervals, networkBlockAll and snapshot', async () => {
    const js = await daytona.create({
      language: 'javascript',
      snapshot: 'base',
      resources: { cpu: 2, memory: 2, disk: 4 },
      autoStopInterval: 30,
      autoDeleteInterval: 120,
      networkBlockAll: true,
      name: 'compat-js',
    });
    try {
      assert.equal(js.state, 'started');
      assert.equal(js.name, 'compat-js');
      assert.equal(js.labels['code-toolbox-language'], 'javascript');
      assert.equal(js.cpu, 2);
      assert.equal(js.memory, 2);
      assert.equal(js.disk, 4);
      assert.equal(js.autoStopInterval, 30);
      assert.equal(js.autoDeleteInterval, 120);
      assert.equal(js.networkBlockAll, true);
      assert.equal(js.snapshot, 'base');
      const r = await js.process.codeRun('console.log(6 * 7)');
      assert.equal(r.exitCode, 0);
      assert.equal(r.result, '42\n');
    } finally {
      await js.delete();
    }
  });

  test('create() refuses image builds with a clear validation error', async () => {
    await assert.rejects(daytona.create({ image: 'python:3.12-slim' }), (e) => {
      assert.ok(e instanceof DaytonaValidationError, e.constructor.name);
      assert.match(e.message, /cannot build images/);
      return true;
    });
  });

  test('ephemeral sandbox is gone after stop()', async () => {
    const eph = await daytona.create({ ephemeral: true });
    assert.equal(eph.autoDeleteInterval, 0);
    await eph.stop();
    assert.ok(['destroyed', 'stopped'].includes(eph.state), eph.state);
    await assert.rejects(daytona.get(eph.id), DaytonaNotFoundError);
  });

  test('get(), refreshData(), stop(), start(), delete()', async () => {
    const s = await daytona.create({ language: 'typescript' });
    const got = await daytona.get(s.id);
    assert.equal(got.id, s.id);
    assert.equal(got.labels['code-toolbox-language'], 'typescript');
    await s.stop();
    assert.equal(s.state, 'stopped');
    await s.refreshData();
    assert.equal(s.state, 'stopped');
    await s.start();
    assert.equal(s.state, 'started');
    const r = await s.process.executeCommand('echo back');
    assert.equal(r.result, 'back\n');
    await s.delete();
    await assert.rejects(daytona.get(s.id), (e) => {
      assert.ok(e instanceof DaytonaNotFoundError, e.constructor.name);
      assert.match(e.message, /not found/);
      return true;
    });
  });

  test('list() filters by labels and follows the cursor', async () => {
    const made = [];
    try {
      for (let i = 0; i < 3; i++) made.push(await daytona.create({ labels: { grp: 'list-test' } }));
      const seen = [];
      for await (const s of daytona.list({ labels: { grp: 'list-test' }, limit: 2 })) {
        seen.push(s.id);
        assert.equal(s.labels.grp, 'list-test');
      }
      assert.deepEqual(seen.sort(), made.map((s) => s.id).sort());
      const none = [];
      for await (const s of daytona.list({ labels: { grp: 'nobody' } })) none.push(s);
      assert.equal(none.length, 0);
    } finally {
      for (const s of made) await s.delete();
    }
  });

  test('setLabels and the interval setters persist', async () => {
    const labels = await sb.setLabels({ suite: 'compat', extra: 'x' });
    assert.equal(labels.extra, 'x');
    await sb.setAutostopInterval(45);
    await sb.setAutoArchiveInterval(60);
    await sb.setAutoDeleteInterval(-1);
    await sb.refreshData();
    assert.equal(sb.labels.extra, 'x');
    assert.equal(sb.labels['code-toolbox-language'], 'python');
    assert.equal(sb.autoStopInterval, 45);
    assert.equal(sb.autoArchiveInterval, 60);
    assert.equal(sb.autoDeleteInterval, -1);
  });

  test('home, root and work dirs', async () => {
    assert.equal(await sb.getUserHomeDir(), '/home/cove');
    assert.equal(await sb.getUserRootDir(), '/home/cove');
    assert.equal(await sb.getWorkDir(), '/home/cove');
  });

  test('errors: bad key, missing sandbox', async () => {
    const bad = new Daytona({ apiKey: 'cove_wrong', apiUrl: coved.apiUrl });
    await assert.rejects(bad.get(sb.id), DaytonaAuthenticationError);
    await bad[Symbol.asyncDispose]();
    await assert.rejects(daytona.get('no-such-sandbox'), DaytonaNotFoundError);
  });

  test('a script that never calls process.exit() exits promptly (socket.io refused)', () => {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [join(here, 'exit-check.mjs')], {
      env: { ...process.env, COVE_KEY: coved.key, COVE_API_URL: coved.apiUrl },
      encoding: 'utf8',
      timeout: 30000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'hi');
    assert.ok(Date.now() - t0 < 15000, `took ${Date.now() - t0} ms`);
  });
});

describe('process', () => {
  test('executeCommand: combined output, exit code, cwd and env', async () => {
    let r = await sb.process.executeCommand('echo out; echo err >&2; exit 7');
    assert.equal(r.exitCode, 7);
    assert.equal(r.result, 'out\nerr\n');
    assert.equal(r.artifacts.stdout, r.result);
    r = await sb.process.executeCommand('pwd; echo $FOO $COVE_SB', '/tmp', { FOO: 'bar' });
    assert.equal(r.result, '/tmp\nbar yes\n');
  });

  test('executeCommand timeout raises DaytonaProcessExecutionTimeoutError', async () => {
    const t0 = Date.now();
    await assert.rejects(sb.process.executeCommand('sleep 30', undefined, undefined, 1), (e) => {
      assert.ok(e instanceof DaytonaProcessExecutionTimeoutError, e.constructor.name);
      assert.ok(e instanceof DaytonaTimeoutError);
      assert.equal(e.statusCode, 408);
      assert.match(e.message, /timed out after 1 seconds/);
      return true;
    });
    assert.ok(Date.now() - t0 < 10000);
  });

  test('codeRun python with argv and env', async () => {
    const r = await sb.process.codeRun('import os, sys\nprint(sys.argv[1:], os.environ["K"])', {
      argv: ['a', 'b c'],
      env: { K: 'v' },
    });
    assert.equal(r.exitCode, 0);
    assert.equal(r.result, "['a', 'b c'] v\n");
    assert.deepEqual(r.artifacts.charts, []);
  });

  test('codeRun python failure is data', async () => {
    const r = await sb.process.codeRun('raise SystemExit(3)');
    assert.equal(r.exitCode, 3);
  });

  test('codeRun javascript and typescript', async () => {
    const js = await daytona.create({ language: 'javascript' });
    const ts = await daytona.create({ language: 'typescript' });
    try {
      let r = await js.process.codeRun('console.log(process.argv.slice(2).join("+"))', {
        argv: ['1', '2'],
      });
      assert.equal(r.result, '1+2\n');
      r = await ts.process.codeRun('const n: number = 21;\nconsole.log(n * 2, process.env.Q)', {
        env: { Q: 'ts' },
      });
      assert.equal(r.exitCode, 0);
      assert.equal(r.result, '42 ts\n');
    } finally {
      await js.delete();
      await ts.delete();
    }
  });

  test('codeRun matplotlib charts come back as artifacts.charts', async () => {
    const code = [
      'import matplotlib.pyplot as plt',
      'print("start")',
      "plt.plot([1, 2, 3], [2, 4, 8], label='growth')",
      "plt.title('Growth'); plt.xlabel('t'); plt.ylabel('v')",
      'plt.show()',
      "plt.bar(['a', 'b'], [3, 5])",
      'plt.show()',
      'print("end")',
    ].join('\n');
    const r = await sb.process.codeRun(code);
    assert.equal(r.exitCode, 0, r.result);
    assert.equal(r.result, 'start\nend\n');
    const [line, bar] = r.artifacts.charts;
    assert.equal(r.artifacts.charts.length, 2);
    assert.equal(line.type, 'line');
    assert.equal(line.title, 'Growth');
    assert.equal(line.x_label, 't');
    assert.deepEqual(line.elements[0].points, [[1, 2], [2, 4], [3, 8]]);
    assert.equal(line.elements[0].label, 'growth');
    assert.ok(Buffer.from(line.png, 'base64').subarray(1, 4).toString() === 'PNG');
    assert.equal(bar.type, 'bar');
    assert.deepEqual(
      bar.elements.map((e) => [e.label, e.value]),
      [['a', '3'], ['b', '5']],
    );
  });
});

describe('files', () => {
  const bin = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]);

  test('uploadFile / downloadFile round-trip bytes, relative to the work dir', async () => {
    await sb.fs.uploadFile(Buffer.from('hello\n'), 'hello.txt');
    await sb.fs.uploadFile(bin, '/tmp/deep/er/bin.dat');
    assert.equal((await sb.fs.downloadFile('hello.txt')).toString(), 'hello\n');
    assert.equal((await sb.fs.downloadFile('/home/cove/hello.txt')).toString(), 'hello\n');
    assert.deepEqual(await sb.fs.downloadFile('/tmp/deep/er/bin.dat'), bin);
    const r = await sb.process.executeCommand('cat hello.txt; stat -c %U /tmp/deep/er/bin.dat');
    assert.equal(r.result, 'hello\ncove\n');
  });

  test('uploadFiles / downloadFiles: many files, non-ASCII names, empty file, errors', async () => {
    const files = [
      { source: Buffer.from('α'), destination: 'uni/héllo wörld 日本.txt' },
      { source: Buffer.alloc(0), destination: 'uni/empty' },
      { source: Buffer.alloc(300000, 'z'), destination: 'uni/big.txt' },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'cove-up-'));
    writeFileSync(join(dir, 'local.txt'), 'from disk');
    files.push({ source: join(dir, 'local.txt'), destination: 'uni/local.txt' });
    await sb.fs.uploadFiles(files);
    const res = await sb.fs.downloadFiles([
      { source: 'uni/héllo wörld 日本.txt' },
      { source: 'uni/empty' },
      { source: 'uni/big.txt' },
      { source: 'uni/local.txt', destination: join(dir, 'back.txt') },
      { source: 'uni/missing.txt' },
    ]);
    assert.equal(res[0].result.toString(), 'α');
    assert.equal(res[1].result.length, 0);
    assert.equal(res[1].error, undefined);
    assert.equal(res[2].result.length, 300000);
    assert.equal(res[3].error, undefined);
    assert.equal(readFileSync(join(dir, 'back.txt'), 'utf8'), 'from disk');
    assert.match(res[4].error, /no such file/);
  });

  test('downloadFile of a missing file raises DaytonaFileNotFoundError', async () => {
    await assert.rejects(sb.fs.downloadFile('nope/none.txt'), (e) => {
      assert.ok(e instanceof DaytonaFileNotFoundError, e.constructor.name);
      assert.ok(e instanceof DaytonaNotFoundError);
      return true;
    });
    await assert.rejects(sb.fs.getFileDetails('nope.txt'), DaytonaFileNotFoundError);
  });

  test('createFolder, listFiles (all FileInfo fields), getFileDetails', async () => {
    await sb.fs.createFolder('proj/src', '750');
    await sb.fs.uploadFile(Buffer.from('x = 1\n'), 'proj/src/a.py');
    const list = await sb.fs.listFiles('proj');
    assert.equal(list.length, 1);
    const d = list[0];
    assert.equal(d.name, 'src');
    assert.equal(d.isDir, true);
    assert.equal(d.permissions, '0750');
    assert.equal(d.mode, 'drwxr-x---');
    assert.equal(d.owner, 'cove');
    assert.equal(d.group, 'cove');
    assert.equal(d.path, '/home/cove/proj/src');
    assert.ok(!Number.isNaN(Date.parse(d.modTime)) && !Number.isNaN(Date.parse(d.modifiedAt)));
    const deep = await sb.fs.listFiles('proj', { depth: 2 });
    assert.deepEqual(deep.map((f) => f.path), ['/home/cove/proj/src', '/home/cove/proj/src/a.py']);
    const info = await sb.fs.getFileDetails('proj/src/a.py');
    assert.equal(info.size, 6);
    assert.equal(info.isDir, false);
    assert.equal(info.mode, '-rw-r--r--');
  });

  test('moveFiles, findFiles, searchFiles, replaceInFiles', async () => {
    await sb.fs.uploadFiles([
      { source: Buffer.from('one\nTODO: two\nthree TODO\n'), destination: 'code/a.ts' },
      { source: Buffer.from('nothing\n'), destination: 'code/sub/b.ts' },
      { source: Buffer.from('TODO\n'), destination: 'code/sub/c.js' },
    ]);
    await sb.fs.moveFiles('code/sub/c.js', 'code/c.js');
    assert.equal((await sb.fs.downloadFile('code/c.js')).toString(), 'TODO\n');
    const found = await sb.fs.findFiles('code', 'TODO');
    assert.deepEqual(
      found.map((m) => [m.file, m.line, m.content]).sort(),
      [
        ['code/a.ts', 2, 'TODO: two'],
        ['code/a.ts', 3, 'three TODO'],
        ['code/c.js', 1, 'TODO'],
      ],
    );
    const ts = await sb.fs.searchFiles('code', '*.ts');
    assert.deepEqual(ts.files.sort(), ['code/a.ts', 'code/sub/b.ts']);
    const abs = await sb.fs.searchFiles('/home/cove/code', '**/b.ts');
    assert.deepEqual(abs.files, ['/home/cove/code/sub/b.ts']);
    const rep = await sb.fs.replaceInFiles(['code/a.ts', 'code/none.ts'], 'TODO', 'DONE');
    assert.equal(rep[0].success, true);
    assert.equal(rep[1].success, false);
    assert.equal((await sb.fs.downloadFile('code/a.ts')).toString(), 'one\nDONE: two\nthree DONE\n');
  });

  test('setFilePermissions and deleteFile (file and recursive folder)', async () => {
    await sb.fs.uploadFile(Buffer.from('#!/bin/sh\necho ran\n'), 'run.sh');
    await sb.fs.setFilePermissions('run.sh', { mode: '755', owner: 'cove', group: 'cove' });
    assert.equal((await sb.fs.getFileDetails('run.sh')).permissions, '0755');
    assert.equal((await sb.process.executeCommand('./run.sh')).result, 'ran\n');
    await assert.rejects(sb.fs.setFilePermissions('run.sh', { owner: 'root' }));
    await sb.fs.deleteFile('run.sh');
    await assert.rejects(sb.fs.getFileDetails('run.sh'), DaytonaFileNotFoundError);
    await assert.rejects(sb.fs.deleteFile('code'));
    await sb.fs.deleteFile('code', true);
    assert.equal((await sb.process.executeCommand('test -e code; echo $?')).result, '1\n');
  });
});

describe('sessions', () => {
  test('persistent shell: cd, export and functions carry over; sync results', async () => {
    await sb.process.createSession('compat-s1');
    let r = await sb.process.executeSessionCommand('compat-s1', {
      command: 'cd /tmp && export X=42 && f() { echo fn-$1; }',
    });
    assert.equal(r.exitCode, 0);
    r = await sb.process.executeSessionCommand('compat-s1', {
      command: 'pwd; echo $X; f y; echo oops >&2; exit 3',
    });
    assert.equal(r.exitCode, 3);
    assert.equal(r.stdout, '/tmp\n42\nfn-y\n');
    assert.equal(r.stderr, 'oops\n');
    const cmd = await sb.process.getSessionCommand('compat-s1', r.cmdId);
    assert.equal(cmd.exitCode, 3);
    assert.match(cmd.command, /exit 3/);
  });

  test('runAsync, streamed logs with stdout and stderr apart, plain logs, list, delete', async () => {
    const a = await sb.process.executeSessionCommand('compat-s1', {
      command: 'for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.2; done',
      runAsync: true,
    });
    assert.ok(a.cmdId);
    let running = await sb.process.getSessionCommand('compat-s1', a.cmdId);
    assert.equal(running.exitCode, undefined, 'exitCode is absent while running');
    let out = '';
    let err = '';
    await sb.process.getSessionCommandLogs('compat-s1', a.cmdId, (s) => (out += s), (s) => (err += s));
    assert.equal(out, 'out1\nout2\nout3\n');
    assert.equal(err, 'err1\nerr2\nerr3\n');
    const logs = await sb.process.getSessionCommandLogs('compat-s1', a.cmdId);
    assert.equal(logs.stdout, 'out1\nout2\nout3\n');
    assert.equal(logs.stderr, 'err1\nerr2\nerr3\n');
    const done = await sb.process.getSessionCommand('compat-s1', a.cmdId);
    assert.equal(done.exitCode, 0);
    const sessions = await sb.process.listSessions();
    const s1 = sessions.find((s) => s.sessionId === 'compat-s1');
    assert.ok(s1, JSON.stringify(sessions));
    assert.equal(s1.commands.length, 3);
    await sb.process.deleteSession('compat-s1');
    assert.ok(!(await sb.process.listSessions()).some((s) => s.sessionId === 'compat-s1'));
  });

  test('sendSessionCommandInput feeds a running command', async () => {
    await sb.process.createSession('compat-s2');
    const a = await sb.process.executeSessionCommand('compat-s2', {
      command: 'read line; echo got-$line',
      runAsync: true,
    });
    await sb.process.sendSessionCommandInput('compat-s2', a.cmdId, 'hello\n');
    let out = '';
    await sb.process.getSessionCommandLogs('compat-s2', a.cmdId, (s) => (out += s), () => {});
    assert.equal(out, 'got-hello\n');
    await sb.process.deleteSession('compat-s2');
  });
});

describe('preview links', () => {
  test('getPreviewLink returns a URL for the port and the sandbox token', async () => {
    const link = await sb.getPreviewLink(8080);
    assert.equal(link.sandboxId, sb.id);
    assert.match(link.url, new RegExp(`^http://8080-${sb.id}\\.`));
    assert.match(link.token, /^[0-9a-f]{32}$/);
    assert.equal((await sb.getPreviewLink(9000)).token, link.token);
  });

  test('getSignedPreviewUrl and expireSignedPreviewUrl', async () => {
    const s = await sb.getSignedPreviewUrl(8080, 120);
    assert.equal(s.port, 8080);
    assert.match(s.token, /^[a-z0-9]{16}$/);
    assert.match(s.url, new RegExp(`^http://8080-${s.token}\\.`));
    await sb.expireSignedPreviewUrl(8080, s.token);
  });
});

// PTYs (src/api/daytona-pty.c): createPty opens WS create-connect with the exit-control and
// envs subprotocols; resize, getPtySessionInfo and kill are REST; connectPty reattaches.
describe('pty', () => {
  // Terminal output as text, and a bounded wait for a needle in it.
  function terminal() {
    const t = { text: '', dec: new TextDecoder() };
    t.onData = (bytes) => {
      t.text += t.dec.decode(bytes, { stream: true });
    };
    t.waitFor = async (needle, ms = 15000) => {
      const end = Date.now() + ms;
      while (!t.text.includes(needle)) {
        if (Date.now() > end)
          throw new Error(`no ${JSON.stringify(needle)} in ${JSON.stringify(t.text.slice(-800))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    return t;
  }

  test('createPty runs a login shell with envs and cwd; resize reaches stty', async () => {
    const t = terminal();
    const h = await sb.process.createPty({
      id: 'compat-pty',
      cols: 90,
      rows: 20,
      cwd: '/tmp',
      envs: { GREETING: 'hello there' },
      onData: t.onData,
    });
    try {
      assert.ok(h.isConnected());
      await h.sendInput('echo hi-$((6*7)) "[$GREETING]" $(pwd) $(id -un)\n');
      await t.waitFor('hi-42 [hello there] /tmp cove');
      await h.sendInput('stty size\n');
      await t.waitFor('20 90');
      const info = await h.resize(100, 30);
      assert.equal(info.cols, 100);
      assert.equal(info.rows, 30);
      await h.sendInput('stty size\n');
      await t.waitFor('30 100');
      const got = await sb.process.getPtySessionInfo('compat-pty');
      assert.equal(got.id, 'compat-pty');
      assert.equal(got.cwd, '/tmp');
      assert.equal(got.active, true);
      assert.equal(got.lazyStart, false);
      assert.deepEqual([got.cols, got.rows], [100, 30]);
      assert.equal(got.envs.GREETING, 'hello there');
      assert.ok(!Number.isNaN(Date.parse(got.createdAt)), got.createdAt);
      const listed = await sb.process.listPtySessions();
      assert.deepEqual(listed.map((s) => s.id), ['compat-pty']);
      await h.sendInput('exit 5\n');
      const r = await h.wait();
      assert.equal(r.exitCode, 5);
      assert.equal(h.exitCode, 5);
    } finally {
      await h.disconnect();
    }
    await assert.rejects(sb.process.getPtySessionInfo('compat-pty'), DaytonaNotFoundError);
  });

  test('connectPty reattaches after a disconnect; the shell kept its state', async () => {
    const t1 = terminal();
    const h1 = await sb.process.createPty({ id: 'compat-reattach', onData: t1.onData });
    await h1.sendInput('cd /var; export MARK=kept-$((40+2)); echo set-done\n');
    await t1.waitFor('set-done\r\n');
    await h1.disconnect();
    const t2 = terminal();
    const h2 = await sb.process.connectPty('compat-reattach', { onData: t2.onData });
    try {
      assert.ok(h2.isConnected());
      await h2.sendInput('echo "$MARK:$(pwd)"\n');
      await t2.waitFor('kept-42:/var');
    } finally {
      await h2.kill();
      await h2.wait();
      await h2.disconnect();
    }
  });

  test('kill ends the shell and the handle learns the exit (137, SIGKILL)', async () => {
    const t = terminal();
    const h = await sb.process.createPty({ id: 'compat-kill', onData: t.onData });
    try {
      await h.sendInput('sleep 600 & echo started-bg\n');
      await t.waitFor('started-bg');
      await h.kill();
      const r = await h.wait();
      assert.equal(r.exitCode, 137);
      assert.equal(r.error, 'SIGKILL');
      assert.equal(h.isConnected(), false);
    } finally {
      await h.disconnect();
    }
    assert.deepEqual((await sb.process.listPtySessions()).map((s) => s.id), []);
    await assert.rejects(sb.process.connectPty('compat-kill', { onData: () => {} }));
    // The kill took the whole tree, the background sleep included.
    const ps = await sb.process.executeCommand('pgrep -x sleep || echo none');
    assert.equal(ps.result, 'none\n');
  });
});

describe('git', () => {
  test('clone (local path and file://), status, add, commit, branches, checkout', async () => {
    const setup = [
      'git init -q -b main origin-repo',
      'cd origin-repo',
      'echo one > a.txt',
      'git add a.txt',
      'git -c user.name=o -c user.email=o@x commit -q -m init',
      'git config receive.denyCurrentBranch updateInstead',
    ].join(' && ');
    assert.equal((await sb.process.executeCommand(setup)).exitCode, 0);
    await sb.git.clone('/home/cove/origin-repo', 'clone1');
    await sb.git.clone('file:///home/cove/origin-repo', 'clone2', 'main');
    assert.equal((await sb.fs.downloadFile('clone2/a.txt')).toString(), 'one\n');
    let st = await sb.git.status('clone1');
    assert.equal(st.currentBranch, 'main');
    assert.deepEqual(st.fileStatus, []);
    assert.equal(st.ahead, 0);
    await sb.fs.uploadFile(Buffer.from('two\n'), 'clone1/b.txt');
    st = await sb.git.status('clone1');
    assert.deepEqual(
      st.fileStatus.map((f) => [f.name, f.staging, f.worktree]),
      [['b.txt', 'Untracked', 'Untracked']],
    );
    await sb.git.add('clone1', ['b.txt']);
    st = await sb.git.status('clone1');
    assert.equal(st.fileStatus[0].staging, 'Added');
    const c = await sb.git.commit('clone1', 'add b', 'Ann', 'ann@example.com');
    assert.match(c.sha, /^[0-9a-f]{40}$/);
    const log = await sb.process.executeCommand('git -C clone1 log -1 --format="%H %an %s"');
    assert.equal(log.result, `${c.sha} Ann add b\n`);
    st = await sb.git.status('clone1');
    assert.equal(st.ahead, 1);
    await sb.git.createBranch('clone1', 'feature');
    let br = await sb.git.branches('clone1');
    assert.deepEqual(br.branches.sort(), ['feature', 'main']);
    await sb.git.checkoutBranch('clone1', 'feature');
    assert.equal((await sb.git.status('clone1')).currentBranch, 'feature');
    await sb.git.checkoutBranch('clone1', 'main');
    await sb.git.deleteBranch('clone1', 'feature');
    br = await sb.git.branches('clone1');
    assert.deepEqual(br.branches, ['main']);
    await sb.git.push('clone1');
    const origin = await sb.process.executeCommand('git -C origin-repo log -1 --format=%s main');
    assert.equal(origin.result, 'add b\n');
    await assert.rejects(sb.git.clone('/home/cove/no-such-repo', 'clone3'), (e) => {
      assert.equal(e.constructor.name, 'DaytonaGitRepoNotFoundError');
      return true;
    });
    await assert.rejects(sb.git.checkoutBranch('clone1', 'nope'), DaytonaNotFoundError);
  });
});

describe('code interpreter', () => {
  test('runCode keeps state in the default context and streams output', async () => {
    const seen = [];
    let r = await sb.codeInterpreter.runCode('counter = 40');
    assert.equal(r.stdout, '');
    assert.equal(r.error, undefined);
    r = await sb.codeInterpreter.runCode(
      'import sys\ncounter += 2\nprint(counter)\nsys.stderr.write("warn\\n")',
      { onStdout: (m) => seen.push(m.output) },
    );
    assert.equal(r.stdout, '42\n');
    assert.equal(r.stderr, 'warn\n');
    assert.deepEqual(seen, ['42\n']);
  });

  test('runCode reports a structured error', async () => {
    const errors = [];
    const r = await sb.codeInterpreter.runCode('def f():\n    raise ValueError("bad")\nf()', {
      onError: (e) => errors.push(e),
    });
    assert.equal(r.error.name, 'ValueError');
    assert.equal(r.error.value, 'bad');
    assert.match(r.error.traceback, /in f/);
    assert.equal(errors.length, 1);
  });

  test('contexts: create, isolate, list, time out without losing state, delete', async () => {
    const ctx = await sb.codeInterpreter.createContext('/tmp');
    assert.equal(ctx.cwd, '/tmp');
    assert.equal(ctx.language, 'python');
    assert.equal(ctx.active, true);
    let r = await sb.codeInterpreter.runCode('import os\nmine = os.getcwd()', { context: ctx });
    r = await sb.codeInterpreter.runCode('print(mine)', { context: ctx });
    assert.equal(r.stdout, '/tmp\n');
    // The default context does not see the new context's variables.
    r = await sb.codeInterpreter.runCode("print('mine' in globals())");
    assert.equal(r.stdout, 'False\n');
    const listed = await sb.codeInterpreter.listContexts();
    assert.deepEqual(listed.map((c) => c.id), [ctx.id]);
    await assert.rejects(
      sb.codeInterpreter.runCode('import time\ntime.sleep(30)', { context: ctx, timeout: 1 }),
      DaytonaTimeoutError,
    );
    r = await sb.codeInterpreter.runCode('print(mine)', { context: ctx, envs: { X: 'y' } });
    assert.equal(r.stdout, '/tmp\n');
    await sb.codeInterpreter.deleteContext(ctx);
    assert.deepEqual(await sb.codeInterpreter.listContexts(), []);
  });
});
