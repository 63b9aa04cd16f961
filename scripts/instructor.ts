/**
 * npm run instructor -- add NAME | list | remove NAME | reset NAME
 *
 * Instructor accounts for classrooms, made by the operator (there are no default
 * credentials). `add` and `reset` print a one-time login link (single use, 24 h)
 * where the instructor sets a password; `reset` also ends every session of the
 * account. Reads the same BERTH_* settings as the server (BERTH_DATA_DIR for the
 * store, BERTH_PUBLIC_URL for the link) and may run while the server does.
 */
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../sandbox-server/src/config.ts';
import { Store } from '../sandbox-server/src/store.ts';
import { Accounts, LINK_LIFETIME_MS, loginLink } from '../sandbox-server/src/classroom/accounts.ts';

const USAGE = 'usage: npm run instructor -- add NAME | list | remove NAME | reset NAME';

function main(args: string[]): number {
  const [command, name] = args;
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const store = new Store(join(config.dataDir, 'berth.db'));
  try {
    const accounts = new Accounts(store);
    const hours = LINK_LIFETIME_MS / 3_600_000;
    switch (command) {
      case 'add': {
        if (!name) break;
        const { token } = accounts.add(name);
        console.log(`Instructor ${name} added. Give them this login link (one use, valid ${hours} h) to set a password:\n${loginLink(config.publicUrl, token)}`);
        return 0;
      }
      case 'reset': {
        if (!name) break;
        const token = accounts.reset(name);
        console.log(`${name}'s password is cleared and every session ended. New login link (one use, valid ${hours} h):\n${loginLink(config.publicUrl, token)}`);
        return 0;
      }
      case 'remove': {
        if (!name) break;
        if (!accounts.remove(name)) {
          console.error(`no instructor named ${name}`);
          return 1;
        }
        console.log(`Instructor ${name} removed, with their sessions and classes (learners keep their own progress).`);
        return 0;
      }
      case 'list': {
        const all = accounts.list();
        if (!all.length) console.log('No instructors yet: npm run instructor -- add NAME');
        for (const i of all) {
          console.log(`${i.name}\t${i.hasPassword ? 'password set' : 'waiting for the login link'}\t${i.sessions} session(s)\tsince ${new Date(i.createdAt).toISOString()}`);
        }
        return 0;
      }
    }
    console.error(USAGE);
    return 2;
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  } finally {
    store.close();
  }
}

process.exitCode = main(process.argv.slice(2));
