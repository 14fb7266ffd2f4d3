// Locus live page: reads /api/stats (server-sent events from /api/stats/stream, or polling when
// those fail) and draws it as inline SVG. No libraries, no build step, nothing from the network
// but this service.
'use strict';
(function () {
  // The four scores, always offered; then Hase et al.'s target_score, essence score (lower is better) and the edited
  // model's fluency, shown only for groups whose edits carry them (the essence metrics on; README, "Essence and fluency").
  const METRICS = ['rewrite', 'paraphrase', 'neighborhood', 'overall', 'target', 'essence', 'fluency'];
  const ALWAYS = 4;
  const PROBLEMS = ['error_injection', 'tracing_reversal', 'fact_erasure', 'fact_amplification', 'fact_forcing'];
  const METHODS_ORDER = ['rome', 'memit', 'ft-1', 'ft-5'];
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const POLL_MS = 2000;
  const WAITING = 'waiting for results…';
  // viridis, without its palest end (unreadable on white)
  const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [181, 222, 43]];
  const $ = (id) => document.getElementById(id);

  const state = {
    stats: null,
    selection: readHash(),
    sample: null,          // {version, key, points, capacity} for one group
    sampleLoading: false,
    renderQueued: false,
    versions: [],          // /api/models
    comparison: null,      // {key, body} from /api/compare
    comparisonLoading: false,
  };

  // ---------- numbers (Jackson writes NaN and ±Infinity as strings) ----------

  const num = (v) => (v === null || v === undefined ? NaN : Number(v));
  const count = (v) => (Number.isFinite(num(v)) ? Math.round(num(v)).toLocaleString('en-US') : '–');
  const minus = (s) => s.replace(/^-/, '\u2212');

  function fixed(v, digits) {
    v = num(v);
    if (v === Infinity) return '∞';
    if (!Number.isFinite(v)) return '—';
    const s = v.toFixed(digits);
    return Number(s) === 0 ? Math.abs(0).toFixed(digits) : minus(s);
  }

  function signed(v, digits) {
    const s = fixed(v, digits);
    return num(v) > 0 && Number(s) !== 0 && s !== '∞' ? '+' + s : s;
  }

  function pValue(v) {
    v = num(v);
    if (!Number.isFinite(v)) return '—';
    if (v === 0) return '0';
    return v < 0.001 ? v.toExponential(1) : v.toFixed(3);
  }

  /** A "nice" axis over the values (0 included): rounded ends and ticks. */
  function niceAxis(values) {
    const lo = Math.min(0, ...values);
    let hi = Math.max(0, ...values);
    if (!(hi > lo)) hi = lo + 1;
    const raw = (hi - lo) / 5;
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    const r = raw / magnitude;
    const step = magnitude * (r >= 7.5 ? 10 : r >= 3.5 ? 5 : r >= 1.5 ? 2 : 1);
    const first = Math.floor(lo / step + 1e-9);
    return axis(first * step, step, Math.ceil(hi / step - 1e-9) - first);
  }

  /**
   * A second axis for other values with the same number of intervals as {@code like}, so both
   * label the same grid lines; zero on the same line where the values allow it.
   */
  function alignedAxis(values, like) {
    const lo = Math.min(0, ...values);
    const hi = Math.max(0, ...values);
    const below = Math.round(-like.lo / like.step);
    for (let e = -6; e <= 6; e++) {
      for (const m of [1, 2, 2.5, 5]) {
        const step = m * Math.pow(10, e);
        const zeroAligned = -below * step;
        const start = lo >= zeroAligned - 1e-12 ? zeroAligned : Math.floor(lo / step + 1e-9) * step;
        if (start + like.intervals * step >= hi - 1e-12 && (hi > lo || step >= 0.1)) return axis(start, step, like.intervals);
      }
    }
    return niceAxis(values);
  }

  function axis(lo, step, intervals) {
    const ticks = [];
    for (let i = 0; i <= intervals; i++) ticks.push(Number((lo + i * step).toFixed(12)));
    let decimals = 0;
    while (decimals < 8 && Math.abs(Math.round(step * Math.pow(10, decimals)) - step * Math.pow(10, decimals)) > 1e-6) decimals++;
    return { lo: ticks[0], hi: ticks[intervals], step, intervals, ticks, label: (t) => fixed(t, decimals) };
  }

  const scale = ([d0, d1], [r0, r1]) => (v) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0);

  function layerColor(layer, layers) {
    const t = layers > 1 ? Math.min(1, Math.max(0, layer / (layers - 1))) : 0;
    const at = t * (RAMP.length - 1);
    const i = Math.min(RAMP.length - 2, Math.floor(at));
    const f = at - i;
    const c = RAMP[i].map((a, k) => Math.round(a + (RAMP[i + 1][k] - a) * f));
    return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
  }

  // ---------- DOM helpers ----------

  function el(tag, attrs, ...children) {
    const node = tag.startsWith('svg:') ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) node.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  const s = (tag, attrs, ...children) => el('svg:' + tag, attrs, ...children);

  function setText(selector, text) {
    for (const node of document.querySelectorAll(selector)) node.textContent = text;
  }

  function fillSelect(select, options, value) {
    const current = Array.from(select.options).map((o) => o.value);
    if (current.join('\u0000') !== options.join('\u0000')) {
      select.replaceChildren(...options.map((o) => el('option', { value: o }, o)));
    }
    select.disabled = options.length === 0;
    if (value !== undefined && value !== null) select.value = value;
  }

  // ---------- selection ----------

  function readHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    return { model: params.get('model'), version: params.get('version'), grid: params.get('grid'), method: params.get('method'),
      problem: params.get('problem'), metric: params.get('metric') || 'rewrite', baseline: params.get('baseline'),
      candidate: params.get('candidate'), relation: params.get('relation') };
  }

  function writeHash() {
    const sel = state.selection;
    const params = new URLSearchParams();
    for (const k of SELECTS) if (sel[k]) params.set(k, sel[k]);
    history.replaceState(null, '', '#' + params.toString());
  }

  const SELECTS = ['model', 'version', 'grid', 'method', 'problem', 'metric', 'baseline', 'candidate', 'relation'];
  const ALL_RELATIONS = 'all facts';
  const sameRun = (g, sel) => g.model === sel.model && g.model_version === sel.version && g.grid_id === sel.grid;
  const unique = (xs) => [...new Set(xs)];
  const pick = (options, ...wanted) => wanted.find((w) => options.includes(w)) ?? options[0] ?? null;
  const editGroups = () => (state.stats && state.stats.groups ? state.stats.groups : []).filter((g) => g.method !== '*');
  const observations = (g) => Math.max(0, ...Object.values(g.analysis || {}).map((a) => num(a.observations) || 0));

  /** Keeps the user's choice where it still exists, else the first group with data. Versions and grids are never pooled. */
  function resolveSelection() {
    const groups = editGroups();
    const sel = state.selection;
    const fallback = groups.find((g) => observations(g) > 0) || groups[0] || {};
    // From every group, the per-version trace counts too, so a model or version shows before its first edit.
    const all = state.stats.groups || [];
    const models = unique(all.map((g) => g.model));
    sel.model = pick(models, sel.model, fallback.model);
    const versions = unique(all.filter((g) => g.model === sel.model).map((g) => g.model_version));
    sel.version = pick(versions, sel.version, fallback.model_version);
    const grids = unique(all.filter((g) => g.model === sel.model && g.model_version === sel.version).map((g) => g.grid_id));
    sel.grid = pick(grids, sel.grid, fallback.grid_id);
    const shown = groups.filter((g) => sameRun(g, sel));
    const methods = unique(shown.map((g) => g.method));
    sel.method = pick(methods, sel.method, fallback.method);
    const problems = unique(shown.filter((g) => g.method === sel.method).map((g) => g.problem));
    sel.problem = pick(problems, sel.problem, fallback.problem);
    const group = shown.find((g) => g.method === sel.method && g.problem === sel.problem) || null;
    const present = group ? Object.keys(group.analysis || {}) : [];
    const metrics = METRICS.filter((m, i) => i < ALWAYS || present.includes(m)).concat(present.filter((m) => !METRICS.includes(m)));
    sel.metric = pick(metrics, sel.metric, 'rewrite');
    fillSelect($('model'), models, sel.model);
    fillSelect($('version'), versions, sel.version);
    fillSelect($('grid'), grids, sel.grid);
    fillSelect($('method'), methods, sel.method);
    fillSelect($('problem'), problems, sel.problem);
    fillSelect($('metric'), metrics, sel.metric);
    return group;
  }

  // ---------- rendering ----------

  function scheduleRender() {
    if (state.renderQueued) return;
    state.renderQueued = true;
    setTimeout(() => {
      state.renderQueued = false;
      render();
    }, 0);
  }

  function render() {
    const stats = state.stats;
    if (!stats) return;
    const group = resolveSelection();
    const metric = state.selection.metric;
    const analysis = group && group.analysis ? group.analysis[metric] : null;
    renderProgress(stats, group);
    setText('#score-legend', `mean ${metric} score`);
    $('group-summary').textContent = group
      ? `${count(analysis ? analysis.observations : 0)} observations of ${metric} · ${count(group.edits)} edits`
      : stats.aggregating ? '' : 'this instance does not aggregate (locus.role)';
    $('layers-caption').textContent = group ? `· ${group.method} · ${group.problem}` : '';
    drawLayers($('layers-chart'), analysis, metric);
    const sample = group ? currentSample(group) : null;
    drawScatter($('scatter-chart'), analysis, metric, sample);
    renderR2($('r2'), group, metric);
    renderPaperTable($('paper-table'), group, metric);
    renderPerLayer($('per-layer'), analysis, metric);
    renderComparison();
    renderTraceOnly(stats);
  }

  // ---------- trace-only facts ----------

  // The darkest colour of each kind, as in the ROME figures and the trace command's heatmaps (Purples, Greens, Reds).
  const KIND_RGB = { hidden: [63, 0, 125], mlp: [0, 68, 27], attn: [103, 0, 13] };

  function renderTraceOnly(stats) {
    const sel = state.selection;
    const perModel = (stats.groups || []).find((g) => g.method === '*' && sameRun(g, sel));
    const average = perModel ? perModel.trace_only : null;
    const grids = $('trace-only-grids');
    if (!average || !(num(average.facts) > 0)) {
      $('trace-only-caption').textContent = average ? `· ${count(average.not_analysed)} not analysed` : '';
      grids.replaceChildren(el('p', { class: 'na', 'data-empty': 'true' }, 'no trace-only fact traced yet (POST ROME known facts, known_1000 records, to /api/facts)'));
      $('peak-layers').replaceChildren();
      return;
    }
    $('trace-only-caption').textContent = `· ${count(average.facts)} facts traced, ${count(average.not_analysed)} not analysed · mean peak layer ${fixed(average.mean_peak_layer, 2)}`;
    const layers = Array.from({ length: num(average.layers) }, (_, l) => l);
    grids.replaceChildren(...Object.entries(average.effect).map(([kind, rows]) => {
      const top = Math.max(1e-12, ...rows.flat().map(num).filter(Number.isFinite));
      const [r, g, b] = KIND_RGB[kind] || [31, 41, 51];
      return el('table', { 'data-kind': kind },
        el('caption', {}, kind),
        el('thead', {}, el('tr', {}, el('th', {}, 'token group'), layers.map((l) => el('th', {}, String(l))))),
        el('tbody', {}, rows.map((values, i) => el('tr', { 'data-group': average.token_groups[i] },
          el('th', { scope: 'row' }, average.token_groups[i]),
          layers.map((l) => {
            const v = values ? num(values[l]) : NaN;
            if (!Number.isFinite(v)) return el('td', { class: 'na' }, '—');
            const alpha = Math.max(0, Math.min(1, v / top));
            return el('td', { class: 'cell', 'data-layer': l, title: `${kind} · ${average.token_groups[i]} · layer ${l}: ${fixed(v, 4)}`,
              style: `background: rgba(${r}, ${g}, ${b}, ${alpha.toFixed(3)}); color: ${alpha > 0.55 ? '#fff' : 'inherit'}` }, fixed(v, 2));
          })))));
    }));
    $('peak-layers').replaceChildren(
      el('caption', {}, 'Facts by tracing peak layer'),
      el('thead', {}, el('tr', {}, el('th', {}, 'layer'), layers.map((l) => el('th', {}, String(l))))),
      el('tbody', {}, el('tr', {}, el('th', { scope: 'row' }, 'facts'),
        layers.map((l) => el('td', { 'data-layer': l }, count(average.peak_layers[l]))))));
  }

  // ---------- version comparison ----------

  /** Baseline and candidate: the user's choice, else the latest announced version of the model with a baseline, else the last two. */
  function resolveComparison() {
    const sel = state.selection;
    const versions = unique((state.stats.groups || []).filter((g) => g.model === sel.model).map((g) => g.model_version));
    const announced = state.versions.filter((v) => v.announcement.name === sel.model && v.announcement.baseline);
    const latest = announced.length ? announced[announced.length - 1].announcement : null;
    sel.candidate = pick(versions, sel.candidate, latest && latest.version, versions[versions.length - 1]);
    const ownBaseline = (announced.find((v) => v.announcement.version === sel.candidate) || {}).announcement;
    const others = versions.filter((v) => v !== sel.candidate);
    sel.baseline = pick(others, sel.baseline, ownBaseline && ownBaseline.baseline, latest && latest.baseline, others[others.length - 1]);
    fillSelect($('baseline'), others, sel.baseline);
    fillSelect($('candidate'), versions, sel.candidate);
    if (!sel.baseline || !sel.candidate) return null;
    const pair = { model: sel.model, baseline: sel.baseline, candidate: sel.candidate };
    if (sel.relation && sel.relation !== ALL_RELATIONS) pair.relation = sel.relation;
    return pair;
  }

  /** The comparison on screen, fetched again when the pair changes or new results have been counted. */
  function currentComparison(pair) {
    const key = [pair.model, pair.baseline, pair.candidate, pair.relation || ''].join('\u0000');
    const counted = (state.stats.groups || []).filter((g) => g.model === pair.model && [pair.baseline, pair.candidate].includes(g.model_version))
      .reduce((n, g) => n + num(g.traced) + num(g.skipped) + num(g.edits), 0);
    const version = `${key}\u0000${counted}`;
    if ((!state.comparison || state.comparison.version !== version) && !state.comparisonLoading) {
      state.comparisonLoading = true;
      fetch('api/compare?' + new URLSearchParams(pair), { cache: 'no-store' })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
        .then((body) => { state.comparison = { version, key, body }; })
        .catch(() => { state.comparison = { version, key, body: null }; })
        .finally(() => { state.comparisonLoading = false; scheduleRender(); });
    }
    return state.comparison && state.comparison.key === key ? state.comparison.body : null;
  }

  const NOTHING_TO_COMPARE = 'one version of this model so far: nothing to compare';

  function renderComparison() {
    const pair = resolveComparison();
    if (!pair) {
      $('comparison-caption').textContent = '';
      $('comparison-summary').textContent = '';
      fillSelect($('relation'), [], null);
      $('comparison-chart').replaceChildren(waiting(s('svg', { viewBox: '0 0 620 290', 'data-chart': 'comparison', 'data-points': 0 }), 620, 290,
        NOTHING_TO_COMPARE));
      $('verdicts').replaceChildren();
      $('knowledge-caption').textContent = '';
      $('knowledge').replaceChildren();
      return;
    }
    const body = currentComparison(pair);
    const sel = state.selection;
    const rows = body ? body.comparisons.filter((c) => c.method === sel.method && c.problem === sel.problem) : [];
    const shown = rows.find((c) => c.metric === sel.metric) || null;
    $('comparison-caption').textContent = `· ${pair.model} ${pair.baseline} → ${pair.candidate} · ${sel.method || ''} · ${sel.problem || ''}`;
    $('comparison-summary').textContent = body ? `${count(body.paired_facts)} facts paired · ${body.replicates} bootstrap replicates` : WAITING;
    const relations = body ? Object.keys(body.relations || {}).filter((r) => r !== '') : [];
    fillSelect($('relation'), [ALL_RELATIONS].concat(relations), pair && pair.relation ? pair.relation : ALL_RELATIONS);
    drawComparison($('comparison-chart'), shown, sel.metric);
    renderVerdicts($('verdicts'), rows, sel.metric);
    renderKnowledge($('knowledge'), body ? body.knowledge : null);
  }

  function drawComparison(container, comparison, metric) {
    const W = 620, H = 290;
    const box = { left: 56, right: W - 20, top: 10, bottom: H - 42 };
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, 'data-chart': 'comparison', role: 'img', 'aria-label': 'per-layer scores of both versions' });
    const rows = comparison ? comparison.layers.filter((l) => Number.isFinite(num(l.baseline)) && Number.isFinite(num(l.candidate))) : [];
    svg.setAttribute('data-points', rows.length);
    if (!rows.length) {
      container.replaceChildren(waiting(svg, W, H));
      return;
    }
    const band = (l, side) => num(l.baseline) + num(l.difference[side]);
    const finiteBand = rows.filter((l) => Number.isFinite(band(l, 'low')) && Number.isFinite(band(l, 'high')));
    const layers = Math.max(...rows.map((l) => l.layer)) + 1;
    const xAxis = { ticks: [...Array(layers).keys()].filter((l) => l % (layers <= 16 ? 1 : 4) === 0), label: String };
    const yAxis = niceAxis(rows.flatMap((l) => [num(l.baseline), num(l.candidate)]).concat(finiteBand.flatMap((l) => [band(l, 'low'), band(l, 'high')])));
    box.x = scale([-0.5, layers - 0.5], [box.left, box.right]);
    box.y = scale([yAxis.lo, yAxis.hi], [box.bottom, box.top]);
    frame(svg, box, xAxis, yAxis, { xTitle: 'edited layer', yTitle: `mean ${metric} score`, yColor: 'var(--fg)' });
    if (finiteBand.length) {
      const upper = finiteBand.map((l, i) => `${i ? 'L' : 'M'}${box.x(l.layer).toFixed(1)},${box.y(band(l, 'high')).toFixed(1)}`);
      const lower = finiteBand.slice().reverse().map((l) => `L${box.x(l.layer).toFixed(1)},${box.y(band(l, 'low')).toFixed(1)}`);
      svg.append(s('path', { d: upper.concat(lower).join(' ') + ' Z', class: 'band', 'data-series': 'interval' }));
    }
    for (const side of ['baseline', 'candidate']) {
      const g = s('g', { 'data-series': side });
      g.append(s('path', { d: rows.map((l, i) => `${i ? 'L' : 'M'}${box.x(l.layer).toFixed(1)},${box.y(num(l[side])).toFixed(1)}`).join(' '), class: 'series-' + side }));
      for (const l of rows) {
        g.append(s('circle', { cx: box.x(l.layer).toFixed(1), cy: box.y(num(l[side])).toFixed(1), r: 4, class: side, 'data-layer': l.layer },
          s('title', {}, `layer ${l.layer}: ${side} ${fixed(l[side], 3)}; difference ${signed(l.difference.mean, 3)} [${signed(l.difference.low, 3)}, ${signed(l.difference.high, 3)}] (n = ${count(l.difference.facts)})`)));
      }
      svg.append(g);
    }
    container.replaceChildren(svg);
  }

  function renderVerdicts(table, rows, selected) {
    if (!rows.length) {
      table.replaceChildren(el('tbody', {}, el('tr', {}, el('td', { class: 'na', 'data-empty': 'true' }, WAITING))));
      return;
    }
    const move = (a, b) => (a === b ? String(a) : `${a} → ${b}`);
    table.replaceChildren(
      el('thead', {}, el('tr', {}, ['metric', 'facts', 'difference', '95 % interval', 'verdict', 'best layer', 'tracing peak', 'R² layer / tracing / both'].map((h) => el('th', {}, h)))),
      el('tbody', {}, rows.map((c) => el('tr', { 'data-metric': c.metric, class: c.metric === selected ? 'selected' : null },
        el('td', {}, c.metric), el('td', { 'data-stat': 'facts' }, count(c.overall.facts)),
        el('td', { 'data-stat': 'difference' }, signed(c.overall.mean, 3)),
        el('td', { 'data-stat': 'interval' }, `[${signed(c.overall.low, 3)}, ${signed(c.overall.high, 3)}]`),
        el('td', { 'data-stat': 'verdict', class: 'verdict ' + c.verdict }, c.verdict),
        el('td', {}, move(c.baseline_best_layer, c.candidate_best_layer)), el('td', {}, move(c.baseline_tracing_peak, c.candidate_tracing_peak)),
        el('td', {}, ['layer_r2', 'tracing_r2', 'both_r2'].map((k) => `${fixed(c.baseline_fit[k].mean, 2)} → ${fixed(c.candidate_fit[k].mean, 2)}`).join(' / '))))));
  }

  function renderKnowledge(table, knowledge) {
    $('knowledge-caption').textContent = knowledge
      ? `· ${count(knowledge.changed)} of ${count(knowledge.facts)} facts changed (answer, or p(true) by more than ${fixed(knowledge.threshold, 2)}); ${count(knowledge.answer_changed)} answers changed` : '';
    if (!knowledge || !knowledge.exemplars.length) {
      table.replaceChildren(el('tbody', {}, el('tr', {}, el('td', { class: 'na', 'data-empty': 'true' }, knowledge ? 'no fact changed' : WAITING))));
      return;
    }
    table.replaceChildren(
      el('thead', {}, el('tr', {}, ['fact', 'p(true) baseline → candidate', 'Δ', 'answer baseline → candidate'].map((h) => el('th', {}, h)))),
      el('tbody', {}, knowledge.exemplars.map((e) => el('tr', { 'data-fact': e.fact_id },
        el('td', {}, el('code', {}, e.fact_id)), el('td', {}, `${fixed(e.baseline_p_true, 3)} → ${fixed(e.candidate_p_true, 3)}`),
        el('td', {}, signed(num(e.candidate_p_true) - num(e.baseline_p_true), 3)),
        el('td', { 'data-stat': 'answer' }, `${e.baseline_answer ?? '—'} → ${e.candidate_answer ?? '—'}`)))));
  }

  function loadVersions() {
    fetch('api/models', { cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : []))
      .then((versions) => { state.versions = versions; scheduleRender(); })
      .catch(() => {})
      .finally(() => setTimeout(loadVersions, 10000));
  }

  function renderProgress(stats, group) {
    const p = stats.progress || {};
    for (const k of ['received', 'completed', 'in_flight', 'rejected']) setText(`[data-progress="${k}"]`, count(p[k]));
    const reasons = Object.entries(p.rejected_by_reason || {}).filter(([, n]) => num(n) > 0).sort((a, b) => num(b[1]) - num(a[1]));
    $('reasons').replaceChildren(...reasons.map(([r, n]) => el('li', { 'data-reason': r }, el('code', {}, r), el('span', {}, count(n)))));
    const sel = state.selection;
    const perModel = (stats.groups || []).find((g) => g.method === '*' && sameRun(g, sel));
    setText('[data-progress="traced"]', perModel ? count(perModel.traced) : '–');
    $('traced-model').textContent = sel.model ? `(${sel.model} ${sel.version})` : '';
    $('skipped').textContent = perModel && num(perModel.skipped) > 0 ? `${count(perModel.skipped)} skipped by the filter` : '';
    setText('[data-progress="edits"]', group ? count(group.edits) : '–');
    $('failed').textContent = group && num(group.failed_edits) > 0 ? `${count(group.failed_edits)} failed` : '';
  }

  function waiting(svg, width, height, text) {
    svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'empty', 'data-empty': 'true' }, text || WAITING));
    return svg;
  }

  /** Axes, grid and titles shared by both charts. */
  function frame(svg, box, xAxis, yAxis, options) {
    const { x, y } = box;
    const grid = s('g', { class: 'grid' });
    const axes = s('g', { class: 'axis' });
    for (const t of yAxis.ticks) {
      grid.append(s('line', { x1: box.left, x2: box.right, y1: y(t), y2: y(t) }));
      axes.append(s('text', { x: box.left - 6, y: y(t) + 4, 'text-anchor': 'end', fill: options.yColor }, yAxis.label(t)));
    }
    for (const t of xAxis.ticks) {
      grid.append(s('line', { x1: x(t), x2: x(t), y1: box.top, y2: box.bottom }));
      axes.append(s('text', { x: x(t), y: box.bottom + 16, 'text-anchor': 'middle' }, xAxis.label(t)));
    }
    axes.append(s('line', { x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom }));
    axes.append(s('line', { x1: box.left, x2: box.left, y1: box.top, y2: box.bottom }));
    if (yAxis.lo < 0 && yAxis.hi > 0) axes.append(s('line', { x1: box.left, x2: box.right, y1: y(0), y2: y(0), 'stroke-dasharray': '2 3' }));
    axes.append(s('text', { class: 'axis-title', x: (box.left + box.right) / 2, y: box.bottom + 33, 'text-anchor': 'middle' }, options.xTitle));
    axes.append(s('text', { class: 'axis-title', transform: `translate(14 ${(box.top + box.bottom) / 2}) rotate(-90)`, 'text-anchor': 'middle', fill: options.yColor }, options.yTitle));
    svg.append(grid, axes);
  }

  function drawLayers(container, analysis, metric) {
    const W = 620, H = 290;
    const box = { left: 56, right: W - 60, top: 10, bottom: H - 42 };
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, 'data-chart': 'layers', role: 'img', 'aria-label': 'per-layer mean score and mean tracing value' });
    const rows = analysis ? analysis.layers.filter((l) => num(l.observations) > 0 && Number.isFinite(num(l.mean_score))) : [];
    svg.setAttribute('data-points', rows.length);
    if (!rows.length) {
      container.replaceChildren(waiting(svg, W, H));
      return;
    }
    const layers = analysis.layers.length;
    const step = layers <= 16 ? 1 : layers <= 32 ? 2 : 4;
    const xAxis = { ticks: [...Array(layers).keys()].filter((l) => l % step === 0), label: String };
    const scoreAxis = niceAxis(rows.map((r) => num(r.mean_score)));
    const tracingAxis = alignedAxis(rows.map((r) => num(r.mean_tracing)), scoreAxis);
    box.x = scale([-0.5, layers - 0.5], [box.left, box.right]);
    box.y = scale([scoreAxis.lo, scoreAxis.hi], [box.bottom, box.top]);
    const yT = scale([tracingAxis.lo, tracingAxis.hi], [box.bottom, box.top]);
    frame(svg, box, xAxis, scoreAxis, { xTitle: 'edited layer', yTitle: `mean ${metric} score`, yColor: 'var(--score)' });

    const right = s('g', { class: 'axis' });
    right.append(s('line', { x1: box.right, x2: box.right, y1: box.top, y2: box.bottom }));
    for (const t of tracingAxis.ticks) {
      right.append(s('text', { x: box.right + 6, y: yT(t) + 4, fill: 'var(--tracing)' }, tracingAxis.label(t)));
    }
    right.append(s('text', { class: 'axis-title', transform: `translate(${W - 10} ${(box.top + box.bottom) / 2}) rotate(90)`, 'text-anchor': 'middle', fill: 'var(--tracing)' }, 'mean tracing value'));
    svg.append(right);

    const series = [
      { name: 'score', y: box.y, value: (r) => num(r.mean_score), text: (r) => `mean ${metric} score ${fixed(r.mean_score, 3)}` },
      { name: 'tracing', y: yT, value: (r) => num(r.mean_tracing), text: (r) => `mean tracing value ${fixed(r.mean_tracing, 3)}` },
    ];
    for (const line of series) {
      const d = rows.map((r, i) => `${i ? 'L' : 'M'}${box.x(r.layer).toFixed(1)},${line.y(line.value(r)).toFixed(1)}`).join(' ');
      const g = s('g', { 'data-series': line.name });
      g.append(s('path', { d, class: 'series-' + line.name }));
      for (const r of rows) {
        g.append(s('circle', { cx: box.x(r.layer).toFixed(1), cy: line.y(line.value(r)).toFixed(1), r: 4.5, class: line.name, 'data-layer': r.layer },
          s('title', {}, `layer ${r.layer}: ${line.text(r)} (n = ${count(r.observations)})`)));
      }
      svg.append(g);
    }
    container.replaceChildren(svg);
  }

  /** The sample for the group if it is the one on screen; asks for a fresh one when the group has moved on. */
  function currentSample(group) {
    const key = [group.model, group.model_version, group.grid_id, group.method, group.problem].join('\u0000');
    const version = `${key}\u0000${group.edits}`;
    if ((!state.sample || state.sample.version !== version) && !state.sampleLoading) {
      state.sampleLoading = true;
      const query = new URLSearchParams({ model: group.model, version: group.model_version, grid: group.grid_id,
        method: group.method, problem: group.problem });
      fetch('api/stats/sample?' + query, { cache: 'no-store' })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
        .then((body) => { state.sample = { version, key, points: body.points || [], capacity: body.capacity }; })
        .catch(() => { state.sample = { version, key, points: state.sample && state.sample.key === key ? state.sample.points : [], failed: true }; })
        .finally(() => { state.sampleLoading = false; scheduleRender(); });
    }
    return state.sample && state.sample.key === key ? state.sample : null;
  }

  function drawScatter(container, analysis, metric, sample) {
    const W = 620, H = 290;
    const box = { left: 56, right: W - 20, top: 10, bottom: H - 42 };
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, 'data-chart': 'scatter', role: 'img', 'aria-label': 'tracing value against score' });
    const means = analysis ? analysis.layers.filter((l) => num(l.observations) > 0 && Number.isFinite(num(l.mean_score))) : [];
    const points = (sample ? sample.points : [])
      .map((p) => ({ layer: p.layer, x: num(p.tracing), y: num(p[metric]) }))
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    svg.setAttribute('data-points', points.length);
    svg.setAttribute('data-means', means.length);
    const total = analysis ? num(analysis.observations) : 0;
    $('scatter-caption').textContent = means.length ? `· ${metric} score${metric === 'essence' ? ' (perplexity after − before: lower is better)' : ''}` : '';
    $('scatter-note').textContent = !means.length ? ''
      : `Small dots: one per edit, ${points.length === total ? 'all' : 'the latest'} ${count(points.length)} of ${count(total)} `
        + `(the service keeps each group's latest ${count(sample && sample.capacity ? sample.capacity : 500)} in memory only: `
        + 'they start again after a restart, the statistics do not). Large dots: per-layer means of all observations.';
    if (!means.length && !points.length) {
      $('scatter-legend').replaceChildren();
      container.replaceChildren(waiting(svg, W, H));
      return;
    }
    const layers = Math.max(analysis ? analysis.layers.length : 0, ...points.map((p) => p.layer + 1));
    const xAxis = niceAxis(points.map((p) => p.x).concat(means.map((m) => num(m.mean_tracing))));
    const yAxis = niceAxis(points.map((p) => p.y).concat(means.map((m) => num(m.mean_score))));
    box.x = scale([xAxis.lo, xAxis.hi], [box.left, box.right]);
    box.y = scale([yAxis.lo, yAxis.hi], [box.bottom, box.top]);
    frame(svg, box, xAxis, yAxis, { xTitle: 'tracing value at the edited layer', yTitle: `${metric} score`, yColor: 'var(--fg)' });

    const dots = s('g', { 'data-series': 'observations' });
    for (const p of points) {
      dots.append(s('circle', { cx: box.x(p.x).toFixed(1), cy: box.y(p.y).toFixed(1), r: 3, class: 'obs', fill: layerColor(p.layer, layers), 'data-layer': p.layer }));
    }
    const big = s('g', { 'data-series': 'layer-means' });
    const labels = s('g');
    const placed = means.map((m) => ({ x: box.x(num(m.mean_tracing)), y: box.y(num(m.mean_score)), w: 4, h: 4 }));
    for (const m of means) {
      const cx = box.x(num(m.mean_tracing)), cy = box.y(num(m.mean_score));
      big.append(s('circle', { cx: cx.toFixed(1), cy: cy.toFixed(1), r: 5.5, class: 'mean', fill: layerColor(m.layer, layers), 'data-layer': m.layer },
        s('title', {}, `layer ${m.layer}: mean tracing ${fixed(m.mean_tracing, 3)}, mean ${metric} score ${fixed(m.mean_score, 3)}, r ${fixed(m.correlation, 2)} (n = ${count(m.observations)})`)));
      // The first of eight spots around the dot where the number overlaps no other number or dot.
      const w = 6.5 * String(m.layer).length, h = 10;
      const spots = [[7, -12], [7, 2], [-7 - w, -12], [-7 - w, 2], [-w / 2, -19], [-w / 2, 8], [12, -5], [-12 - w, -5]];
      const free = (x, y) => placed.every((p) => x + w <= p.x - p.w || x >= p.x + p.w || y + h <= p.y - p.h || y >= p.y + p.h);
      const [dx, dy] = spots.find(([dx, dy]) => free(cx + dx, cy + dy)) || spots[0];
      placed.push({ x: cx + dx + w / 2, y: cy + dy + h / 2, w: w / 2 + 1, h: h / 2 + 1 });
      labels.append(s('text', { x: (cx + dx).toFixed(1), y: (cy + dy + h - 1).toFixed(1), class: 'mean-label' }, String(m.layer)));
    }
    svg.append(dots, big, labels);
    container.replaceChildren(svg);

    const stops = RAMP.map((c, i) => `rgb(${c.join(',')}) ${(100 * i) / (RAMP.length - 1)}%`).join(', ');
    $('scatter-legend').replaceChildren(
      'layer 0', el('span', { class: 'ramp', style: `background: linear-gradient(90deg, ${stops})` }), `${Math.max(0, layers - 1)}`,
      el('span', { class: 'muted' }, ' · small: one edit · large, numbered: layer mean'));
  }

  const ROWS = [
    ['observations', 'observations n', (a) => count(a.observations)],
    ['layer_r2', 'R² score ~ layer', (a) => fixed(a.layer_r2, 3)],
    ['tracing_r2', 'R² score ~ tracing', (a) => fixed(a.tracing_r2, 3)],
    ['both_r2', 'R² score ~ layer + layer × tracing', (a) => fixed(a.both_r2, 3)],
    ['gain', 'gain of tracing, R²(both) − R²(layer)', (a) => signed(a.gain, 3)],
    ['f', 'F (df₁, df₂)', (a) => (Number.isFinite(num(a.gain_test.f)) || num(a.gain_test.f) === Infinity
      ? `${fixed(a.gain_test.f, 2)} (${a.gain_test.df1}, ${a.gain_test.df2})` : '—')],
    ['p_value', 'p-value of the gain', (a) => pValue(a.gain_test.p_value)],
    ['correlation', 'correlation r (score, tracing)', (a) => fixed(a.correlation, 3)],
  ];

  /** Every method × problem of the run shown, one row each, the selected metric's fits: the layout of the paper's table. */
  function renderPaperTable(table, group, metric) {
    const sel = state.selection;
    const rows = editGroups().filter((g) => sameRun(g, sel) && g.analysis && g.analysis[metric]);
    $('paper-table-caption').textContent = rows.length ? `· ${sel.model} ${sel.version} · ${metric} score` : '';
    if (!rows.length) {
      table.replaceChildren(el('tbody', {}, el('tr', {}, el('td', { class: 'na', 'data-empty': 'true' }, WAITING))));
      return;
    }
    rows.sort((a, b) => PROBLEMS.indexOf(a.problem) - PROBLEMS.indexOf(b.problem) || METHODS_ORDER.indexOf(a.method) - METHODS_ORDER.indexOf(b.method));
    const head = el('tr', {}, ['problem', 'method', 'n', 'R² layer', 'R² tracing', 'R² both', 'gain', 'F-test p'].map((h) => el('th', {}, h)));
    const body = rows.map((g) => {
      const a = g.analysis[metric];
      const selected = group && g.method === group.method && g.problem === group.problem;
      const row = el('tr', { class: selected ? 'selected' : null, 'data-method': g.method, 'data-problem': g.problem },
        el('td', {}, g.problem.replace(/_/g, ' ')), el('td', {}, g.method), el('td', {}, count(a.observations)),
        el('td', {}, fixed(a.layer_r2, 3)), el('td', {}, fixed(a.tracing_r2, 3)), el('td', {}, fixed(a.both_r2, 3)),
        el('td', {}, signed(a.gain, 3)), el('td', {}, pValue(a.gain_test.p_value)));
      row.addEventListener('click', () => {
        sel.method = g.method;
        sel.problem = g.problem;
        scheduleRender();
      });
      return row;
    });
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, body));
  }

  function renderR2(table, group, selected) {
    const metrics = group ? METRICS.filter((m) => group.analysis && group.analysis[m]) : [];
    if (!metrics.length) {
      table.replaceChildren(el('tbody', {}, el('tr', {}, el('td', { class: 'na', 'data-empty': 'true' }, WAITING))));
      return;
    }
    const head = el('tr', {}, el('th', {}, `${group.model} ${group.model_version} · ${group.method} · ${group.problem}`),
      metrics.map((m) => el('th', { class: m === selected ? 'selected' : null, 'data-metric': m }, m)));
    const body = ROWS.map(([stat, label, format]) => el('tr', { 'data-stat': stat }, el('th', { scope: 'row' }, label),
      metrics.map((m) => {
        const text = format(group.analysis[m]);
        return el('td', { class: [m === selected ? 'selected' : '', text === '—' ? 'na' : ''].join(' ').trim() || null, 'data-metric': m, 'data-stat': stat }, text);
      })));
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, body));
  }

  function renderPerLayer(table, analysis, metric) {
    const rows = analysis ? analysis.layers.filter((l) => num(l.observations) > 0) : [];
    if (!rows.length) {
      table.replaceChildren();
      return;
    }
    table.replaceChildren(
      el('caption', {}, `Per layer · ${metric}`),
      el('thead', {}, el('tr', {}, ['layer', 'n', 'mean score', 'mean tracing', 'r'].map((h) => el('th', {}, h)))),
      el('tbody', {}, rows.map((l) => el('tr', { 'data-layer': l.layer },
        el('td', {}, String(l.layer)), el('td', {}, count(l.observations)), el('td', {}, fixed(l.mean_score, 3)),
        el('td', {}, fixed(l.mean_tracing, 3)), el('td', { class: Number.isFinite(num(l.correlation)) ? null : 'na' }, fixed(l.correlation, 3))))));
  }

  // ---------- data ----------

  function receive(stats) {
    state.stats = stats;
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    scheduleRender();
  }

  function setTransport(kind, text) {
    const pill = $('transport');
    pill.dataset.transport = kind;
    pill.textContent = text;
  }

  function connect() {
    if (!('EventSource' in window)) {
      poll();
      return;
    }
    const source = new EventSource('api/stats/stream');
    source.onopen = () => setTransport('sse', 'live');
    source.onmessage = (event) => {
      setTransport('sse', 'live');
      receive(JSON.parse(event.data));
    };
    source.onerror = () => {
      source.close();
      poll();
    };
  }

  function poll() {
    setTransport('polling', 'polling every 2 s');
    const tick = () => fetch('api/stats', { cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
      .then((stats) => {
        setTransport('polling', 'polling every 2 s');
        receive(stats);
      })
      .catch(() => setTransport('offline', 'no connection, retrying'))
      .finally(() => setTimeout(tick, POLL_MS));
    tick();
  }

  for (const id of SELECTS) {
    $(id).addEventListener('change', (event) => {
      state.selection[id] = event.target.value;
      writeHash();
      scheduleRender();
    });
  }
  window.addEventListener('hashchange', () => {
    state.selection = readHash();
    scheduleRender();
  });

  loadVersions();
  for (const id of ['layers-chart', 'scatter-chart', 'comparison-chart']) {
    $(id).replaceChildren(waiting(s('svg', { viewBox: '0 0 620 290', 'data-chart': id.replace('-chart', ''), 'data-points': 0 }), 620, 290));
  }
  // ?transport=poll skips server-sent events (for proxies that buffer event streams).
  if (new URLSearchParams(location.search).get('transport') === 'poll') poll();
  else connect();
})();
