"""Runs a command on a pseudo-terminal, as a person at a terminal would.

usage: pty-run.py WAIT_FOR SEND TIMEOUT -- COMMAND...
Waits until the output shows WAIT_FOR, types SEND (Python escapes: \\x03 is Ctrl-C), then reads
until the command ends or TIMEOUT seconds pass (then it is killed: exit code 124). Prints the
terminal's output, then a last line "exit=N".
"""
import os, pty, select, signal, sys, time

wait_for, send, timeout = sys.argv[1], sys.argv[2].encode().decode('unicode_escape').encode('latin-1'), float(sys.argv[3])
command = sys.argv[sys.argv.index('--') + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)
out, sent, deadline = b'', False, time.time() + timeout
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
    if not sent and wait_for.encode() in out:
        time.sleep(0.2)
        os.write(fd, send)
        sent = True
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
