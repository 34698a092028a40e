"""Runs a command on a pseudo-terminal, as a person at a terminal would.

usage: pty-run.py WAIT_FOR SEND [WAIT_FOR SEND ...] TIMEOUT -- COMMAND...
For each pair in turn: waits until the output (after the previous pair's text) shows WAIT_FOR,
then types SEND (Python escapes: \\x03 is Ctrl-C, \\r is Enter). Then reads until the command
ends or TIMEOUT seconds pass (then it is killed: exit code 124). Prints the terminal's output,
then a last line "exit=N".
"""
import os, pty, select, signal, sys, time

args = sys.argv[1:sys.argv.index('--')]
timeout = float(args[-1])
pairs = [(args[i], args[i + 1].encode().decode('unicode_escape').encode('latin-1')) for i in range(0, len(args) - 1, 2)]
command = sys.argv[sys.argv.index('--') + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)
out, deadline = b'', time.time() + timeout
seen_to = 0
status = None
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b''
        if not chunk:
            break
        out += chunk
    if pairs and pairs[0][0].encode() in out[seen_to:]:
        wait_for, send = pairs.pop(0)
        seen_to = out.index(wait_for.encode(), seen_to) + len(wait_for)
        time.sleep(0.2)
        os.write(fd, send)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
        break
while status is None and time.time() < deadline:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
    else:
        time.sleep(0.05)
if status is None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    code = 124
else:
    code = os.waitstatus_to_exitcode(status)
sys.stdout.write(out.decode('utf-8', 'replace'))
sys.stdout.write('\nexit=%d\n' % code)
