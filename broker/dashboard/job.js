/*  zjob dashboard - the job as the pages use it (loaded before app.js)

    The JSON API sends each job as `zjob get --json` prints it (names,
    ISO times next to their msecs, inputs and outputs as JSON: PROTOCOL.md
    15.2). normJob also reads the job map of the wire (PROTOCOL.md 12:
    short keys, ranks, inputs and outputs as msgpack in a bin, which JSON
    carries as base64), so the pages show the same job from either, and a
    change of form on the server side does not blank them.
*/
'use strict';

//  The job map's ranks (PROTOCOL.md 12)
const STATUS_BY_RANK = ['created', 'queued', 'running', 'paused', 'completed',
                        'failed', 'cancelled', 'waiting'];
const PRIORITY_BY_RANK = ['low', 'medium', 'high', 'critical'];

//  The job map carries inputs, outputs, metadata and parent outputs as
//  msgpack in a bin, which the JSON conversion writes as base64 when the
//  bytes are not UTF-8: decode those here (a reader of the msgpack types;
//  an ext becomes {$ext, data} as zjob_json writes it)
function msgpackDecode(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const utf8 = new TextDecoder('utf-8');
  const take = (n) => {
    if (pos + n > bytes.length)
      throw new Error('truncated msgpack');
    const at = pos;
    pos += n;
    return at;
  };
  const str = (n) => utf8.decode(bytes.subarray(take(n), pos));
  const bin = (n) => bytes.slice(take(n), pos);
  const array = (n) => Array.from({ length: n }, () => read());
  const map = (n) => {
    const out = {};
    for (let i = 0; i < n; i++) {
      const key = read();
      out[typeof key === 'string' ? key : JSON.stringify(key)] = read();
    }
    return out;
  };
  const ext = (n) => {
    const type = view.getInt8(take(1));
    return { $ext: type, data: btoa(String.fromCharCode(...bin(n))) };
  };
  const big = (v) => (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString());
  function read() {
    const b = bytes[take(1)];
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0x80 && b <= 0x8f) return map(b & 0x0f);
    if (b >= 0x90 && b <= 0x9f) return array(b & 0x0f);
    if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f);
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return bin(view.getUint8(take(1)));
      case 0xc5: return bin(view.getUint16(take(2)));
      case 0xc6: return bin(view.getUint32(take(4)));
      case 0xc7: return ext(view.getUint8(take(1)));
      case 0xc8: return ext(view.getUint16(take(2)));
      case 0xc9: return ext(view.getUint32(take(4)));
      case 0xca: return view.getFloat32(take(4));
      case 0xcb: return view.getFloat64(take(8));
      case 0xcc: return view.getUint8(take(1));
      case 0xcd: return view.getUint16(take(2));
      case 0xce: return view.getUint32(take(4));
      case 0xcf: return big(view.getBigUint64(take(8)));
      case 0xd0: return view.getInt8(take(1));
      case 0xd1: return view.getInt16(take(2));
      case 0xd2: return view.getInt32(take(4));
      case 0xd3: return big(view.getBigInt64(take(8)));
      case 0xd4: return ext(1);
      case 0xd5: return ext(2);
      case 0xd6: return ext(4);
      case 0xd7: return ext(8);
      case 0xd8: return ext(16);
      case 0xd9: return str(view.getUint8(take(1)));
      case 0xda: return str(view.getUint16(take(2)));
      case 0xdb: return str(view.getUint32(take(4)));
      case 0xdc: return array(view.getUint16(take(2)));
      case 0xdd: return array(view.getUint32(take(4)));
      case 0xde: return map(view.getUint16(take(2)));
      case 0xdf: return map(view.getUint32(take(4)));
      default: throw new Error(`bad msgpack byte 0x${b.toString(16)}`);
    }
  }
  const value = read();
  if (pos !== bytes.length)
    throw new Error('bytes after the msgpack value');
  return value;
}

//  A data field (inputs, outputs...) as a JSON value: as is when the API
//  already converted it, decoded when it is base64 msgpack, else the text
function dataValue(value) {
  if (typeof value !== 'string')
    return value;
  try {
    const raw = atob(value);
    const bytes = Uint8Array.from(raw, (c) => c.charCodeAt(0));
    return msgpackDecode(bytes);
  } catch (e) {
    return value;
  }
}

function isoMs(iso) {
  const t = iso ? Date.parse(iso) : NaN;
  return isNaN(t) ? 0 : t;
}

//  A job as the pages use it, from either form the API may send: the job
//  map of PROTOCOL.md 12 (short keys, ranks, data as msgpack) or the
//  readable object of zjob_job_to_json (names, ISO times next to *_ms)
function normJob(raw) {
  if (!raw || typeof raw !== 'object')
    return null;
  if ('wf' in raw || 'st' in raw) {
    const errs = Array.isArray(raw.errs) ? raw.errs : [];
    const pout = raw.pout === undefined ? undefined : dataValue(raw.pout);
    if (pout && typeof pout === 'object')
      for (const key of Object.keys(pout))
        pout[key] = pout[key] instanceof Uint8Array ? safeDecode(pout[key]) : dataValue(pout[key]);
    return {
      id: raw.id, workflow_id: raw.wf,
      status: typeof raw.st === 'number' ? STATUS_BY_RANK[raw.st] || String(raw.st) : raw.st,
      priority: typeof raw.pri === 'number' ? PRIORITY_BY_RANK[raw.pri] || String(raw.pri) : raw.pri,
      held: !!raw.held, user_id: raw.user, tags: raw.tags || [],
      inputs: raw.in === undefined ? {} : dataValue(raw.in),
      outputs: raw.out === undefined ? undefined : dataValue(raw.out),
      metadata: raw.meta === undefined ? undefined : dataValue(raw.meta),
      parent_outputs: pout,
      progress: raw.prog || 0, progress_message: raw.pmsg,
      error: raw.ekind || raw.emsg ? { kind: raw.ekind, message: raw.emsg } : null,
      errors: errs.map((e) => ({ attempt: e.att, kind: e.kind, message: e.msg, worker_id: e.wk, at_ms: e.at })),
      result_attempt: raw.ratt, attempts: raw.att || 0, max_attempts: raw.maxa || 0,
      worker_id: raw.wk, idempotency_key: raw.idem, unique_key: raw.uniq,
      created_at_ms: raw.ct, updated_at_ms: raw.ut, queued_at_ms: raw.qt, started_at_ms: raw.sat,
      completed_at_ms: raw.cat, run_at_ms: raw.runat, scheduled_for_ms: raw.sfor,
      execution_ms: raw.xms, queued_ms: raw.qms, timeout_ms: raw.tmo,
      parents: raw.par || [], batch_id: raw.bat, template: raw.tpl, schedule_id: raw.sch,
    };
  }
  const job = Object.assign({}, raw);
  for (const key of ['created_at', 'updated_at', 'queued_at', 'started_at', 'completed_at', 'run_at', 'scheduled_for'])
    if (job[`${key}_ms`] === undefined)
      job[`${key}_ms`] = typeof raw[key] === 'number' ? raw[key] : isoMs(raw[key]);
  job.errors = (raw.errors || []).map((e) => Object.assign({}, e, { at_ms: e.at_ms !== undefined ? e.at_ms : isoMs(e.at) }));
  job.parents = raw.parents || raw.depends_on || [];
  job.tags = raw.tags || [];
  if (job.outputs === null)
    job.outputs = undefined;
  return job;
}

function safeDecode(bytes) {
  try {
    return msgpackDecode(bytes);
  } catch (e) {
    return null;
  }
}
