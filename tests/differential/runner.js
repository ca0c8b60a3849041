#!/usr/bin/env node
// Differential runner: renders every case of a corpus with the real handlebars.js (the version pinned in
// package-lock.json) and writes the results as JSON. Usage: node runner.js cases.json results.json
//
// A case is {"id", "template", "data", "partials"?, "helpers"?: [names]} ; a result is
// {"id", "ok": true, "output"} or {"id", "ok": false, "error"}. The optional helpers are JavaScript twins of
// Pressroom's document helpers (same semantics for the inputs the corpus uses).
'use strict';
const fs = require('fs');
const Handlebars = require('handlebars');

// handlebars' logger and the {{log}} helper write to the console: keep stdout clean.
for (const m of ['log', 'info', 'warn', 'error', 'debug']) console[m] = () => {};

const num = (v) => (typeof v === 'number' ? v : Number(v));
const twins = {
  raw: function (options) { return options.fn(this); },
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  lt: (a, b) => a < b,
  lte: (a, b) => a <= b,
  gt: (a, b) => a > b,
  gte: (a, b) => a >= b,
  and: (...args) => args.slice(0, -1).every(Boolean),
  or: (...args) => args.slice(0, -1).some(Boolean),
  not: (a) => !a,
  add: (a, b) => num(a) + num(b),
  subtract: (a, b) => num(a) - num(b),
  multiply: (a, b) => num(a) * num(b),
  uppercase: (s) => (s == null ? '' : String(s)).toUpperCase(),
  lowercase: (s) => (s == null ? '' : String(s)).toLowerCase(),
  join: (list, sep, options) => (Array.isArray(list) ? list.join(typeof sep === 'string' ? sep : ',') : ''),
};

function runCase(c) {
  const hb = Handlebars.create();
  for (const [name, src] of Object.entries(c.partials || {})) hb.registerPartial(name, src);
  for (const name of c.helpers || []) {
    if (!twins[name]) throw new Error('runner has no twin for helper ' + name);
    hb.registerHelper(name, twins[name]);
  }
  const template = hb.compile(c.template);
  return template(c.data);
}

const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const results = cases.map((c) => {
  try {
    return { id: c.id, ok: true, output: runCase(c) };
  } catch (e) {
    return { id: c.id, ok: false, error: String((e && e.message) || e).split('\n')[0] };
  }
});
fs.writeFileSync(process.argv[3], JSON.stringify(results));
