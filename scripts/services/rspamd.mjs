// Starts rspamd for tests and benchmarks with its shipped rules, one normal worker on 127.0.0.1,
// and every check that would use the network or Redis turned off.
import { spawn } from 'node:child_process';
import { chown, mkdir, open, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';

import { HOST, waitFor } from './process-support.mjs';

/**
 * Modules of rspamd 3.4 that query DNS lists, fetch remote maps, call external scanners or need
 * Redis. Each gets `enabled = false` in local.d.
 */
const NETWORK_MODULES = [
  'antivirus', 'arc', 'asn', 'bimi', 'clickhouse', 'dcc', 'dkim', 'dkim_signing', 'dmarc',
  'elastic', 'emails', 'external_services', 'fuzzy_check', 'greylist', 'hfilter',
  'history_redis', 'metadata_exporter', 'metric_exporter', 'multimap', 'mx_check', 'neural',
  'p0f', 'phishing', 'ratelimit', 'rbl', 'replies', 'reputation', 'rspamd_update', 'spamassassin',
  'spf', 'url_redirector', 'whitelist',
];

/**
 * Top-level configuration: the shipped rules (common.conf, which reads modules' local.d overrides
 * from LOCAL_CONFDIR, this folder) and one normal worker. The controller and proxy workers are
 * left out because only /checkv2 and /ping are used.
 */
function toConfig(folder, port) {
  return `.include "$CONFDIR/common.conf"

options {
  pidfile = "${folder}/rspamd.pid";
  .include "$CONFDIR/options.inc"
  .include(priority=10) "$LOCAL_CONFDIR/override.d/options.inc"
}

logging {
  type = "file";
  filename = "${folder}/rspamd.log";
  level = "warning";
}

worker "normal" {
  bind_socket = "${HOST}:${port}";
  .include "$CONFDIR/worker-normal.inc"
  count = 1;
}
`;
}

/**
 * Replaces the shipped options block (override.d replaces it whole, so its other keys are
 * repeated). DNS goes to a closed port on 127.0.0.1, so any query a remaining rule makes fails at
 * once and nothing reaches another host; the shipped `filters` list loses dkim and fuzzy_check.
 */
function toOptions(folder) {
  return `filters = "chartable,regexp";
dns { nameserver = ["${HOST}:9"]; timeout = 0.1s; retransmits = 1; sockets = 1; }
control_socket = "${folder}/db/rspamd.sock mode=0600";
tempdir = "${folder}";
cache_file = "$DBDIR/symbols.cache";
dynamic_conf = "$DBDIR/rspamd_dynamic";
history_file = "$DBDIR/rspamd.history";
rrd = "$DBDIR/rspamd.rrd";
url_tld = "$SHAREDIR/effective_tld_names.dat";
classify_headers = ["User-Agent", "X-Mailer", "Content-Type", "X-MimeOLE"];
explicit_modules = ["settings", "bayes_expiry"];
allow_raw_input = true;
`;
}

/** Resolves true when rspamd returns `pong` to GET /ping. */
export function rspamdAnswers(port) {
  return new Promise((done) => {
    const probe = request({ host: HOST, port, path: '/ping', timeout: 2000 }, (response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk.toString('utf8');
      });
      response.on('end', () => done(body.trim() === 'pong'));
    });
    probe.on('timeout', () => probe.destroy());
    probe.on('error', () => done(false));
    probe.end();
  });
}

/** Gives the folder to rspamd's workers, which drop to the `_rspamd` user when started as root. */
async function chownTree(paths, user) {
  for (const path of paths) {
    await chown(path, user.uid, user.gid);
  }
}

/**
 * Starts rspamd in `folder` on `port` and resolves once /ping returns pong. As root, rspamd refuses
 * to run its workers privileged, so `-u _rspamd -g _rspamd` makes them drop to the user the
 * Debian package creates; `rspamdUser` gives its uid and gid for the folder's ownership.
 * `register` receives the child as soon as it is spawned.
 */
export async function startRspamd(binary, folder, port, rspamdUser, register) {
  const database = join(folder, 'db');
  await mkdir(join(folder, 'local.d'), { recursive: true });
  await mkdir(join(folder, 'override.d'), { recursive: true });
  await mkdir(database, { recursive: true });
  await writeFile(join(folder, 'override.d', 'options.inc'), toOptions(folder));
  for (const module of NETWORK_MODULES) {
    await writeFile(join(folder, 'local.d', `${module}.conf`), 'enabled = false;\n');
  }
  const config = join(folder, 'rspamd.conf');
  await writeFile(config, toConfig(folder, port));
  const args = ['-f', '-c', config, '--var', `LOCAL_CONFDIR=${folder}`, '--var', `DBDIR=${database}`];
  args.push('--var', `RUNDIR=${folder}`);
  if (rspamdUser) {
    await chownTree([folder, database], rspamdUser);
    args.push('-u', '_rspamd', '-g', '_rspamd');
  }
  const log = await open(join(folder, 'rspamd.out'), 'a');
  const child = spawn(binary, args, { stdio: ['ignore', log.fd, log.fd], detached: true });
  // The child has its own copy of the descriptor.
  await log.close();
  register(child);
  await waitFor(child, 'rspamd', () => rspamdAnswers(port), join(folder, 'rspamd.log'));
  return {
    child,
    env: { TEST_RSPAMD_URL: `http://${HOST}:${port}`, TEST_RSPAMD_PID: String(child.pid) },
  };
}
