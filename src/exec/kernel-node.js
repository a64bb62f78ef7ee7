// cove interpreter context, JavaScript and TypeScript: a persistent global scope that runs
// cells sent by coved.
//
// Started by coved (src/exec/context.c) as `node -e <this file> <language> [typescript.js]`
// inside the sandbox, as the sandbox user. fd 0 is a unix stream socket to coved: one JSON
// request per line in, one JSON event per line out (see kernel-python.py for the events).
// fd 1 and 2 are pipes (synchronous in Node on Linux) that coved streams as the cell's stdout
// and stderr. Cells run as scripts in this realm, so `var`, `let`, `const`, functions and
// require()d modules persist; the value of the last expression is reported, and a Promise is
// awaited first. TypeScript cells are transpiled (no type check). SIGINT from coved (a
// timeout) interrupts a running cell; the context survives.
(() => {
  'use strict';
  const net = require('net');
  const vm = require('vm');
  const util = require('util');
  const path = require('path');
  const Module = require('module');
  const language = process.argv[1] === 'typescript' ? 'typescript' : 'javascript';
  const ts = language === 'typescript' ? require(process.argv[2]) : null;
  const stringify = JSON.stringify;
  const sock = new net.Socket({ fd: 0, readable: true, writable: true });
  let cells = 0;
  let interrupt = null; // rejects the Promise a cell is waiting on
  let buffered = '';
  const queue = [];
  let busy = false;

  globalThis.require = Module.createRequire(path.join(process.cwd(), '<cell>'));
  globalThis.module = { exports: {} };
  globalThis.exports = globalThis.module.exports;
  process.on('SIGINT', () => {
    if (interrupt) interrupt(new Error('Script execution interrupted.'));
  });

  const send = (msg) => sock.write(stringify(msg) + '\n');

  // The cell's own frames only: cut the stack where the kernel's begin.
  const trim = (stack) => {
    const lines = String(stack || '').split('\n');
    const end = lines.findIndex((l) => /^\s+at .*(\[eval\]|node:vm:|sigintHandlersWrap)/.test(l));
    return (end < 0 ? lines : lines.slice(0, end)).join('\n');
  };

  const report = (e) => {
    if (e instanceof Error || (e && typeof e === 'object' && 'stack' in e)) {
      send({ type: 'error', name: String(e.name || 'Error'), value: String(e.message ?? ''),
        traceback: trim(e.stack) });
    } else {
      send({ type: 'error', name: 'Uncaught', value: util.inspect(e), traceback: '' });
    }
  };

  const transpile = (code, file) => {
    const out = ts.transpileModule(code, {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS,
        esModuleInterop: true, sourceMap: false },
    });
    const diags = (out.diagnostics || []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (diags.length) {
      const d = diags[0];
      let where = '';
      if (d.file && d.start !== undefined) {
        const lc = d.file.getLineAndCharacterOfPosition(d.start);
        where = ` (${file}:${lc.line + 1}:${lc.character + 1})`;
      }
      const e = new SyntaxError(ts.flattenDiagnosticMessageText(d.messageText, '\n') + where);
      e.stack = `SyntaxError: ${e.message}`;
      throw e;
    }
    return out.outputText;
  };

  const run = async (code) => {
    cells += 1;
    const file = `<cell-${cells}>`;
    let value;
    try {
      const src = ts ? transpile(code, file) : code;
      const script = new vm.Script(src, { filename: file });
      value = script.runInThisContext({ breakOnSigint: true, displayErrors: false });
      if (value && typeof value.then === 'function') {
        value = await new Promise((resolve, reject) => {
          interrupt = reject;
          value.then(resolve, reject);
        });
      }
    } catch (e) {
      report(e);
      return;
    } finally {
      interrupt = null;
    }
    if (value !== undefined) {
      globalThis._ = value;
      send({ type: 'result', text: util.inspect(value, { depth: 4 }) });
    }
  };

  const pump = async () => {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const line = queue.shift();
      let req;
      try {
        req = JSON.parse(line);
      } catch {
        send({ type: 'done', protocol_error: 'bad request line' });
        continue;
      }
      const saved = {};
      for (const [k, v] of Object.entries(req.env || {})) {
        saved[k] = process.env[k];
        process.env[k] = String(v);
      }
      try {
        await run(String(req.code ?? ''));
      } catch (e) {
        report(e);
      }
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      send({ type: 'done' });
    }
    busy = false;
  };

  sock.setEncoding('utf8');
  sock.on('data', (chunk) => {
    buffered += chunk;
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      queue.push(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
    }
    pump();
  });
  sock.on('end', () => process.exit(0));
  sock.on('error', () => process.exit(0));
  process.on('uncaughtException', (e) => {
    process.stderr.write(`Uncaught exception outside a cell: ${e && e.stack ? e.stack : e}\n`);
  });
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`Unhandled rejection: ${e && e.stack ? e.stack : e}\n`);
  });
  send({ type: 'hello', pid: process.pid, language });
})();
