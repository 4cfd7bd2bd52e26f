// Otedama admin dashboard. Plain JavaScript, no framework, nothing fetched from anywhere but this host.
//
// Loads the REST endpoints of the admin API once (see docs/api.md), then follows the WebSocket
// /api/ws (topics share, block, payment, hashrate, device), reconnecting with exponential back-off.
// Every string that came from the server (worker names come from miners) is inserted with textContent
// or as an attribute value through the DOM, never as HTML.
'use strict';

(() => {
  const CHART_SECONDS = 600;      // points kept in the hashrate chart (one a second from the `hashrate` topic)
  const SHARES_SHOWN = 14;        // rows of the recent shares table
  const BLOCKS_SHOWN = 50;
  const PAYMENTS_SHOWN = 50;
  const WORKER_WINDOW_MS = 300000; // per-worker hashrate estimate: share difficulty over the last 5 minutes
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const TOKEN_KEY = 'otedama.api.token';
  // Devices report hashes in batches, so one second's rate jumps between zero and twice the real one: the
  // figures and the chart show the mean of the last SMOOTH_MS of `hashrate` messages.
  const SMOOTH_MS = 10000;

  // Decimal places of the atomic unit of the coins the host knows; others are shown in atomic units.
  const COIN_DECIMALS = { xmr: 12, monero: 12, btc: 8, bitcoin: 8, ltc: 8, litecoin: 8, eth: 18, etc: 18, ethereum: 18 };

  const $ = (id) => document.getElementById(id);

  const state = {
    status: null,
    statusAt: 0,            // performance.now() when status.uptime_s was read
    coin: null,
    workers: new Map(),     // name -> worker object (as /api/workers), plus recent share difficulties
    devices: new Map(),     // id -> device object (as /api/devices)
    blocks: [],
    payments: [],
    plugins: [],
    recentShares: [],
    rejectReasons: new Map(),
    series: { t: [], local: [], pool: [] },
    shareTimes: [],         // time_ms of accepted shares seen over the WebSocket, for the share rate
    lastMessageAt: 0,
    loadedAt: Date.now(),
    token: null,
  };

  try { state.token = window.localStorage.getItem(TOKEN_KEY); } catch (_) { state.token = null; }

  // ---------------------------------------------------------------- formatting

  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : (typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : null));
  const text = (v) => (v === null || v === undefined ? '' : String(v));

  function si(value, unit, digits = 2) {
    const v = num(value);
    if (v === null) return '–';
    const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
    let x = Math.abs(v);
    let i = 0;
    while (x >= 1000 && i < prefixes.length - 1) { x /= 1000; i += 1; }
    const sign = v < 0 ? '-' : '';
    return `${sign}${x.toFixed(i === 0 && Number.isInteger(x) ? 0 : digits)} ${prefixes[i]}${unit}`;
  }
  const hashrate = (v) => si(v, 'H/s');

  function difficulty(v) {
    const d = num(v);
    if (d === null) return '–';
    if (d !== 0 && Math.abs(d) < 0.001) return d.toExponential(2);
    if (Math.abs(d) >= 1e6) return si(d, '', 2).trim();
    return String(Math.round(d * 1000) / 1000);
  }

  function integer(v) {
    const n = num(v);
    return n === null ? '–' : String(Math.trunc(n));
  }

  function ago(ms) {
    const t = num(ms);
    if (t === null || t <= 0) return '–';
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ago`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
    return `${Math.floor(s / 86400)}d ago`;
  }

  function clock(ms) {
    const t = num(ms);
    if (t === null || t <= 0) return '–';
    const d = new Date(t);
    const pad = (x) => String(x).padStart(2, '0');
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function duration(seconds) {
    const s = num(seconds);
    if (s === null) return '–';
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = Math.floor(s % 60);
    if (d > 0) return `${d}d ${h}h ${m}m`;
    if (h > 0) return `${h}h ${m}m ${r}s`;
    return `${m}m ${r}s`;
  }

  function amount(v, coin) {
    const atomic = typeof v === 'string' ? v : (num(v) === null ? null : String(Math.trunc(num(v))));
    if (atomic === null || !/^-?\d+$/.test(atomic)) return { shown: '–', title: '' };
    const decimals = COIN_DECIMALS[text(coin).toLowerCase()];
    if (decimals === undefined) return { shown: atomic.replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f'), title: `${atomic} atomic units` };
    // Exact decimal shift on the digit string: amounts can exceed 2^53 atomic units.
    const neg = atomic.startsWith('-');
    const digits = (neg ? atomic.slice(1) : atomic).padStart(decimals + 1, '0');
    const whole = digits.slice(0, digits.length - decimals);
    const frac = digits.slice(digits.length - decimals).replace(/0+$/, '');
    const shown = `${neg ? '-' : ''}${whole}${frac ? '.' + frac.slice(0, 8) : ''} ${text(coin).toUpperCase()}`;
    return { shown, title: `${atomic} atomic units` };
  }

  function shortHash(h, keep = 10) {
    const s = text(h);
    return s.length > 2 * keep + 1 ? `${s.slice(0, keep)}…${s.slice(-6)}` : s;
  }

  // ---------------------------------------------------------------- DOM helpers (text only, never HTML)

  function el(tag, opts = {}, children = []) {
    const e = document.createElement(tag);
    if (opts.cls) e.className = opts.cls;
    if (opts.text !== undefined) e.textContent = text(opts.text);
    if (opts.title) e.title = text(opts.title);
    if (opts.data) for (const [k, v] of Object.entries(opts.data)) e.dataset[k] = text(v);
    for (const c of children) if (c) e.appendChild(c);
    return e;
  }

  function td(value, cls, title) {
    return el('td', { text: value, cls, title });
  }

  function pill(value, kind) {
    return el('span', { cls: `pill ${kind || ''}`, text: value });
  }

  function setText(id, value, raw) {
    const e = $(id);
    if (!e) return;
    e.textContent = text(value);
    if (raw !== undefined) e.dataset.value = text(raw);
  }

  function fillBody(tableId, rows, emptyText, columns) {
    const body = $(tableId).tBodies[0];
    const frag = document.createDocumentFragment();
    if (rows.length === 0) {
      const tr = el('tr', { cls: 'empty' });
      const cell = el('td', { text: emptyText });
      cell.colSpan = columns;
      tr.appendChild(cell);
      frag.appendChild(tr);
    } else {
      for (const r of rows) frag.appendChild(r);
    }
    body.replaceChildren(frag);
  }

  function banner(message) {
    const b = $('banner');
    if (!message) { b.hidden = true; b.textContent = ''; return; }
    b.textContent = message;
    b.hidden = false;
  }

  // ---------------------------------------------------------------- REST

  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, options = {}) {
    const headers = { Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    const res = await fetch(path, { method: options.method || 'GET', headers, body: options.body, cache: 'no-store' });
    let body = null;
    try { body = await res.json(); } catch (_) { body = null; }
    if (res.status === 401 && state.token && !options.retried) {
      // A kept token that expired: forget it and try once without (reads may be public).
      state.token = null;
      try { window.localStorage.removeItem(TOKEN_KEY); } catch (_) { /* private mode */ }
      return api(path, Object.assign({}, options, { retried: true }));
    }
    if (!res.ok) {
      const why = body && typeof body.error === 'string' ? body.error : res.statusText;
      throw new HttpError(res.status, `${path}: ${res.status} ${why}`);
    }
    return body;
  }

  async function loadAll() {
    const names = ['status', 'workers', 'devices', 'pools', 'plugins'];
    const results = await Promise.allSettled(names.map((n) => api(`/api/${n}`)));
    const errors = [];
    let needsLogin = false;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      if (r.reason instanceof HttpError && r.reason.status === 401) needsLogin = true;
      errors.push(r.reason.message);
    });
    const value = (i) => (results[i].status === 'fulfilled' ? results[i].value : null);

    if (value(0)) applyStatus(value(0));
    if (value(1) && Array.isArray(value(1).workers)) {
      state.workers.clear();
      for (const w of value(1).workers) state.workers.set(text(w.name), Object.assign({ recent: [] }, w));
      renderWorkers();
    }
    if (value(2) && Array.isArray(value(2).devices)) {
      state.devices.clear();
      for (const d of value(2).devices) state.devices.set(text(d.id), d);
      renderDevices();
    }
    const pools = value(3) && Array.isArray(value(3).pools) ? value(3).pools : [];
    if (value(4) && Array.isArray(value(4).plugins)) {
      state.plugins = value(4).plugins;
      renderPlugins();
    }

    state.coin = (state.status && state.status.coin) || (pools[0] && pools[0].coin) || null;
    setText('blocks-coin', state.coin ? `· ${state.coin}` : '');
    setText('payments-coin', state.coin ? `· ${state.coin}` : '');
    if (state.coin) {
      const coin = encodeURIComponent(state.coin);
      const [blocks, payments] = await Promise.allSettled([api(`/api/pools/${coin}/blocks`), api(`/api/pools/${coin}/payments`)]);
      if (blocks.status === 'fulfilled' && blocks.value && Array.isArray(blocks.value.blocks)) {
        state.blocks = blocks.value.blocks.slice().sort((a, b) => (num(b.height) || 0) - (num(a.height) || 0)).slice(0, BLOCKS_SHOWN);
      } else if (blocks.status === 'rejected') {
        errors.push(blocks.reason.message);
      }
      if (payments.status === 'fulfilled' && payments.value && Array.isArray(payments.value.payments)) {
        state.payments = payments.value.payments.slice().sort((a, b) => (num(b.time_ms) || 0) - (num(a.time_ms) || 0)).slice(0, PAYMENTS_SHOWN);
      } else if (payments.status === 'rejected') {
        errors.push(payments.reason.message);
      }
    }
    renderBlocks();
    renderPayments();

    $('login').hidden = !needsLogin;
    banner(errors.length ? `Could not load: ${errors.join('; ')}` : '');
    return !needsLogin;
  }

  // ---------------------------------------------------------------- status and counters

  function applyStatus(s) {
    state.status = s;
    state.statusAt = performance.now();
    setText('mode', s.mode || '–');
    setText('coin', s.coin || '–');
    setText('algorithm', s.algorithm || '–');
    setText('version', s.version ? `v${s.version}` : '–');
    setText('hashrate', hashrate(s.hashrate), num(s.hashrate) || 0);
    setText('pool-hashrate', hashrate(s.pool_hashrate), num(s.pool_hashrate) || 0);
    const shares = s.shares || {};
    setCounters(shares.accepted, shares.rejected);
    setText('workers-count', integer(s.workers));
    setConnections(s.connections);
    setText('blocks-found', integer(s.blocks && s.blocks.found));
    const js = s.job_source || {};
    setText('job-source', `${text(js.plugin) || 'job source'} ${js.up ? 'up' : 'down'}`);
    $('job-source-dot').className = `dot ${js.up ? 'ok' : 'bad'}`;
    setText('height', num(js.height) === null ? 'height –' : `height ${integer(js.height)}`);
    setMining(s.mining);
    tickUptime();
  }

  function setMining(mining) {
    if (state.status) state.status.mining = !!mining;
    setText('mining-state', mining ? 'mining' : 'mining stopped');
    $('mining-state').className = `kpi-sub ${mining ? 'good' : 'warn'}`;
    const b = $('mining-toggle');
    b.hidden = false;
    b.textContent = mining ? 'Stop mining' : 'Start mining';
    b.dataset.mining = mining ? 'true' : 'false';
  }

  function setCounters(accepted, rejected) {
    const a = num(accepted);
    const r = num(rejected);
    if (a !== null) setText('shares-accepted', integer(a), a);
    if (r !== null) setText('shares-rejected', integer(r), r);
    const total = (a || 0) + (r || 0);
    setText('reject-ratio', total > 0 ? `${((100 * (r || 0)) / total).toFixed(2)}% rejected` : 'no shares yet');
  }

  function tickUptime() {
    const s = state.status;
    if (!s || num(s.uptime_s) === null) return;
    setText('uptime', `up ${duration(num(s.uptime_s) + (performance.now() - state.statusAt) / 1000)}`);
  }

  function updateShareRate() {
    const now = Date.now();
    while (state.shareTimes.length && state.shareTimes[0] < now - 60000) state.shareTimes.shift();
    setText('share-rate', `${state.shareTimes.length} in the last minute`);
  }

  // ---------------------------------------------------------------- tables

  function renderWorkers() {
    const rows = [];
    const workers = [...state.workers.values()].sort((a, b) => (num(b.hashrate) || 0) - (num(a.hashrate) || 0) || text(a.name).localeCompare(text(b.name)));
    for (const w of workers) {
      const stale = num(w.last_share_ms) !== null && Date.now() - num(w.last_share_ms) > 600000;
      const tr = el('tr', { cls: stale ? 'dim' : '', data: { worker: w.name } });
      tr.append(
        td(w.name, 'mono ellipsis', w.name),
        td(w.account, 'mono ellipsis muted', w.account),
        td(hashrate(w.hashrate), 'num'),
        td(integer(w.shares_accepted), 'num good'),
        td(integer(w.shares_rejected), num(w.shares_rejected) > 0 ? 'num bad' : 'num muted'),
        td(difficulty(w.difficulty), 'num'),
        td(ago(w.last_share_ms), 'num muted ago', clock(w.last_share_ms)),
      );
      tr.lastChild.dataset.ms = text(w.last_share_ms);
      rows.push(tr);
    }
    fillBody('workers-table', rows, 'No workers connected', 7);
    setText('workers-summary', `${workers.length} shown`);
  }

  function tempClass(t) {
    if (t === null) return 'muted';
    if (t >= 85) return 'bad';
    if (t >= 75) return 'warn';
    return 'good';
  }

  function renderDevices() {
    const rows = [];
    let total = 0;
    for (const d of state.devices.values()) {
      total += num(d.hashrate) || 0;
      const t = num(d.temperature_c);
      const fan = num(d.fan_percent);
      const power = num(d.power_w);
      const errors = (num(d.errors) || 0) + (num(d.mismatches) || 0);
      const nameCell = el('td', { title: `${text(d.id)}: ${text(d.name)} (${text(d.backend)})\nerrors ${integer(d.errors)}, mismatches ${integer(d.mismatches)}` }, [
        el('div', { cls: 'device-cell' }, [
          el('span', { cls: `kind kind-${text(d.kind)}`, text: text(d.kind).toUpperCase() || '?' }),
          el('div', { cls: 'device-name' }, [
            el('div', { cls: 'ellipsis', text: d.name || d.id }),
            el('div', { cls: 'ellipsis mono small muted', text: `${text(d.id)} · ${text(d.backend)}` }),
          ]),
        ]),
        errors > 0 ? el('div', { cls: 'small bad', text: `${integer(d.errors)} errors, ${integer(d.mismatches)} mismatches` }) : null,
      ]);
      const tr = el('tr', { data: { device: d.id } });
      tr.append(
        nameCell,
        td(hashrate(d.hashrate), 'num'),
        td(t === null ? '–' : `${t.toFixed(0)} °C`, `num ${tempClass(t)}`),
        td(fan === null ? '–' : `${fan.toFixed(0)} %`, 'num'),
        td(power === null ? '–' : `${power.toFixed(0)} W`, 'num'),
      );
      rows.push(tr);
    }
    fillBody('devices-table', rows, 'No devices', 5);
    setText('devices-summary', state.devices.size ? `${state.devices.size} · ${hashrate(total)}` : '');
  }

  const BLOCK_STATUS = { confirmed: 'good', pending: 'warn', found: 'warn', orphaned: 'bad', rejected: 'bad' };

  function renderBlocks() {
    const rows = state.blocks.map((b) => {
      const a = amount(b.reward, state.coin);
      const tr = el('tr');
      const st = el('td', {}, [pill(b.status, BLOCK_STATUS[text(b.status)])]);
      tr.append(td(integer(b.height), 'num mono'), td(shortHash(b.hash), 'mono', b.hash), st, td(a.shown, 'num', a.title),
        td(b.finder, 'mono ellipsis', b.finder), td(ago(b.time_ms), 'num muted ago', clock(b.time_ms)));
      tr.lastChild.dataset.ms = text(b.time_ms);
      return tr;
    });
    fillBody('blocks-table', rows, 'No blocks found yet', 6);
  }

  function renderPayments() {
    const rows = state.payments.map((p) => {
      const a = amount(p.amount, state.coin);
      const tr = el('tr');
      tr.append(td(shortHash(p.address, 8), 'mono', p.address), td(a.shown, 'num', a.title),
        el('td', {}, [pill(p.status, p.status === 'failed' ? 'bad' : (p.status === 'sent' || p.status === 'confirmed' ? 'good' : 'warn'))]),
        td(shortHash(p.txid, 5), 'mono muted', p.txid), td(ago(p.time_ms), 'num muted ago', clock(p.time_ms)));
      tr.lastChild.dataset.ms = text(p.time_ms);
      return tr;
    });
    fillBody('payments-table', rows, 'No payments yet', 5);
  }

  function renderPlugins() {
    const rows = state.plugins.map((p) => {
      const st = text(p.status).toLowerCase();
      const kind = ['loaded', 'running', 'active', 'ok', 'started'].includes(st) ? 'good' : (st === 'disabled' ? '' : (st === 'rejected' || st === 'failed' ? 'bad' : 'warn'));
      const tr = el('tr', { data: { plugin: p.id } });
      const name = el('td', { cls: 'ellipsis', title: `${text(p.id)}\n${text(p.file)}` }, [
        el('div', { text: p.name || p.id }),
        el('div', { cls: 'mono small muted', text: p.id }),
      ]);
      const version = el('td', {}, [el('div', { cls: 'mono', text: p.version }), el('div', { cls: 'mono small muted', text: p.abi !== undefined && p.abi !== null && p.abi !== '' ? `ABI ${text(p.abi)}` : '' })]);
      tr.append(name, td(p.kind, 'muted'), version, el('td', {}, [pill(p.status, kind)]));
      return tr;
    });
    fillBody('plugins-table', rows, 'No plugins', 4);
    setText('plugins-summary', `${state.plugins.length} loaded`);
  }

  function renderShares() {
    const rows = state.recentShares.map((s) => {
      const tr = el('tr');
      tr.append(td(clock(s.time_ms), 'num mono muted'), td(s.worker, 'mono ellipsis', s.worker),
        el('td', {}, [s.accepted ? pill('accepted', 'good') : pill(s.reason || 'rejected', 'bad')]), td(difficulty(s.difficulty), 'num'));
      return tr;
    });
    fillBody('shares-table', rows, 'Waiting for shares…', 4);
    const reasons = [...state.rejectReasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([r, n]) => `${r}: ${n}`);
    setText('reject-reasons', reasons.length ? `rejected: ${reasons.join(', ')}` : '');
  }

  // Re-render relative times ("12s ago") without touching the rest of the tables.
  function refreshAges() {
    for (const cell of document.querySelectorAll('td.ago')) cell.textContent = ago(cell.dataset.ms);
  }

  // ---------------------------------------------------------------- chart (canvas, drawn here)

  const chart = { canvas: $('hashrate-chart'), dirty: true };

  function pushPoint(t, local, pool) {
    const s = state.series;
    s.t.push(t);
    s.local.push(num(local) || 0);
    s.pool.push(num(pool) || 0);
    while (s.t.length > CHART_SECONDS) { s.t.shift(); s.local.shift(); s.pool.shift(); }
    chart.canvas.dataset.points = String(s.t.length);
    chart.dirty = true;
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 1.25, 2, 2.5, 4, 5, 8, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  function drawChart() {
    const c = chart.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(100, c.clientWidth);
    const h = Math.max(80, c.clientHeight);
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const css = getComputedStyle(document.documentElement);
    const color = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    const grid = color('--grid', '#243042');
    const muted = color('--muted', '#8b98ab');
    const cLocal = color('--chart-local', '#4fc3f7');
    const cPool = color('--chart-pool', '#ffb74d');

    const left = 74, right = 12, top = 10, bottom = 24;
    const pw = w - left - right, ph = h - top - bottom;
    const s = state.series;
    const now = s.t.length ? s.t[s.t.length - 1] : Date.now();
    // The window grows with the data from one minute to CHART_SECONDS, so a fresh page is not mostly empty.
    const spanMs = Math.min(CHART_SECONDS * 1000, Math.max(60000, s.t.length ? now - s.t[0] : 0));
    const t0 = now - spanMs;
    const local = s.local.map((_, i) => smoothed(s.local, i));
    const pool = s.pool.map((_, i) => smoothed(s.pool, i));
    const max = niceMax(Math.max(0, ...local, ...pool) * 1.1);

    g.font = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
    g.lineWidth = 1;
    g.strokeStyle = grid;
    g.fillStyle = muted;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (let i = 0; i <= 4; i += 1) {
      const y = Math.round(top + ph - (ph * i) / 4) + 0.5;
      g.beginPath(); g.moveTo(left, y); g.lineTo(left + pw, y); g.stroke();
      g.fillText(si((max * i) / 4, 'H/s', 1), left - 8, y);
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    const stepMs = [10000, 15000, 30000, 60000, 120000, 300000].find((x) => spanMs / x <= 6) || 300000;
    for (let back = 0; back <= spanMs; back += stepMs) {
      const x = Math.round(left + pw - (back / spanMs) * pw) + 0.5;
      g.beginPath(); g.moveTo(x, top); g.lineTo(x, top + ph); g.stroke();
      const label = back === 0 ? 'now' : (back % 60000 === 0 ? `-${back / 60000}m` : `-${back / 1000}s`);
      if (x - left > 14) g.fillText(label, x, top + ph + 6);
    }
    setText('chart-window', `last ${spanMs >= 60000 && spanMs % 60000 === 0 ? `${spanMs / 60000} min` : `${Math.round(spanMs / 1000)} s`}`);

    const xOf = (t) => left + ((t - t0) / (now - t0)) * pw;
    const yOf = (v) => top + ph - (v / max) * ph;
    const line = (values, stroke, fill) => {
      if (s.t.length === 0) return;
      g.beginPath();
      for (let i = 0; i < s.t.length; i += 1) {
        const x = xOf(s.t[i]), y = yOf(values[i]);
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      }
      if (fill) {
        const path = new Path2D();
        path.moveTo(xOf(s.t[0]), top + ph);
        for (let i = 0; i < s.t.length; i += 1) path.lineTo(xOf(s.t[i]), yOf(values[i]));
        path.lineTo(xOf(s.t[s.t.length - 1]), top + ph);
        path.closePath();
        const grad = g.createLinearGradient(0, top, 0, top + ph);
        grad.addColorStop(0, fill);
        grad.addColorStop(1, 'rgba(0,0,0,0)');
        g.save(); g.fillStyle = grad; g.fill(path); g.restore();
      }
      g.strokeStyle = stroke;
      g.lineWidth = 2;
      g.lineJoin = 'round';
      g.stroke();
      if (s.t.length === 1) {
        g.fillStyle = stroke;
        g.beginPath(); g.arc(xOf(s.t[0]), yOf(values[0]), 3, 0, 2 * Math.PI); g.fill();
      }
    };
    g.save();
    g.beginPath(); g.rect(left, top - 2, pw + 2, ph + 4); g.clip();
    line(pool, cPool, null);
    line(local, cLocal, 'rgba(79,195,247,0.25)');
    g.restore();
    if (s.t.length === 0) {
      g.fillStyle = muted;
      g.textAlign = 'center';
      g.textBaseline = 'middle';
      g.fillText('waiting for the first hashrate update…', left + pw / 2, top + ph / 2);
    }
    chart.dirty = false;
  }

  function frame() {
    if (chart.dirty) drawChart();
    window.requestAnimationFrame(frame);
  }
  if (window.ResizeObserver) new ResizeObserver(() => { chart.dirty = true; }).observe(chart.canvas);
  window.addEventListener('resize', () => { chart.dirty = true; });

  // ---------------------------------------------------------------- WebSocket topics

  // Mean of values[i] over the samples of the SMOOTH_MS before and at index i.
  function smoothed(values, i) {
    const t = state.series.t;
    let sum = 0, n = 0;
    for (let j = i; j >= 0 && t[i] - t[j] < SMOOTH_MS; j -= 1) { sum += values[j]; n += 1; }
    return n ? sum / n : 0;
  }

  function onHashrate(d, t) {
    pushPoint(t, d.hashrate, d.pool_hashrate);
    const s = state.series, last = s.t.length - 1;
    const local = smoothed(s.local, last), pool = smoothed(s.pool, last);
    setText('hashrate', hashrate(local), local);
    setText('pool-hashrate', hashrate(pool), pool);
    setCounters(d.shares_accepted, d.shares_rejected);
    if (num(d.workers) !== null) setText('workers-count', integer(d.workers));
    if (num(d.connections) !== null) setConnections(d.connections);
    estimateWorkerHashrates(pool);
  }

  function setConnections(n) {
    setText('connections', `${integer(n)} connection${num(n) === 1 ? '' : 's'}`);
  }

  // Per-worker hashrate between REST loads: the pool's estimate split by each worker's share of the
  // accepted difficulty seen in the last five minutes (algorithm independent).
  function estimateWorkerHashrates(poolRate) {
    // Until the page has watched a minute of shares, the REST figures are better than an estimate.
    if (poolRate === null || Date.now() - state.loadedAt < 60000) return;
    const cutoff = Date.now() - WORKER_WINDOW_MS;
    let total = 0;
    const sums = new Map();
    for (const w of state.workers.values()) {
      w.recent = (w.recent || []).filter((x) => x[0] >= cutoff);
      const sum = w.recent.reduce((acc, x) => acc + x[1], 0);
      sums.set(w, sum);
      total += sum;
    }
    if (total <= 0) return;
    for (const [w, sum] of sums) w.hashrate = (poolRate * sum) / total;
    renderWorkers();
  }

  function onShare(d, t) {
    const name = text(d.worker);
    let w = state.workers.get(name);
    if (!w) {
      w = { name, account: name.split('.')[0], hashrate: 0, shares_accepted: 0, shares_rejected: 0, difficulty: d.difficulty, last_share_ms: 0, recent: [] };
      state.workers.set(name, w);
    }
    if (d.accepted) {
      w.shares_accepted = (num(w.shares_accepted) || 0) + 1;
      w.last_share_ms = t;
      (w.recent = w.recent || []).push([t, num(d.difficulty) || 0]);
      state.shareTimes.push(t);
      updateShareRate();
    } else {
      w.shares_rejected = (num(w.shares_rejected) || 0) + 1;
      const reason = text(d.reason) || 'rejected';
      state.rejectReasons.set(reason, (state.rejectReasons.get(reason) || 0) + 1);
    }
    if (num(d.difficulty) !== null) w.difficulty = d.difficulty;
    state.recentShares.unshift({ time_ms: t, worker: name, accepted: !!d.accepted, difficulty: d.difficulty, reason: d.reason });
    if (state.recentShares.length > SHARES_SHOWN) state.recentShares.length = SHARES_SHOWN;
    scheduleRender('workers', renderWorkers);
    scheduleRender('shares', renderShares);
  }

  function onDevice(d, t) {
    if (d.id === undefined || d.id === null) return;
    const dev = Object.assign(state.devices.get(text(d.id)) || {}, d);
    // The mean of the last SMOOTH_MS of this device's rates (see SMOOTH_MS).
    dev.samples = (dev.samples || []).filter((x) => t - x[0] < SMOOTH_MS);
    dev.samples.push([t, num(d.hashrate) || 0]);
    dev.hashrate = dev.samples.reduce((a, x) => a + x[1], 0) / dev.samples.length;
    state.devices.set(text(d.id), dev);
    scheduleRender('devices', renderDevices);
  }

  function onBlock(d, t) {
    if (state.coin && d.coin && text(d.coin) !== text(state.coin)) return;
    const status = d.status === 'found' ? 'pending' : text(d.status);
    const existing = state.blocks.find((b) => text(b.hash) === text(d.hash) || (num(b.height) === num(d.height) && !b.hash));
    const reward = num(d.reward) > 0 ? d.reward : null;  // 0: not known to the event
    if (existing) {
      existing.status = status;
      if (reward !== null) existing.reward = reward;
      if (d.finder) existing.finder = d.finder;
    } else if (d.status !== 'rejected') {
      state.blocks.unshift({ height: d.height, hash: d.hash, status, reward, time_ms: t, finder: d.finder || '' });
      if (state.blocks.length > BLOCKS_SHOWN) state.blocks.length = BLOCKS_SHOWN;
    }
    if (d.status === 'found') {
      const e = $('blocks-found');
      const n = num(e.textContent);
      setText('blocks-found', n === null ? '1' : String(n + 1));
      flash(e);
    }
    if (num(d.height) !== null) setText('height', `height ${integer(d.height)}`);
    renderBlocks();
  }

  function onPayment(d, t) {
    if (state.coin && d.coin && text(d.coin) !== text(state.coin)) return;
    state.payments.unshift({ address: d.address, amount: d.amount, status: 'sent', txid: d.txid, time_ms: t });
    if (state.payments.length > PAYMENTS_SHOWN) state.payments.length = PAYMENTS_SHOWN;
    renderPayments();
  }

  const pendingRenders = new Map();
  function scheduleRender(key, fn) {
    if (pendingRenders.has(key)) return;
    pendingRenders.set(key, window.setTimeout(() => { pendingRenders.delete(key); fn(); }, 100));
  }

  function flash(e) {
    e.classList.remove('flash');
    void e.offsetWidth; // restart the animation
    e.classList.add('flash');
  }

  function onMessage(ev) {
    let msg;
    try { msg = JSON.parse(ev.data); } catch (_) { return; }
    if (!msg || typeof msg !== 'object') return;
    const d = msg.data && typeof msg.data === 'object' ? msg.data : {};
    const t = num(msg.time_ms) || Date.now();
    state.lastMessageAt = Date.now();
    switch (msg.topic) {
      case 'hashrate': onHashrate(d, t); break;
      case 'share': onShare(d, t); break;
      case 'device': onDevice(d, t); break;
      case 'block': onBlock(d, t); break;
      case 'payment': onPayment(d, t); break;
      case 'mining': if (typeof d.mining === 'boolean') setMining(d.mining); break;
      default: break;
    }
    setText('last-update', `last update ${clock(state.lastMessageAt)}`);
  }

  // ---------------------------------------------------------------- connection with back-off

  const conn = { ws: null, attempt: 0, timer: 0, countdown: 0, everOpen: false };

  function setWsState(s, label) {
    $('ws-indicator').dataset.state = s;
    setText('ws-state', label || s);
  }

  function connect() {
    window.clearTimeout(conn.timer);
    window.clearInterval(conn.countdown);
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = state.token ? `?token=${encodeURIComponent(state.token)}` : '';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${window.location.host}/api/ws${query}`);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    conn.ws = ws;
    setWsState('connecting', conn.attempt ? `connecting (try ${conn.attempt + 1})` : 'connecting');
    ws.onopen = () => {
      const resync = conn.everOpen;
      conn.attempt = 0;
      conn.everOpen = true;
      setWsState('live', 'live');
      // After a reconnect the counters may have moved while nobody listened: read REST once more.
      if (resync) loadAll().catch(() => {});
    };
    ws.onmessage = onMessage;
    ws.onerror = () => { /* onclose follows and schedules the reconnect */ };
    let opened = false;
    ws.addEventListener('open', () => { opened = true; });
    ws.onclose = () => {
      if (conn.ws !== ws) return;
      conn.ws = null;
      scheduleReconnect();
      // Refused before opening: if the API now wants a token (the browser cannot see the WebSocket's
      // 401), one REST read tells, and the sign-in form appears.
      if (!opened) {
        api('/api/status').then(() => {}, (e) => {
          if (e instanceof HttpError && e.status === 401) {
            $('login').hidden = false;
            banner(e.message);
          }
        });
      }
    };
  }

  function scheduleReconnect() {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** conn.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    conn.attempt += 1;
    const until = Date.now() + delay;
    const show = () => setWsState('offline', `offline · retry in ${Math.max(0, Math.ceil((until - Date.now()) / 1000))}s`);
    show();
    conn.countdown = window.setInterval(show, 1000);
    conn.timer = window.setTimeout(connect, delay);
  }

  // ---------------------------------------------------------------- controls

  $('mining-toggle').addEventListener('click', async () => {
    const b = $('mining-toggle');
    const start = b.dataset.mining !== 'true';
    b.disabled = true;
    try {
      const r = await api(`/api/mining/${start ? 'start' : 'stop'}`, { method: 'POST', body: '{}' });
      if (r && typeof r.mining === 'boolean') setMining(r.mining);
      banner('');
    } catch (e) {
      if (e instanceof HttpError && e.status === 401) $('login').hidden = false;
      banner(e.message);
    } finally {
      b.disabled = false;
    }
  });

  $('login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setText('login-error', '');
    try {
      const r = await api('/api/auth/token', { method: 'POST', body: JSON.stringify({ secret: $('login-secret').value }) });
      state.token = r.token;
      try { window.localStorage.setItem(TOKEN_KEY, r.token); } catch (_) { /* private mode */ }
      $('login-secret').value = '';
      $('login').hidden = true;
      await loadAll();
      // Reconnect now with the token, not after the back-off.
      const old = conn.ws;
      conn.ws = null;
      conn.attempt = 0;
      if (old) old.close();
      connect();
    } catch (e) {
      setText('login-error', e.message);
    }
  });

  // ---------------------------------------------------------------- start

  window.setInterval(() => { tickUptime(); refreshAges(); updateShareRate(); }, 1000);
  window.requestAnimationFrame(frame);
  renderShares();
  loadAll().catch((e) => banner(`Could not load: ${e.message}`)).finally(connect);
})();
