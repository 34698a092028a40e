import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import { CancelledError } from '../errors.js';

/** Whether there is a terminal to ask on. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/**
 * Asks one question on the terminal. Ctrl-C (which a terminal in raw mode hands to readline, not
 * as a signal) and a SIGINT/SIGTERM sent to the process both end the prompt with CancelledError
 * (exit 130): without this readline only pauses, and the process waits forever.
 */
function ask(rl: Interface, question: string, what: string, echoed: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const cancel = () => {
      cleanup();
      rl.close();
      if (echoed) process.stderr.write('\n');
      reject(new CancelledError(`cancelled at the ${what} prompt: nothing was changed`));
    };
    const cleanup = () => {
      rl.off('SIGINT', cancel);
      process.off('SIGINT', cancel).off('SIGTERM', cancel);
    };
    rl.on('SIGINT', cancel);
    process.on('SIGINT', cancel).on('SIGTERM', cancel);
    rl.on('close', () => cleanup());
    rl.question(question, (answer) => {
      cleanup();
      rl.close();
      resolve(answer);
    });
  });
}

/** Asks for a secret on the terminal: prompt on stderr, no echo. */
export async function promptHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const answer = ask(rl, question, 'password', false);
  muted = true;
  try {
    return await answer;
  } finally {
    // The Enter (or ^C) was not echoed.
    process.stderr.write('\n');
  }
}

/** Asks a yes/no question on the terminal (prompt on stderr); default no. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const answer = await ask(rl, `${question} [y/N] `, 'confirmation', true);
  return /^y(es)?$/i.test(answer.trim());
}
