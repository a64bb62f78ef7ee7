# cove interpreter context, Python: a persistent namespace that runs cells sent by coved.
#
# Started by coved (src/exec/context.c) as `python3 -c <this file>` inside the sandbox, as
# the sandbox user. fd 0 is a unix stream socket to coved: one JSON request per line in, one
# JSON event per line out. fd 1 and 2 are pipes that coved streams to the caller as the
# cell's stdout and stderr, so output from print(), C extensions and subprocesses alike
# arrives as it is produced. Events: hello {pid}; result {text} (repr of the last expression);
# artifact {mime, data} (matplotlib figures as base64 PNG); error {name, value, traceback};
# done. Everything here runs in the sandbox, so coved trusts none of it.
import ast
import base64
import io
import json
import linecache
import os
import signal
import socket
import sys
import traceback
import warnings


def main():
    ctl = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    reader = ctl.makefile("rb")
    # Whole lines reach coved as they are printed; a partial line at the end of the cell.
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    state = {"in_cell": False, "cells": 0}
    ns = {"__name__": "__main__", "__builtins__": __builtins__}
    warnings.filterwarnings("ignore", message=".*non-GUI backend.*")
    warnings.filterwarnings("ignore", message=".*non-interactive.*")
    loop = [None]
    kernel = main.__code__.co_filename

    def on_sigint(signum, frame):
        if state["in_cell"]:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)

    def clean(s):
        return str(s).encode("utf-8", "replace").decode("utf-8")

    def send(msg):
        ctl.sendall(json.dumps(msg).encode() + b"\n")

    def flush():
        for f in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                f.flush()
            except Exception:
                pass

    def figures():
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is None:
            return
        try:
            for num in plt.get_fignums():
                buf = io.BytesIO()
                plt.figure(num).savefig(buf, format="png")
                send({"type": "artifact", "mime": "image/png",
                      "data": base64.b64encode(buf.getvalue()).decode()})
            plt.close("all")
        except Exception as e:
            send({"type": "artifact_error", "text": clean(repr(e))})

    def report(exc, with_frames=True):
        # The cell's own frames only: the kernel's (this file, "<string>") are noise, and so are
        # the compiler's for a syntax error.
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != kernel]
        if not with_frames:
            frames = []
        text = "".join(traceback.format_exception_only(type(exc), exc))
        if frames:
            text = "Traceback (most recent call last):\n" + "".join(
                traceback.format_list(frames)) + text
        send({"type": "error", "name": clean(type(exc).__name__), "value": clean(exc),
              "traceback": clean(text)})

    def run(code):
        state["cells"] += 1
        name = "<cell-%d>" % state["cells"]
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        try:
            tree = ast.parse(code, name, "exec")
        except (SyntaxError, ValueError) as e:
            report(e, False)
            return
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        try:
            body = compile(tree, name, "exec", flags=flags)
            tail = compile(last, name, "eval", flags=flags) if last else None
        except SyntaxError as e:
            report(e, False)
            return
        try:
            state["in_cell"] = True
            value = None
            for i, c in enumerate((body, tail)):
                if c is None:
                    continue
                v = eval(c, ns)
                if c.co_flags & 0x80:  # CO_COROUTINE: the cell used top-level await
                    if loop[0] is None:
                        import asyncio
                        loop[0] = asyncio.new_event_loop()
                    v = loop[0].run_until_complete(v)
                if i == 1:
                    value = v
        except BaseException as e:  # SystemExit and KeyboardInterrupt too: the context lives on
            state["in_cell"] = False
            report(e)
            return
        finally:
            state["in_cell"] = False
        if value is not None:
            ns["_"] = value
            try:
                send({"type": "result", "text": clean(repr(value))})
            except Exception as e:
                send({"type": "result", "text": clean("<repr failed: %r>" % e)})

    send({"type": "hello", "pid": os.getpid(), "language": "python"})
    for line in reader:
        try:
            req = json.loads(line)
        except ValueError:
            send({"type": "done", "protocol_error": "bad request line"})
            continue
        saved = {}
        for k, v in (req.get("env") or {}).items():
            saved[k] = os.environ.get(k)
            os.environ[k] = v
        try:
            run(req.get("code", ""))
            flush()
            figures()
        except KeyboardInterrupt as e:
            report(e)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        flush()
        send({"type": "done"})


main()
